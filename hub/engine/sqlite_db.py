"""The embedded engine's SQLite plumbing: the schema, one thread, one connection.

Every call runs on a single dedicated thread holding the one connection, so
transactions never interleave and the event loop never blocks on disk. Each
write method is one transaction; it returns after COMMIT, which with the
default ``synchronous=FULL`` means the WAL was fsynced: an acknowledged
message survives a process kill and a power loss. ``NORMAL`` survives a
process kill only (documented in README's configuration table).

The store's methods live in one module per concern (``sqlite_identity``,
``sqlite_operations``, ``sqlite_records``) on top of :class:`SqliteBase`;
``sqlite.SqliteStore`` puts them together.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import TypeVar

from hub.audit import AuditKey
from hub.engine import legacy
from hub.engine.sqlite_thread import DbThread
from hub.errors import Conflict, DataTooNew, Unavailable
from hub.models import Event
from hub.private import private_dir, private_file

Publish = Callable[[str, Event], Awaitable[None]]

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Publish", "SqliteBase", "decoded", "schema_of"]

T = TypeVar("T")

#: The data schema this release writes, kept in the database's ``PRAGMA user_version``
#: (docs/architecture.md, "Schema versions"). 1: the tables below with every added
#: column. 2: records are keyed by operation as well (a rule id, a CAP message's id is
#: the operation's own, as on the Redis engine); opening a version-1 database rebuilds
#: that table. 0 is a database of release 0.1.0 or older, which never stamped one:
#: opening it adds the missing columns and stamps the version. 3: a message is an
#: envelope and an opaque body (``body_type``, ``body_version``, ``body``: msgpack), no
#: longer the chat fields as columns; opening an older database converts the table.
#: A database stamped higher than this is refused (:class:`hub.errors.DataTooNew`).
SCHEMA_VERSION = 3

#: Columns added after the first schema, added to an older database when it opens.
ADDED_COLUMNS = (
    ("users", "clearance", "TEXT NOT NULL DEFAULT ''"),
    ("channels", "label", "TEXT NOT NULL DEFAULT ''"),
    ("operations", "exercise", "INTEGER NOT NULL DEFAULT 0"),
    ("channels", "exercise", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "label", "TEXT NOT NULL DEFAULT ''"),
    ("messages", "real_world", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "lang", "TEXT NOT NULL DEFAULT ''"),
)

#: The messages table: an envelope's columns and the opaque body (schema 3).
_MESSAGES = """CREATE TABLE messages (
    channel_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, sender_id TEXT NOT NULL,
    sender TEXT NOT NULL, sender_name TEXT NOT NULL, agency TEXT NOT NULL, ts REAL NOT NULL,
    client_msg_id TEXT NOT NULL, label TEXT NOT NULL DEFAULT '',
    real_world INTEGER NOT NULL DEFAULT 0, body_type TEXT NOT NULL,
    body_version INTEGER NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (channel_id, seq)) WITHOUT ROWID"""
_MESSAGES_IDEM = ("CREATE UNIQUE INDEX IF NOT EXISTS messages_idem ON messages(channel_id, "
                  "sender_id, client_msg_id)")

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
{messages}
CREATE TABLE IF NOT EXISTS message_notes (
    channel_id TEXT NOT NULL, seq INTEGER NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (channel_id, seq, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, operation_id TEXT NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (operation_id, kind, id)) WITHOUT ROWID;
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
""".format(messages=_MESSAGES.replace("TABLE ", "TABLE IF NOT EXISTS ", 1) + ";\n"
                  + _MESSAGES_IDEM + ";")


def _db_value(value: object) -> object:
    if isinstance(value, tuple | list):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return int(value)
    return value


def decoded(row: sqlite3.Row, *json_columns: str) -> dict[str, object]:
    """A row as a mapping of plain values, its JSON columns decoded (for hub.engine.rows)."""
    d = dict(row)
    for column in json_columns:
        if d[column] is not None:
            d[column] = json.loads(d[column])
    return d


