"""The Redis engine's operation records and event log, state, markers, leases, audit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from hub.audit import GENESIS, chain_hash
from hub.documents import D, RecordKind, StateName
from hub.engine import jsondoc
from hub.engine import rows as rowmap
from hub.engine.port import AuditEntry, RecordWrite
from hub.engine.redis_db import RedisBase, entries, guarded, text, texts
from hub.errors import Conflict, NotFound, Unavailable
from hub.models import AuditRecord, OperationId, OpEvent

__all__ = ["RedisRecords"]


class RedisRecords(RedisBase):
    # --- operation records and event log -------------------------------------------

    @guarded
    async def write_record(self, w: RecordWrite[D]) -> tuple[OpEvent, bool]:
        op = w.operation_id
        data = dict(w.extra) if w.private else {"record": w.doc, **w.extra}
        # Checking the event checks the record inside it: check once, write both.
        event_data = jsondoc.dump(data, "event")
        doc = jsondoc.dump(w.doc, checked=True)
        idem, keys = w.idempotency_key, self.keys
        result = await self._write_record(
            keys=[keys.record(op, w.kind, w.record_id), keys.op_log_head(op), keys.op_log(op),
                  keys.op_retry(op, w.actor, idem or ""), keys.record_ids(op, w.kind)],
            args=["" if w.expected_version is None else w.expected_version,
                  doc, w.kind, w.action, w.record_id, w.actor, repr(w.ts),
                  event_data, self.keys.op_events(op), "1" if idem else "0",
                  self._idem_ttl, op])
        status = result[0]
        if status == "ok":
            return OpEvent(op, int(result[1]), w.kind, w.action, w.record_id, int(result[2]),
                           w.actor, w.ts, data), True
        if status == "dup":
            seq = int(result[1])
            events = await self.read_op_events(op, after_seq=seq - 1, limit=1)
            return events[0], False
        if status == "missing":
            raise NotFound()
        raise Conflict(f"{w.kind} was changed by someone else (now version {int(result[1])})"
                       if w.expected_version is not None
                       else f"{w.kind} {w.record_id} exists already")

    @guarded
    async def get_record(self, op_id: OperationId, kind: RecordKind[D],
                         record_id: str) -> tuple[D, int] | None:
        raw = await self.r.hmget(self.keys.record(op_id, kind, record_id), "doc",
                                 "version")
        if raw[0] is None:
            return None
        return jsondoc.load(text(raw[0])), int(text(raw[1]))

    @guarded
    async def list_records(self, op_id: OperationId,
                           kind: RecordKind[D]) -> list[tuple[D, int]]:
        out = []
        for rid in sorted(texts(await self.r.smembers(self.keys.record_ids(op_id, kind)))):
            raw = await self.r.hmget(self.keys.record(op_id, kind, rid), "doc", "version")
            if raw[0] is not None:
                out.append((jsondoc.load(text(raw[0])), int(text(raw[1]))))
        return out

    @guarded
    async def read_op_events(self, op_id: OperationId, *, after_seq: int = 0,
                             limit: int = 100) -> list[OpEvent]:
        rows = await self.r.xrange(self.keys.op_log(op_id), min=f"{after_seq + 1}-0",
                                   max="+", count=limit)
        return [rowmap.op_event({**f, "operation_id": op_id, "seq": eid.split("-")[0],
                                 "data": jsondoc.load(f["data"], "event")})
                for eid, f in entries(rows)]

    @guarded
    async def op_event_bounds(self, op_id: OperationId) -> tuple[int, int]:
        last = await self.r.hget(self.keys.op_log_head(op_id), "last_seq")
        return 1, int(text(last) or 0)

    @guarded
    async def put_state(self, op_id: OperationId, name: StateName[D], doc: D) -> None:
        await self.r.hset(self.keys.op_state(op_id), name, jsondoc.dump(doc, "state"))

    @guarded
    async def get_state(self, op_id: OperationId, name: StateName[D]) -> D | None:
        raw = await self.r.hget(self.keys.op_state(op_id), name)
        return jsondoc.load(text(raw), "state") if raw else None

    @guarded
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        held = await self._lease(keys=[self.keys.lease(name)],
                                 args=["claim", holder, repr(now), repr(now + ttl),
                                       max(1000, int(ttl * 3000))])
        return bool(held)

    @guarded
    async def repair_documents(self, *, dry_run: bool = False) -> dict[str, int]:
        counts = {"records": 0, "state": 0, "served_repaired": 0}
        for op_id in texts(await self.r.smembers(self.keys.op_ids())):
            async for key in self.r.scan_iter(match=self.keys.records(op_id), count=500):
                raw = await self.r.hget(key, "doc")
                fixed = jsondoc.repaired(text(raw)) if raw else None
                if fixed is not None:
                    counts["records"] += 1
                    if not dry_run:
                        await self.r.hset(key, "doc", fixed)
            state_key = self.keys.op_state(op_id)
            for name, raw in (await self.r.hgetall(state_key)).items():
                fixed = jsondoc.repaired(text(raw))
                if fixed is not None:
                    counts["state"] += 1
                    if not dry_run:
                        await self.r.hset(state_key, text(name), fixed)
            # The event log is a stream: its entries cannot be rewritten, and every
            # read already serves them repaired.
            after = "-"
            while True:
                rows = entries(await self.r.xrange(self.keys.op_log(op_id), min=after,
                                                   max="+", count=500))
                counts["served_repaired"] += sum(
                    1 for _, f in rows if jsondoc.repaired(f.get("data", "{}")) is not None)
                if len(rows) < 500:
                    break
                after = "(" + rows[-1][0]
        return counts

    @guarded
    async def advance_marker(self, name: str, value: int) -> bool:
        raised = await self._marker(keys=[self.keys.marker(name)],
                                    args=[value, 7 * 86400 * 1000])
        return bool(raised)

    @guarded
    async def release_lease(self, name: str, holder: str) -> None:
        await self._lease(keys=[self.keys.lease(name)], args=["release", holder, 0, 0, 0])

    # --- audit --------------------------------------------------------------------------

    @guarded
    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        details = entry.details or {}
        head_key, log_key = self.keys.audit_head(), self.keys.audit()
        while True:
            async with self.r.pipeline(transaction=True) as tx:
                try:
                    await tx.watch(head_key)
                    head = await tx.get(head_key)
                    seq, prev = (1, GENESIS)
                    if head:
                        last_seq, last_hash = json.loads(head)
                        seq, prev = last_seq + 1, last_hash
                    digest = chain_hash(prev, seq, entry.ts, entry.actor, entry.action,
                                        entry.target, entry.outcome, entry.operation_id,
                                        entry.client, details, self._audit_key)
                    record = AuditRecord(seq, entry.ts, entry.actor, entry.action,
                                         entry.target, entry.outcome, entry.operation_id,
                                         entry.client, details, prev, digest)
                    tx.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    tx.rpush(log_key, json.dumps(record.as_dict(), sort_keys=True))
                    tx.set(head_key, json.dumps([seq, digest]))
                    await tx.execute()
                    return record
                except WatchError:
                    continue

    async def iter_audit(self, after_seq: int = 0) -> AsyncIterator[AuditRecord]:
        start = max(0, after_seq)  # record seq n is at index n - 1
        while True:
            try:
                rows = await self.r.lrange(self.keys.audit(), start, start + 999)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                raise Unavailable("the Redis engine is unreachable; retry") from exc
            if not rows:
                return
            for row in rows:
                d = json.loads(row)
                yield rowmap.audit_record(d)
            start += len(rows)

    @guarded
    async def audit_head(self) -> tuple[int, str] | None:
        head = await self.r.get(self.keys.audit_head())
        if not head:
            return None
        seq, digest = json.loads(head)
        return int(seq), str(digest)
