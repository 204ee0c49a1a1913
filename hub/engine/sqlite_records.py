"""The embedded engine's operation records and event log, state, markers, leases, audit."""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import AsyncIterator

from hub.audit import GENESIS, chain_hash
from hub.documents import D, RecordKind, StateName
from hub.engine import jsondoc
from hub.engine import rows as rowmap
from hub.engine.port import AuditEntry, RecordWrite
from hub.engine.sqlite_db import SqliteBase
from hub.errors import Conflict, NotFound
from hub.models import AuditRecord, OperationId, OpEvent, OpEventPosted, ops_topic

__all__ = ["SqliteRecords"]


def _op_event(row: sqlite3.Row) -> OpEvent:
    return rowmap.op_event({**dict(row), "data": jsondoc.load(row["data"], "event")})


def _audit(row: sqlite3.Row) -> AuditRecord:
    return rowmap.audit_record({**dict(row), "details": json.loads(row["details"])})


def _audit_page(db: sqlite3.Connection, *, after: int) -> list[sqlite3.Row]:
    return db.execute("SELECT * FROM audit WHERE seq>? ORDER BY seq LIMIT 1000",
                      (after,)).fetchall()


class SqliteRecords(SqliteBase):
    # --- operation records and event log ----------------------------------------

    async def write_record(self, w: RecordWrite[D]) -> tuple[OpEvent, bool]:
        data = dict(w.extra) if w.private else {"record": w.doc, **w.extra}
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
            # Ids are the operation's own: a rule "crit" or a CAP message in two
            # operations are two records that know nothing of each other.
            row = db.execute("SELECT version FROM records WHERE operation_id=? AND kind=? "
                             "AND id=?", (w.operation_id, w.kind, w.record_id)).fetchone()
            if w.expected_version is None and row is not None:
                raise Conflict(f"{w.kind} {w.record_id} exists already")
            if w.expected_version is not None:
                if row is None:
                    raise NotFound()
                if row[0] != w.expected_version:
                    raise Conflict(f"{w.kind} was changed by someone else "
                                   f"(now version {row[0]})")
            version = (row[0] if row else 0) + 1
            db.execute("INSERT INTO records VALUES (?,?,?,?,?) ON CONFLICT (operation_id, kind, "
                       "id) DO UPDATE "
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

        event, created = await self._run(self._write(do))
        if created and self._publish is not None:
            await self._publish(ops_topic(event.operation_id),
                                OpEventPosted(event, time.perf_counter()))
        return event, created

    async def get_record(self, op_id: OperationId, kind: RecordKind[D],
                         record_id: str) -> tuple[D, int] | None:
        row = await self._run(lambda db: db.execute(
            "SELECT doc, version FROM records WHERE kind=? AND id=? AND operation_id=?",
            (kind, record_id, op_id)).fetchone())
        return (jsondoc.load(row[0]), row[1]) if row else None

    async def list_records(self, op_id: OperationId,
                           kind: RecordKind[D]) -> list[tuple[D, int]]:
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

    async def put_state(self, op_id: OperationId, name: StateName[D], doc: D) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO op_state VALUES (?,?,?) ON CONFLICT (operation_id, name) DO UPDATE "
            "SET doc=excluded.doc", (op_id, name, jsondoc.dump(doc, "state")))))

    async def get_state(self, op_id: OperationId, name: StateName[D]) -> D | None:
        row = await self._run(lambda db: db.execute(
            "SELECT doc FROM op_state WHERE operation_id=? AND name=?", (op_id, name)).fetchone())
        return jsondoc.load(row[0], "state") if row else None

    async def repair_documents(self, *, dry_run: bool = False) -> dict[str, int]:
        def do(db: sqlite3.Connection) -> dict[str, int]:
            counts = {"records": 0, "events": 0, "state": 0}
            for table, column, keys, what in (
                    ("records", "doc", ("operation_id", "kind", "id"), "records"),
                    ("op_log", "data", ("operation_id", "seq"), "events"),
                    ("op_state", "doc", ("operation_id", "name"), "state")):
                rows = db.execute(f"SELECT {', '.join(keys)}, {column} FROM {table}")  # noqa: S608
                where = " AND ".join(f"{k}=?" for k in keys)
                for *key, raw in rows.fetchall():
                    fixed = jsondoc.repaired(raw)
                    if fixed is None:
                        continue
                    counts[what] += 1
                    if not dry_run:
                        db.execute(f"UPDATE {table} SET {column}=? "  # noqa: S608
                                   f"WHERE {where}", (fixed, *key))
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

    async def iter_audit(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        after = after_seq
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
