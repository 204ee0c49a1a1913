"""The Redis engine's operations, memberships, channels and messages."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import replace

from hub.engine import rows as rowmap
from hub.engine.port import NewMessage
from hub.engine.redis_db import (
    RedisBase,
    dump_fields,
    entries,
    guarded,
    load_fields,
    text,
    texts,
)
from hub.engine.redis_messages import entry_args, from_entry
from hub.errors import Conflict
from hub.models import (
    Channel,
    ChannelId,
    Membership,
    Message,
    Operation,
    OperationId,
    Role,
    User,
    UserId,
)

__all__ = ["RedisOperations"]


class RedisOperations(RedisBase):
    # --- operations, membership, channels ---------------------------------------------

    @guarded
    async def create_operation(self, op: Operation) -> None:
        await self._claim(self.keys.op_code(op.code), op.id, "operation code")
        fields = {"id": op.id, "code": op.code, "name": op.name, "status": op.status,
                  "classification": op.classification, "agencies": op.agencies,
                  "exercise": op.exercise,
                  "created_at": op.created_at}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(self.keys.op_meta(op.id), mapping=dump_fields(fields))
            tx.sadd(self.keys.op_ids(), op.id)
            await tx.execute()

    @guarded
    async def get_operation(self, op_id: OperationId) -> Operation | None:
        d = await self._hash(self.keys.op_meta(op_id))
        return rowmap.operation(d) if d else None

    @guarded
    async def get_operation_by_code(self, code: str) -> Operation | None:
        oid = await self.r.get(self.keys.op_code(code))
        return await self.get_operation(OperationId(text(oid))) if oid else None

    @guarded
    async def update_operation(self, op_id: OperationId, **fields: object) -> None:
        await self._update(self.keys.op_meta(op_id), rowmap.OPERATION_FIELDS, fields)

    @guarded
    async def list_operations(self, user_id: UserId | None = None) -> list[Operation]:
        key = self.keys.user_operations(user_id) if user_id else self.keys.op_ids()
        ops = [await self.get_operation(OperationId(oid))
               for oid in texts(await self.r.smembers(key))]
        return sorted((o for o in ops if o), key=lambda o: o.code.lower())

    @guarded
    async def set_membership(self, m: Membership) -> None:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(self.keys.op_members(m.operation_id), m.user_id, str(m.role))
            tx.sadd(self.keys.user_operations(m.user_id), m.operation_id)
            await tx.execute()

    @guarded
    async def remove_membership(self, op_id: OperationId, user_id: UserId) -> bool:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hdel(self.keys.op_members(op_id), user_id)
            tx.srem(self.keys.user_operations(user_id), op_id)
            removed, _ = await tx.execute()
        return bool(removed)

    @guarded
    async def get_membership(self, op_id: OperationId, user_id: UserId) -> Membership | None:
        role = await self.r.hget(self.keys.op_members(op_id), user_id)
        return Membership(op_id, user_id, Role(text(role))) if role else None

    @guarded
    async def list_members(self, op_id: OperationId) -> list[tuple[Membership, User]]:
        out = []
        for uid, role in (await self.r.hgetall(self.keys.op_members(op_id))).items():
            d = await self._hash(self.keys.user(text(uid)))
            if d is not None:
                user = rowmap.user(d)
                out.append((Membership(op_id, user.id, Role(text(role))), user))
        return sorted(out, key=lambda mu: mu[1].username.lower())

    @guarded
    async def create_channel(self, ch: Channel) -> None:
        await self._claim(self.keys.channel_name(ch.operation_id, ch.name), ch.id,
                          "channel name")
        fields = {"id": ch.id, "operation_id": ch.operation_id, "name": ch.name,
                  "topic": ch.topic, "agencies": ch.agencies, "created_at": ch.created_at,
                  "last_seq": ch.last_seq, "first_seq": ch.first_seq, "label": ch.label,
                  "exercise": ch.exercise}
        # The channel's hash lives in its own slot, the operation's index in the
        # directory's: no transaction spans both on a cluster. The hash goes first,
        # so a reader that finds the id in the index always finds the channel.
        await self.r.hset(self.keys.channel(ch.id), mapping=dump_fields(fields))
        await self.r.sadd(self.keys.op_channels(ch.operation_id), ch.id)

    @guarded
    async def get_channel(self, ch_id: ChannelId) -> Channel | None:
        d = await self._hash(self.keys.channel(ch_id))
        return rowmap.channel(d) if d else None

    @guarded
    async def channel_access(self, ch_id: ChannelId, user_id: UserId
                             ) -> tuple[Channel, Operation | None, Role | None] | None:
        op_id = await self._operation_of(ch_id)  # a channel never changes operation
        if op_id is None:
            return None
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.channel(ch_id))
            pipe.hgetall(self.keys.op_meta(op_id))
            pipe.hget(self.keys.op_members(op_id), user_id)
            ch, op, role = await pipe.execute()
        if not ch:
            return None
        return (rowmap.channel(load_fields(ch)), rowmap.operation(load_fields(op)) if op else None,
                Role(text(role)) if role else None)

    @guarded
    async def update_channel(self, ch_id: ChannelId, **fields: object) -> None:
        await self._update(self.keys.channel(ch_id), rowmap.CHANNEL_FIELDS, fields)

    @guarded
    async def list_channels(self, op_id: OperationId) -> list[Channel]:
        chans = [await self.get_channel(ChannelId(cid))
                 for cid in texts(await self.r.smembers(self.keys.op_channels(op_id)))]
        return sorted((c for c in chans if c), key=lambda c: c.name)

    # --- messages ----------------------------------------------------------------------

    async def _operation_of(self, ch_id: str) -> str | None:
        op = self._ops_of_channel.get(ch_id)
        if op is None:
            raw = await self.r.hget(self.keys.channel(ch_id), "operation_id")
            if raw is None:
                return None
            op = self._ops_of_channel[ch_id] = json.loads(raw)
        return op

    @guarded
    async def append_message(self, msg: NewMessage, *, retain: int = 0) -> tuple[Message, bool]:
        op_id = await self._operation_of(msg.channel_id)
        if op_id is None:
            raise Conflict("channel does not exist")
        ch, keys = msg.channel_id, self.keys
        seq, created = await self._append(
            keys=[keys.channel(ch), keys.channel_log(ch),
                  keys.channel_retry(ch, msg.sender_id, msg.client_msg_id),
                  keys.channel_notes(ch)],
            args=[keys.channel_events(op_id, ch), retain, self._idem_ttl, msg.channel_id,
                  *entry_args(msg)])
        seq = int(seq)
        if seq < 0:
            raise Conflict("channel does not exist")
        if created:
            return msg.stored(seq), True
        stored = await self.read_messages(msg.channel_id, after_seq=seq - 1, limit=1)
        if stored and stored[0].seq == seq:
            return stored[0], False
        # Retained no longer, but the retry is still recognised: answer with its seq.
        return msg.stored(seq), False

    @staticmethod
    def _message(ch_id: str, entry_id: str, f: dict[str, str]) -> Message:
        return from_entry(ch_id, entry_id.split("-")[0], f)

    @guarded
    async def read_messages(self, ch_id: ChannelId, *, after_seq: int = 0,
                            before_seq: int | None = None, limit: int = 100,
                            newest_first: bool = False) -> list[Message]:
        log = self.keys.channel_log(ch_id)
        low = f"{after_seq + 1}-0"
        high = f"{before_seq - 1}-9" if before_seq is not None else "+"
        if before_seq is not None and before_seq - 1 <= after_seq:
            return []
        # One round trip: the entries and the bodies redacted since (a small hash, or none).
        pipe = self.r.pipeline(transaction=False)
        if newest_first:
            pipe.xrevrange(log, max=high, min=low, count=limit)
        else:
            pipe.xrange(log, min=low, max=high, count=limit)
        pipe.hgetall(self.keys.channel_redactions(ch_id))
        rows, redacted = await pipe.execute()
        found = [self._message(ch_id, eid, fields) for eid, fields in entries(rows)]
        if not redacted:
            return found
        return [replace(m, body=base64.b64decode(redacted[str(m.seq)]))
                if str(m.seq) in redacted else m for m in found]

    @guarded
    async def redact_message(self, ch_id: ChannelId, seq: int, body: bytes) -> bool:
        # A stream entry cannot change: the new body is kept beside it, by seq, and read
        # over it (read_messages); the entry's fields stay as written.
        if not entries(await self.r.xrange(self.keys.channel_log(ch_id), min=f"{seq}-0",
                                           max=f"{seq}-9", count=1)):
            return False
        await self.r.hset(self.keys.channel_redactions(ch_id), str(seq),
                          base64.b64encode(body).decode("ascii"))
        return True

    @guarded
    async def put_note(self, ch_id: ChannelId, seq: int, key: str, body: bytes) -> bool:
        kept = await self._put_note(
            keys=[self.keys.channel_notes(ch_id), self.keys.channel_log(ch_id)],
            args=[seq, key, base64.b64encode(body).decode("ascii")])
        return bool(int(kept))

    @guarded
    async def read_notes(self, ch_id: ChannelId, seqs: Sequence[int]
                         ) -> dict[int, dict[str, bytes]]:
        if not seqs:
            return {}
        found = await self.r.hmget(self.keys.channel_notes(ch_id), [str(s) for s in seqs])
        return {seq: {k: base64.b64decode(v) for k, v in json.loads(raw).items()}
                for seq, raw in zip(seqs, found, strict=True) if raw is not None}