def _key_records_by_operation(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: the records table keyed by (operation, kind, id), not (kind, id)."""
    keyed = {r["name"]: r["pk"] for r in db.execute("PRAGMA table_info(records)")}
    if keyed.get("operation_id"):
        return
    db.execute("CREATE TABLE records_v2 (kind TEXT NOT NULL, id TEXT NOT NULL, operation_id "
               "TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL, "
               "PRIMARY KEY (operation_id, kind, id)) WITHOUT ROWID")
    db.execute("INSERT INTO records_v2 SELECT kind, id, operation_id, version, doc "
               "FROM records")
    db.execute("DROP TABLE records")  # and its index records_op, which the key replaces
    db.execute("ALTER TABLE records_v2 RENAME TO records")


def _envelope_messages(db: sqlite3.Connection) -> None:
    """Schema 2 -> 3: a message's chat fields become its body (hub.engine.legacy)."""
    have = {r["name"] for r in db.execute("PRAGMA table_info(messages)")}
    if "body" in have:
        return
    db.create_function("legacy_body", 2, legacy.body, deterministic=True)
    db.execute(_MESSAGES.replace("messages (", "messages_v3 (", 1))
    db.execute("INSERT INTO messages_v3 SELECT channel_id, seq, id, sender_id, sender, "
               "sender_name, agency, ts, client_msg_id, label, real_world, ?, 1, "
               "legacy_body(text, priority) FROM messages", (legacy.BODY_TYPE,))
    db.execute("DROP TABLE messages")  # and its index, made again below
    db.execute("ALTER TABLE messages_v3 RENAME TO messages")
    db.execute(_MESSAGES_IDEM)


def _statements(script: str) -> list[str]:
    """The statements of a script of CREATE statements (no triggers: split on ``;``)."""
    return [part.strip() + ";" for part in script.split(";") if part.strip()]


def schema_of(db: sqlite3.Connection) -> int:
    """The data schema a database was stamped with (0: none, release 0.1.0 or older)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


class SqliteBase:
    """The connection, its thread and transactions; the stores' methods build on these."""


    def __init__(self, path: Path, *, synchronous: str = "FULL",
                 audit_key: AuditKey | None = None, publish: Publish | None = None) -> None:
        self._path = path
        #: Where a created message or op event is published after COMMIT (the
        #: in-process broker); the Redis engine publishes inside its write scripts.
        self._publish = publish
        self._audit_key = audit_key
        self._synchronous = synchronous.upper()
        self._thread = DbThread("sqlite")
        self._db: sqlite3.Connection | None = None

    # --- plumbing ---------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._db is None:
            raise Unavailable("store is closed")
        return await self._thread.run(lambda: self._call(fn))

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
        # TOTP seeds and webhook secrets are in here: the folder 0700, the database
        # 0600 before SQLite opens it (its WAL and shared-memory files take its mode).
        private_dir(self._path.parent)
        private_file(self._path)
        for extra in ("-wal", "-shm"):
            side = self._path.with_name(self._path.name + extra)
            if side.exists():
                side.chmod(0o600)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=5000")
        found = schema_of(db)  # before anything writes, even the journal mode
        if found > SCHEMA_VERSION:
            db.close()
            raise DataTooNew(f"the database {self._path}", found, SCHEMA_VERSION)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("BEGIN IMMEDIATE")  # a migration happens whole or not at all
        try:
            for statement in _statements(SCHEMA):  # executescript would COMMIT first
                db.execute(statement)
            for table, column, decl in ADDED_COLUMNS:
                have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
            _key_records_by_operation(db)
            _envelope_messages(db)
            if found < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            db.close()
            raise
        self._db = db

    async def open(self) -> None:
        try:
            await self._thread.run(self._open_sync)
        except BaseException:
            self._thread.stop()
            raise

    async def close(self) -> None:
        def shut(db: sqlite3.Connection) -> None:
            db.close()

        if self._db is not None:
            await self._run(shut)
            self._db = None
        self._thread.stop()

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def schema_version(self) -> int:
        """The data schema this database is stamped with."""
        return await self._run(schema_of)

    async def _update(self, table: str, allowed: Collection[str], key: str,
                      fields: dict[str, object]) -> None:
        unknown = set(fields) - set(allowed)
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)} on {table}")
        if not fields:
            return
        names = sorted(fields)
        assignments = ", ".join(f"{name}=?" for name in names)
        params = [_db_value(fields[name]) for name in names] + [key]
        sql = f"UPDATE {table} SET {assignments} WHERE id=?"  # noqa: S608 - names are whitelisted
        await self._run(self._write(lambda db: db.execute(sql, params)))
