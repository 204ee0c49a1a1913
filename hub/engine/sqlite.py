"""The embedded engine's store: SQLite in WAL mode, driven from one thread.

Every call runs on a single dedicated thread holding the one connection, so
transactions never interleave and the event loop never blocks on disk. Each
write method is one transaction; it returns after COMMIT, which with the
default ``synchronous=FULL`` means the WAL was fsynced: an acknowledged
message survives a process kill and a power loss. ``NORMAL`` survives a
process kill only (documented in README's configuration table).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from hub.audit import GENESIS, AuditKey, chain_hash
from hub.engine import jsondoc
from hub.engine.port import AuditEntry, Doc, NewMessage, RecordWrite, Revocation
from hub.errors import Conflict, NotFound, Unavailable
from hub.models import (
    AuditRecord,
    Channel,
    ChannelId,
    Membership,
    Message,
    Operation,
    OperationId,
    OpEvent,
    Priority,
    Role,
    Session,
    User,
    UserId,
)

__all__ = ["SqliteStore"]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL, agency TEXT NOT NULL, is_admin INTEGER NOT NULL,
    is_bot INTEGER NOT NULL, disabled INTEGER NOT NULL, password_hash TEXT NOT NULL,
    totp_secret TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, scope TEXT, created_at REAL NOT NULL,
    last_seen_at REAL NOT NULL, expires_at REAL, revoked_at REAL);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, user_id TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
    status TEXT NOT NULL, classification TEXT NOT NULL, agencies TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS memberships (
    operation_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (operation_id, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_user ON memberships(user_id);
CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY, operation_id TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
    topic TEXT NOT NULL, agencies TEXT NOT NULL, created_at REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0, first_seq INTEGER NOT NULL DEFAULT 1,
    UNIQUE (operation_id, name));
CREATE TABLE IF NOT EXISTS messages (
    channel_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, sender_id TEXT NOT NULL,
    sender TEXT NOT NULL, sender_name TEXT NOT NULL, agency TEXT NOT NULL, text TEXT NOT NULL,
    ts REAL NOT NULL, priority TEXT NOT NULL, client_msg_id TEXT NOT NULL,
    PRIMARY KEY (channel_id, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_idem ON messages(channel_id, sender_id, client_msg_id);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, operation_id TEXT NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_op ON records(operation_id, kind);
CREATE TABLE IF NOT EXISTS op_log (
    operation_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, action TEXT NOT NULL,
    record_id TEXT NOT NULL, version INTEGER NOT NULL, actor TEXT NOT NULL, ts REAL NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (operation_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS op_seq (operation_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS op_idem (
    operation_id TEXT NOT NULL, actor TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (operation_id, actor, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS op_state (
    operation_id TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (operation_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS markers (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, outcome TEXT NOT NULL, operation_id TEXT NOT NULL,
    client TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
"""

_USER_FIELDS = {"display_name", "agency", "is_admin", "disabled", "password_hash", "totp_secret"}
_OP_FIELDS = {"name", "status", "classification", "agencies"}
_CH_FIELDS = {"topic", "agencies"}


def _user(row: sqlite3.Row) -> User:
    return User(UserId(row["id"]), row["username"], row["display_name"], row["agency"],
                bool(row["is_admin"]), bool(row["is_bot"]), bool(row["disabled"]),
                row["password_hash"], row["totp_secret"], row["created_at"])


def _session(row: sqlite3.Row) -> Session:
    scope = tuple(json.loads(row["scope"])) if row["scope"] is not None else None
    return Session(row["id"], row["token_hash"], UserId(row["user_id"]), row["kind"],
                   row["created_at"], row["last_seen_at"], row["expires_at"], row["name"],
                   scope, row["revoked_at"])


def _operation(row: sqlite3.Row) -> Operation:
    return Operation(OperationId(row["id"]), row["code"], row["name"], row["status"],
                     row["classification"], tuple(json.loads(row["agencies"])),
                     row["created_at"])


def _channel(row: sqlite3.Row) -> Channel:
    return Channel(ChannelId(row["id"]), OperationId(row["operation_id"]), row["name"],
                   row["topic"], tuple(json.loads(row["agencies"])), row["created_at"],
                   row["last_seq"], row["first_seq"])


def _message(row: sqlite3.Row) -> Message:
    return Message(ChannelId(row["channel_id"]), row["seq"], row["id"],
                   UserId(row["sender_id"]), row["sender"], row["sender_name"], row["agency"],
                   row["text"], row["ts"], Priority(row["priority"]), row["client_msg_id"])


def _op_event(row: sqlite3.Row) -> OpEvent:
    return OpEvent(OperationId(row["operation_id"]), row["seq"], row["kind"], row["action"],
                   row["record_id"], row["version"], row["actor"], row["ts"],
                   jsondoc.load(row["data"], "event"))


def _audit(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(row["seq"], row["ts"], row["actor"], row["action"], row["target"],
                       row["outcome"], row["operation_id"], row["client"],
                       json.loads(row["details"]), row["prev_hash"], row["hash"])


def _audit_page(db: sqlite3.Connection, *, after: int) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM audit WHERE seq>? ORDER BY seq LIMIT 1000",
                      (after,)).fetchall()


def _db_value(value: object) -> object:
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteStore:
    """:class:`hub.engine.port.Store` on one SQLite file."""

    def __init__(self, path: Path, *, synchronous: str = "FULL",
                 audit_key: AuditKey | None = None) -> None:
        self._path = path
        self._audit_key = audit_key
        self._synchronous = synchronous.upper()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None

    # --- plumbing ---------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise Unavailable("store is closed")
        try:
            return fn(self._db)
        except sqlite3.IntegrityError as exc:
            raise Conflict("already exists") from exc
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"store unavailable: {exc}") from exc

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        def tx(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

        return tx

    def _open_sync(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(SCHEMA)
        self._db = db

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_sync)

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()

        if self._db is not None:
            await self._run(shut)
            self._db = None
        self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    # --- users ---------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        def do(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?,?)",
                (user.id, user.username, user.display_name, user.agency, int(user.is_admin),
                 int(user.is_bot), int(user.disabled), user.password_hash, user.totp_secret,
                 user.created_at))
        await self._run(self._write(do))

    async def get_user(self, user_id: UserId) -> User | None:
        row = await self._run(
            lambda db: db.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone())
        return _user(row) if row else None

    async def get_user_by_name(self, username: str) -> User | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM users WHERE username=?", (username,)).fetchone())
        return _user(row) if row else None

    async def update_user(self, user_id: UserId, **fields: object) -> None:
        await self._update("users", _USER_FIELDS, user_id, fields)

    async def list_users(self) -> list[User]:
        rows = await self._run(
            lambda db: db.execute("SELECT * FROM users ORDER BY username").fetchall())
        return [_user(r) for r in rows]

    async def _update(self, table: str, allowed: set[str], key: str,
                      fields: dict[str, object]) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)} on {table}")
        if not fields:
            return
        names = sorted(fields)
        assignments = ", ".join(f"{name}=?" for name in names)
        params = [_db_value(fields[name]) for name in names] + [key]
        sql = f"UPDATE {table} SET {assignments} WHERE id=?"  # noqa: S608 - names are whitelisted
        await self._run(self._write(lambda db: db.execute(sql, params)))

    # --- sessions ----------------------------------------------------------------

    async def create_session(self, session: Session) -> None:
        scope = json.dumps(list(session.scope)) if session.scope is not None else None

        def do(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (session.id, session.token_hash, session.user_id, session.kind,
                        session.name, scope, session.created_at, session.last_seen_at,
                        session.expires_at, session.revoked_at))
        await self._run(self._write(do))

    async def get_session(self, token_hash: str) -> Session | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM sessions WHERE token_hash=?", (token_hash,)).fetchone())
        return _session(row) if row else None

    async def get_session_by_id(self, session_id: str) -> Session | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone())
        return _session(row) if row else None

    async def touch_session(self, session_id: str, at: float) -> None:
        await self._run(self._write(lambda db: db.execute(
            "UPDATE sessions SET last_seen_at=? WHERE id=? AND last_seen_at<?",
            (at, session_id, at))))

    async def revoke_session(self, session_id: str, at: float) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            cur = db.execute("UPDATE sessions SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                             (at, session_id))
            if cur.rowcount:
                db.execute("INSERT INTO revocations (session_id, user_id, at) VALUES (?,?,?)",
                           (session_id, None, at))
            return cur.rowcount > 0
        return await self._run(self._write(do))

    async def revoke_user_sessions(self, user_id: UserId, at: float,
                                   kinds: Sequence[str] = ("session", "token")) -> int:
        marks = ",".join("?" for _ in kinds)

        def do(db: sqlite3.Connection) -> int:
            cur = db.execute(
                f"UPDATE sessions SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL "  # noqa: S608
                f"AND kind IN ({marks})", (at, user_id, *kinds))
            db.execute("INSERT INTO revocations (session_id, user_id, at) VALUES (?,?,?)",
                       (None, user_id, at))
            return cur.rowcount
        return await self._run(self._write(do))

    async def list_sessions(self, user_id: UserId | None = None,
                            kind: str | None = None) -> list[Session]:
        sql, params = "SELECT * FROM sessions WHERE 1=1", list[str]()
        if user_id is not None:
            sql += " AND user_id=?"
            params.append(user_id)
        if kind is not None:
            sql += " AND kind=?"
            params.append(kind)
        rows = await self._run(lambda db: db.execute(sql + " ORDER BY created_at",
                                                     params).fetchall())
        return [_session(r) for r in rows]

    async def revocations_since(self, seq: int) -> list[Revocation]:
        rows = await self._run(lambda db: db.execute(
            "SELECT * FROM revocations WHERE seq>? ORDER BY seq", (seq,)).fetchall())
        return [Revocation(r["seq"], r["session_id"],
                           UserId(r["user_id"]) if r["user_id"] else None) for r in rows]

    # --- operations, membership, channels ---------------------------------------

    async def create_operation(self, op: Operation) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO operations VALUES (?,?,?,?,?,?,?)",
            (op.id, op.code, op.name, op.status, op.classification,
             json.dumps(list(op.agencies)), op.created_at))))

    async def get_operation(self, op_id: OperationId) -> Operation | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM operations WHERE id=?", (op_id,)).fetchone())
        return _operation(row) if row else None

    async def get_operation_by_code(self, code: str) -> Operation | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM operations WHERE code=?", (code,)).fetchone())
        return _operation(row) if row else None

    async def update_operation(self, op_id: OperationId, **fields: object) -> None:
        await self._update("operations", _OP_FIELDS, op_id, fields)

    async def list_operations(self, user_id: UserId | None = None) -> list[Operation]:
        if user_id is None:
            rows = await self._run(lambda db: db.execute(
                "SELECT * FROM operations ORDER BY code").fetchall())
        else:
            rows = await self._run(lambda db: db.execute(
                "SELECT o.* FROM operations o JOIN memberships m ON m.operation_id=o.id "
                "WHERE m.user_id=? ORDER BY o.code", (user_id,)).fetchall())
        return [_operation(r) for r in rows]

    async def set_membership(self, m: Membership) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO memberships VALUES (?,?,?) ON CONFLICT (operation_id, user_id) "
            "DO UPDATE SET role=excluded.role", (m.operation_id, m.user_id, str(m.role)))))

    async def remove_membership(self, op_id: OperationId, user_id: UserId) -> bool:
        cur = await self._run(self._write(lambda db: db.execute(
            "DELETE FROM memberships WHERE operation_id=? AND user_id=?", (op_id, user_id))))
        return cur.rowcount > 0

    async def get_membership(self, op_id: OperationId, user_id: UserId) -> Membership | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM memberships WHERE operation_id=? AND user_id=?",
            (op_id, user_id)).fetchone())
        return Membership(op_id, user_id, Role(row["role"])) if row else None

    async def list_members(self, op_id: OperationId) -> list[tuple[Membership, User]]:
        rows = await self._run(lambda db: db.execute(
            "SELECT u.*, m.role AS role FROM memberships m JOIN users u ON u.id=m.user_id "
            "WHERE m.operation_id=? ORDER BY u.username", (op_id,)).fetchall())
        return [(Membership(op_id, UserId(r["id"]), Role(r["role"])), _user(r)) for r in rows]

    async def create_channel(self, ch: Channel) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO channels VALUES (?,?,?,?,?,?,?,?)",
            (ch.id, ch.operation_id, ch.name, ch.topic, json.dumps(list(ch.agencies)),
             ch.created_at, ch.last_seq, ch.first_seq))))

    async def get_channel(self, ch_id: ChannelId) -> Channel | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM channels WHERE id=?", (ch_id,)).fetchone())
        return _channel(row) if row else None

    async def update_channel(self, ch_id: ChannelId, **fields: object) -> None:
        await self._update("channels", _CH_FIELDS, ch_id, fields)

    async def list_channels(self, op_id: OperationId) -> list[Channel]:
        rows = await self._run(lambda db: db.execute(
            "SELECT * FROM channels WHERE operation_id=? ORDER BY name", (op_id,)).fetchall())
        return [_channel(r) for r in rows]

    # --- messages ----------------------------------------------------------------

    async def append_message(self, msg: NewMessage, *, retain: int = 0) -> tuple[Message, bool]:
        def do(db: sqlite3.Connection) -> tuple[Message, bool]:
            row = db.execute(
                "SELECT * FROM messages WHERE channel_id=? AND sender_id=? AND client_msg_id=?",
                (msg.channel_id, msg.sender_id, msg.client_msg_id)).fetchone()
            if row is not None:
                return _message(row), False
            row = db.execute("UPDATE channels SET last_seq=last_seq+1 WHERE id=? "
                             "RETURNING last_seq, first_seq", (msg.channel_id,)).fetchone()
            if row is None:
                raise Conflict("channel does not exist")
            seq = row[0]
            db.execute("INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (msg.channel_id, seq, msg.id, msg.sender_id, msg.sender, msg.sender_name,
                        msg.agency, msg.text, msg.ts, str(msg.priority), msg.client_msg_id))
            if retain > 0 and seq - row[1] + 1 > retain:
                first = seq - retain + 1
                db.execute("DELETE FROM messages WHERE channel_id=? AND seq<?",
                           (msg.channel_id, first))
                db.execute("UPDATE channels SET first_seq=? WHERE id=?", (first, msg.channel_id))
            return Message(msg.channel_id, seq, msg.id, msg.sender_id, msg.sender,
                           msg.sender_name, msg.agency, msg.text, msg.ts, msg.priority,
                           msg.client_msg_id), True
        return await self._run(self._write(do))

    async def read_messages(self, ch_id: ChannelId, *, after_seq: int = 0,
                            before_seq: int | None = None, limit: int = 100,
                            newest_first: bool = False) -> list[Message]:
        order = "DESC" if newest_first else "ASC"
        upper = before_seq if before_seq is not None else 2**62
        sql = (f"SELECT * FROM messages WHERE channel_id=? AND seq>? AND seq<? "  # noqa: S608
               f"ORDER BY seq {order} LIMIT ?")
        rows = await self._run(lambda db: db.execute(
            sql, (ch_id, after_seq, upper, limit)).fetchall())
        return [_message(r) for r in rows]

    # --- operation records and event log ----------------------------------------

    async def write_record(self, w: RecordWrite) -> tuple[OpEvent, bool]:
        data = {"record": w.doc, **w.extra}
        # Checking the event checks the record inside it: check once, write both.
        event_data = jsondoc.dump(data, "event")
        doc = jsondoc.dump(w.doc, checked=True)

        def do(db: sqlite3.Connection) -> tuple[OpEvent, bool]:
            if w.idempotency_key is not None:
                row = db.execute("SELECT seq FROM op_idem WHERE operation_id=? AND actor=? "
                                 "AND key=?", (w.operation_id, w.actor,
                                               w.idempotency_key)).fetchone()
                if row is not None:
                    prev = db.execute("SELECT * FROM op_log WHERE operation_id=? AND seq=?",
                                      (w.operation_id, row[0])).fetchone()
                    return _op_event(prev), False
            row = db.execute("SELECT version, operation_id FROM records WHERE kind=? AND id=?",
                             (w.kind, w.record_id)).fetchone()
            if row is not None and row[1] != w.operation_id:
                raise Conflict(f"{w.kind} {w.record_id} belongs to another operation")
            if w.expected_version is None and row is not None:
                raise Conflict(f"{w.kind} {w.record_id} exists already")
            if w.expected_version is not None:
                if row is None:
                    raise NotFound()
                if row[0] != w.expected_version:
                    raise Conflict(f"{w.kind} was changed by someone else "
                                   f"(now version {row[0]})")
            version = (row[0] if row else 0) + 1
            db.execute("INSERT INTO records VALUES (?,?,?,?,?) ON CONFLICT (kind, id) DO UPDATE "
                       "SET version=excluded.version, doc=excluded.doc",
                       (w.kind, w.record_id, w.operation_id, version, doc))
            seq = db.execute("INSERT INTO op_seq VALUES (?, 1) ON CONFLICT (operation_id) "
                             "DO UPDATE SET last_seq=last_seq+1 RETURNING last_seq",
                             (w.operation_id,)).fetchone()[0]
            db.execute("INSERT INTO op_log VALUES (?,?,?,?,?,?,?,?,?)",
                       (w.operation_id, seq, w.kind, w.action, w.record_id, version, w.actor,
                        w.ts, event_data))
            if w.idempotency_key is not None:
                db.execute("INSERT INTO op_idem VALUES (?,?,?,?)",
                           (w.operation_id, w.actor, w.idempotency_key, seq))
            return OpEvent(w.operation_id, seq, w.kind, w.action, w.record_id, version,
                           w.actor, w.ts, data), True
        return await self._run(self._write(do))

    async def get_record(self, op_id: OperationId, kind: str,
                         record_id: str) -> tuple[Doc, int] | None:
        row = await self._run(lambda db: db.execute(
            "SELECT doc, version FROM records WHERE kind=? AND id=? AND operation_id=?",
            (kind, record_id, op_id)).fetchone())
        return (jsondoc.load(row[0]), row[1]) if row else None

    async def list_records(self, op_id: OperationId,
                           kind: str) -> list[tuple[Doc, int]]:
        rows = await self._run(lambda db: db.execute(
            "SELECT doc, version FROM records WHERE operation_id=? AND kind=? ORDER BY id",
            (op_id, kind)).fetchall())
        return [(jsondoc.load(r[0]), r[1]) for r in rows]

    async def read_op_events(self, op_id: OperationId, *, after_seq: int = 0,
                             limit: int = 100) -> list[OpEvent]:
        rows = await self._run(lambda db: db.execute(
            "SELECT * FROM op_log WHERE operation_id=? AND seq>? ORDER BY seq LIMIT ?",
            (op_id, after_seq, limit)).fetchall())
        return [_op_event(r) for r in rows]

    async def op_event_bounds(self, op_id: OperationId) -> tuple[int, int]:
        row = await self._run(lambda db: db.execute(
            "SELECT last_seq FROM op_seq WHERE operation_id=?", (op_id,)).fetchone())
        return 1, row[0] if row else 0

    async def put_state(self, op_id: OperationId, name: str, doc: Doc) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO op_state VALUES (?,?,?) ON CONFLICT (operation_id, name) DO UPDATE "
            "SET doc=excluded.doc", (op_id, name, jsondoc.dump(doc, "state")))))

    async def get_state(self, op_id: OperationId, name: str) -> Doc | None:
        row = await self._run(lambda db: db.execute(
            "SELECT doc FROM op_state WHERE operation_id=? AND name=?", (op_id, name)).fetchone())
        return jsondoc.load(row[0], "state") if row else None

    async def repair_documents(self, *, dry_run: bool = False) -> dict[str, int]:
        def do(db: sqlite3.Connection) -> dict[str, int]:
            counts = {"records": 0, "events": 0, "state": 0}
            for table, column, keys, what in (
                    ("records", "doc", ("kind", "id"), "records"),
                    ("op_log", "data", ("operation_id", "seq"), "events"),
                    ("op_state", "doc", ("operation_id", "name"), "state")):
                rows = db.execute(f"SELECT {keys[0]}, {keys[1]}, {column} FROM {table}")  # noqa: S608
                for k0, k1, raw in rows.fetchall():
                    fixed = jsondoc.repaired(raw)
                    if fixed is None:
                        continue
                    counts[what] += 1
                    if not dry_run:
                        db.execute(f"UPDATE {table} SET {column}=? "  # noqa: S608
                                   f"WHERE {keys[0]}=? AND {keys[1]}=?", (fixed, k0, k1))
            return counts

        return await self._run(self._write(do))

    async def advance_marker(self, name: str, value: int) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            cur = db.execute("INSERT INTO markers VALUES (?,?) ON CONFLICT (name) DO UPDATE "
                             "SET value=excluded.value WHERE markers.value < excluded.value",
                             (name, value))
            return cur.rowcount == 1

        return await self._run(self._write(do))

    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            db.execute("INSERT INTO leases VALUES (?,?,?) ON CONFLICT (name) DO UPDATE SET "
                       "holder=excluded.holder, expires_at=excluded.expires_at "
                       "WHERE leases.holder=excluded.holder OR leases.expires_at<=?",
                       (name, holder, now + ttl, now))
            row = db.execute("SELECT holder FROM leases WHERE name=?", (name,)).fetchone()
            return bool(row and row[0] == holder)

        return await self._run(self._write(do))

    async def release_lease(self, name: str, holder: str) -> None:
        await self._run(self._write(lambda db: db.execute(
            "DELETE FROM leases WHERE name=? AND holder=?", (name, holder))))

    # --- audit ---------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        details = entry.details or {}

        def do(db: sqlite3.Connection) -> AuditRecord:
            head = db.execute("SELECT seq, hash FROM audit_head WHERE id=1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            digest = chain_hash(prev, seq, entry.ts, entry.actor, entry.action, entry.target,
                                entry.outcome, entry.operation_id, entry.client, details,
                                self._audit_key)
            db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (seq, entry.ts, entry.actor, entry.action, entry.target, entry.outcome,
                        entry.operation_id, entry.client, json.dumps(details, sort_keys=True),
                        prev, digest))
            db.execute("INSERT INTO audit_head VALUES (1,?,?) ON CONFLICT (id) DO UPDATE "
                       "SET seq=excluded.seq, hash=excluded.hash", (seq, digest))
            return AuditRecord(seq, entry.ts, entry.actor, entry.action, entry.target,
                               entry.outcome, entry.operation_id, entry.client, details,
                               prev, digest)
        return await self._run(self._write(do))

    async def iter_audit(self) -> AsyncIterator[AuditRecord]:
        after = 0
        while True:
            rows = await self._run(functools.partial(_audit_page, after=after))
            if not rows:
                return
            for row in rows:
                yield _audit(row)
            after = rows[-1]["seq"]

    async def audit_head(self) -> tuple[int, str] | None:
        row = await self._run(lambda db: db.execute(
            "SELECT seq, hash FROM audit_head WHERE id=1").fetchone())
        return (row[0], row[1]) if row else None
