"""The Redis engine's store: everything the hub keeps, in Redis.

Layout (``P`` is the configured key prefix; ``{...}`` is a cluster hash tag,
so all keys of one channel live in one slot):

* ``P user:<id>`` hash, ``P username:<lower>`` -> id, ``P users`` set
* ``P session:<id>`` hash, ``P tokenhash:<sha256>`` -> id, ``P user:<id>:sessions``
  set, ``P sessions`` set; ``P revocations`` list (seq = position + 1)
* ``P op:<id>`` hash, ``P opcode:<lower>`` -> id, ``P ops`` set,
  ``P op:<id>:members`` hash user -> role, ``P user:<id>:ops`` set,
  ``P op:<id>:channels`` set, ``P op:<id>:chname:<lower>`` -> channel id
* ``P ch:{<id>}`` hash (channel fields, ``last_seq``, ``first_seq``),
  ``P ch:{<id>}:log`` stream with ids ``<seq>-1``,
  ``P ch:{<id>}:idem:<sender>:<client_msg_id>`` -> seq (expires after the
  idempotency window)
* ``P audit`` list of JSON records, ``P audit:head`` the chain head

Hash fields hold JSON values. Appending a message is one Lua script
(``lua/append_message.lua``): idempotency check, seq, stream append,
retention and the sharded publish to other nodes happen atomically, so a
message is broadcast if and only if it was stored.

Durability is Redis's: see docs/architecture.md (AOF with ``appendfsync
always`` for "acked means on disk"; ``everysec`` may lose the last second).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT

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

__all__ = ["RedisStore", "load_script"]

log = logging.getLogger("hub.engine.redis")

P = ParamSpec("P")
T = TypeVar("T")

LUA_DIR = Path(__file__).resolve().parent / "lua"


def load_script(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


def guarded(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn a lost or failing Redis into :class:`Unavailable` (retryable)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise Unavailable("the Redis engine is unreachable; retry") from exc
        except RedisError as exc:
            if "LOADING" in str(exc) or "READONLY" in str(exc) or "MISCONF" in str(exc):
                raise Unavailable(f"the Redis engine is not accepting writes: {exc}") from exc
            raise

    return wrapper


def _dump(fields: dict[str, Any]) -> dict[FieldT, EncodableT]:
    return {k: json.dumps(list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}


def _load(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Any]:
    return {text(k): json.loads(v) for k, v in raw.items()}


# The client is made with decode_responses=True, so every reply is str; redis-py's
# types cannot know that, so replies pass through these before use.
def text(value: bytes | str | None) -> str:
    """One reply as str ("" for a missing value)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return "" if value is None else value


def texts(values: Iterable[bytes | str]) -> list[str]:
    return [text(v) for v in values]


def entries(rows: Any) -> list[tuple[str, dict[str, str]]]:
    """XRANGE / XREVRANGE replies: (entry id, fields)."""
    return [(text(eid), {text(k): text(v) for k, v in (fields or {}).items()})
            for eid, fields in rows or ()]


def _user(d: dict[str, Any]) -> User:
    return User(UserId(d["id"]), d["username"], d["display_name"], d["agency"],
                d["is_admin"], d["is_bot"], d["disabled"], d["password_hash"],
                d["totp_secret"], d["created_at"])


def _session(d: dict[str, Any]) -> Session:
    scope = tuple(d["scope"]) if d["scope"] is not None else None
    return Session(d["id"], d["token_hash"], UserId(d["user_id"]), d["kind"], d["created_at"],
                   d["last_seen_at"], d["expires_at"], d["name"], scope, d["revoked_at"])


def _operation(d: dict[str, Any]) -> Operation:
    return Operation(OperationId(d["id"]), d["code"], d["name"], d["status"],
                     d["classification"], tuple(d["agencies"]), d["created_at"])


def _channel(d: dict[str, Any]) -> Channel:
    return Channel(ChannelId(d["id"]), OperationId(d["operation_id"]), d["name"], d["topic"],
                   tuple(d["agencies"]), d["created_at"], int(d["last_seq"]),
                   int(d["first_seq"]))


_USER_FIELDS = {"display_name", "agency", "is_admin", "disabled", "password_hash", "totp_secret"}
_OP_FIELDS = {"name", "status", "classification", "agencies"}
_CH_FIELDS = {"topic", "agencies"}
_SESSION_GRACE = 86400.0  # keep expired sessions a day for audit/inspection


class RedisStore:
    """:class:`hub.engine.port.Store` on one Redis (or Redis-compatible) server."""

    def __init__(self, client: aioredis.Redis, *, prefix: str,
                 idempotency_seconds: int, audit_key: AuditKey | None = None) -> None:
        self.r = client
        self._audit_key = audit_key
        self.p = prefix
        self._idem_ttl = idempotency_seconds
        self._append = client.register_script(load_script("append_message"))
        self._revoke = client.register_script(load_script("revoke_session"))
        self._write_record = client.register_script(load_script("write_record"))
        self._lease = client.register_script(load_script("lease"))
        self._marker = client.register_script(load_script("advance_marker"))
        self._ops_of_channel: dict[str, str] = {}

    # --- keys ----------------------------------------------------------------------

    def ch_key(self, ch_id: str) -> str:
        return f"{self.p}ch:{{{ch_id}}}"

    def op_key(self, op_id: str, suffix: str) -> str:
        """Keys of an operation's records and event log share one cluster slot."""
        return f"{self.p}op:{{{op_id}}}:{suffix}"

    def ops_channel(self, op_id: str) -> str:
        return self.op_key(op_id, "events")

    def pub_channel(self, op_id: str, ch_id: str) -> str:
        """The shard channel a channel's events travel on (same slot as its keys)."""
        return f"{self.p}op:{op_id}:ch:{{{ch_id}}}"

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        await self.check_persistence()

    async def check_persistence(self) -> str:
        """Warn at start-up when the server would not keep acknowledged writes.

        Returns "always", "everysec", "no-aof" or "unknown" (CONFIG refused, as
        on some managed services).
        """
        try:
            conf = await self.r.config_get("append*")
        except RedisError as exc:
            log.warning("cannot read the Redis persistence settings (%s); make sure AOF "
                        "with appendfsync always is on, or acknowledged messages can be "
                        "lost", type(exc).__name__)
            return "unknown"
        if conf.get("appendonly") != "yes":
            log.warning("Redis is not persisting (appendonly no): acknowledged messages are "
                        "lost if Redis restarts. Run it with --appendonly yes "
                        "--appendfsync always (see docs/architecture.md)")
            return "no-aof"
        fsync = str(conf.get("appendfsync", ""))
        if fsync != "always":
            log.warning("Redis appendfsync is %s: up to about a second of acknowledged "
                        "messages can be lost on a crash of the Redis host", fsync)
        return fsync

    async def close(self) -> None:
        await self.r.aclose(close_connection_pool=True)

    @guarded
    async def ping(self) -> None:
        await self.r.ping()

    # --- helpers ---------------------------------------------------------------------

    async def _hash(self, key: str) -> dict[str, Any] | None:
        raw = await self.r.hgetall(key)
        return _load(raw) if raw else None

    async def _update(self, key: str, allowed: set[str], fields: dict[str, object]) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if fields and await self.r.exists(key):
            await self.r.hset(key, mapping=_dump(fields))

    async def _claim(self, key: str, value: str, what: str) -> None:
        if not await self.r.set(key, value, nx=True):
            raise Conflict(f"{what} is taken")

    # --- users -----------------------------------------------------------------------

    @guarded
    async def create_user(self, user: User) -> None:
        await self._claim(f"{self.p}username:{user.username.lower()}", user.id, "username")
        fields = {"id": user.id, "username": user.username, "display_name": user.display_name,
                  "agency": user.agency, "is_admin": user.is_admin, "is_bot": user.is_bot,
                  "disabled": user.disabled, "password_hash": user.password_hash,
                  "totp_secret": user.totp_secret, "created_at": user.created_at}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(f"{self.p}user:{user.id}", mapping=_dump(fields))
            tx.sadd(f"{self.p}users", user.id)
            await tx.execute()

    @guarded
    async def get_user(self, user_id: UserId) -> User | None:
        d = await self._hash(f"{self.p}user:{user_id}")
        return _user(d) if d else None

    @guarded
    async def get_user_by_name(self, username: str) -> User | None:
        uid = await self.r.get(f"{self.p}username:{username.lower()}")
        return await self.get_user(UserId(text(uid))) if uid else None

    @guarded
    async def update_user(self, user_id: UserId, **fields: object) -> None:
        await self._update(f"{self.p}user:{user_id}", _USER_FIELDS, fields)

    @guarded
    async def list_users(self) -> list[User]:
        users = [await self.get_user(UserId(uid)) for uid in
                 texts(await self.r.smembers(f"{self.p}users"))]
        return sorted((u for u in users if u), key=lambda u: u.username.lower())

    # --- sessions --------------------------------------------------------------------

    @guarded
    async def create_session(self, session: Session) -> None:
        key = f"{self.p}session:{session.id}"
        fields = {"id": session.id, "token_hash": session.token_hash,
                  "user_id": session.user_id, "kind": session.kind, "name": session.name,
                  "scope": session.scope, "created_at": session.created_at,
                  "last_seen_at": session.last_seen_at, "expires_at": session.expires_at,
                  "revoked_at": session.revoked_at}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(key, mapping=_dump(fields))
            tx.set(f"{self.p}tokenhash:{session.token_hash}", session.id)
            tx.sadd(f"{self.p}user:{session.user_id}:sessions", session.id)
            tx.sadd(f"{self.p}sessions", session.id)
            if session.expires_at is not None:
                # Relative to the session's own clock, so an injected clock works too.
                ttl = int(session.expires_at - session.created_at + _SESSION_GRACE)
                tx.expire(key, ttl)
                tx.expire(f"{self.p}tokenhash:{session.token_hash}", ttl)
            await tx.execute()

    @guarded
    async def get_session(self, token_hash: str) -> Session | None:
        sid = await self.r.get(f"{self.p}tokenhash:{token_hash}")
        return await self.get_session_by_id(text(sid)) if sid else None

    @guarded
    async def get_session_by_id(self, session_id: str) -> Session | None:
        d = await self._hash(f"{self.p}session:{session_id}")
        return _session(d) if d else None

    @guarded
    async def touch_session(self, session_id: str, at: float) -> None:
        key = f"{self.p}session:{session_id}"
        if await self.r.exists(key):
            await self.r.hset(key, "last_seen_at", json.dumps(at))

    @guarded
    async def revoke_session(self, session_id: str, at: float) -> bool:
        record = json.dumps({"session_id": session_id, "user_id": None, "at": at})
        seq = await self._revoke(keys=[f"{self.p}session:{session_id}",
                                       f"{self.p}revocations"], args=[json.dumps(at), record])
        return int(seq) > 0

    @guarded
    async def revoke_user_sessions(self, user_id: UserId, at: float,
                                   kinds: Sequence[str] = ("session", "token")) -> int:
        count = 0
        for sid in texts(await self.r.smembers(f"{self.p}user:{user_id}:sessions")):
            s = await self.get_session_by_id(sid)
            if s is None:
                await self.r.srem(f"{self.p}user:{user_id}:sessions", sid)
                continue
            if s.kind in kinds and s.revoked_at is None:
                await self.r.hset(f"{self.p}session:{sid}", "revoked_at", json.dumps(at))
                count += 1
        await self.r.rpush(f"{self.p}revocations",
                           json.dumps({"session_id": None, "user_id": user_id, "at": at}))
        return count

    @guarded
    async def list_sessions(self, user_id: UserId | None = None,
                            kind: str | None = None) -> list[Session]:
        key = f"{self.p}user:{user_id}:sessions" if user_id else f"{self.p}sessions"
        out = []
        for sid in texts(await self.r.smembers(key)):
            s = await self.get_session_by_id(sid)
            if s is not None and (kind is None or s.kind == kind):
                out.append(s)
        return sorted(out, key=lambda s: s.created_at)

    @guarded
    async def revocations_since(self, seq: int) -> list[Revocation]:
        raw = await self.r.lrange(f"{self.p}revocations", seq, -1)
        out = []
        for i, item in enumerate(raw, start=seq + 1):
            d = json.loads(item)
            out.append(Revocation(i, d["session_id"],
                                  UserId(d["user_id"]) if d["user_id"] else None))
        return out

    # --- operations, membership, channels ---------------------------------------------

    @guarded
    async def create_operation(self, op: Operation) -> None:
        await self._claim(f"{self.p}opcode:{op.code.lower()}", op.id, "operation code")
        fields = {"id": op.id, "code": op.code, "name": op.name, "status": op.status,
                  "classification": op.classification, "agencies": op.agencies,
                  "created_at": op.created_at}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(f"{self.p}op:{op.id}", mapping=_dump(fields))
            tx.sadd(f"{self.p}ops", op.id)
            await tx.execute()

    @guarded
    async def get_operation(self, op_id: OperationId) -> Operation | None:
        d = await self._hash(f"{self.p}op:{op_id}")
        return _operation(d) if d else None

    @guarded
    async def get_operation_by_code(self, code: str) -> Operation | None:
        oid = await self.r.get(f"{self.p}opcode:{code.lower()}")
        return await self.get_operation(OperationId(text(oid))) if oid else None

    @guarded
    async def update_operation(self, op_id: OperationId, **fields: object) -> None:
        await self._update(f"{self.p}op:{op_id}", _OP_FIELDS, fields)

    @guarded
    async def list_operations(self, user_id: UserId | None = None) -> list[Operation]:
        key = f"{self.p}user:{user_id}:ops" if user_id else f"{self.p}ops"
        ops = [await self.get_operation(OperationId(oid))
               for oid in texts(await self.r.smembers(key))]
        return sorted((o for o in ops if o), key=lambda o: o.code.lower())

    @guarded
    async def set_membership(self, m: Membership) -> None:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(f"{self.p}op:{m.operation_id}:members", m.user_id, str(m.role))
            tx.sadd(f"{self.p}user:{m.user_id}:ops", m.operation_id)
            await tx.execute()

    @guarded
    async def remove_membership(self, op_id: OperationId, user_id: UserId) -> bool:
        async with self.r.pipeline(transaction=True) as tx:
            tx.hdel(f"{self.p}op:{op_id}:members", user_id)
            tx.srem(f"{self.p}user:{user_id}:ops", op_id)
            removed, _ = await tx.execute()
        return bool(removed)

    @guarded
    async def get_membership(self, op_id: OperationId, user_id: UserId) -> Membership | None:
        role = await self.r.hget(f"{self.p}op:{op_id}:members", user_id)
        return Membership(op_id, user_id, Role(text(role))) if role else None

    @guarded
    async def list_members(self, op_id: OperationId) -> list[tuple[Membership, User]]:
        out = []
        for uid, role in (await self.r.hgetall(f"{self.p}op:{op_id}:members")).items():
            user = await self.get_user(UserId(text(uid)))
            if user is not None:
                out.append((Membership(op_id, user.id, Role(text(role))), user))
        return sorted(out, key=lambda mu: mu[1].username.lower())

    @guarded
    async def create_channel(self, ch: Channel) -> None:
        await self._claim(f"{self.p}op:{ch.operation_id}:chname:{ch.name.lower()}", ch.id,
                          "channel name")
        fields = {"id": ch.id, "operation_id": ch.operation_id, "name": ch.name,
                  "topic": ch.topic, "agencies": ch.agencies, "created_at": ch.created_at,
                  "last_seq": ch.last_seq, "first_seq": ch.first_seq}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(self.ch_key(ch.id), mapping=_dump(fields))
            tx.sadd(f"{self.p}op:{ch.operation_id}:channels", ch.id)
            await tx.execute()

    @guarded
    async def get_channel(self, ch_id: ChannelId) -> Channel | None:
        d = await self._hash(self.ch_key(ch_id))
        return _channel(d) if d else None

    @guarded
    async def update_channel(self, ch_id: ChannelId, **fields: object) -> None:
        await self._update(self.ch_key(ch_id), _CH_FIELDS, fields)

    @guarded
    async def list_channels(self, op_id: OperationId) -> list[Channel]:
        chans = [await self.get_channel(ChannelId(cid))
                 for cid in texts(await self.r.smembers(f"{self.p}op:{op_id}:channels"))]
        return sorted((c for c in chans if c), key=lambda c: c.name)

    # --- messages ----------------------------------------------------------------------

    async def _operation_of(self, ch_id: str) -> str | None:
        op = self._ops_of_channel.get(ch_id)
        if op is None:
            raw = await self.r.hget(self.ch_key(ch_id), "operation_id")
            if raw is None:
                return None
            op = self._ops_of_channel[ch_id] = json.loads(raw)
        return op

    @guarded
    async def append_message(self, msg: NewMessage, *, retain: int = 0) -> tuple[Message, bool]:
        op_id = await self._operation_of(msg.channel_id)
        if op_id is None:
            raise Conflict("channel does not exist")
        key = self.ch_key(msg.channel_id)
        seq, created = await self._append(
            keys=[key, f"{key}:log", f"{key}:idem:{msg.sender_id}:{msg.client_msg_id}"],
            args=[self.pub_channel(op_id, msg.channel_id), retain, self._idem_ttl, msg.id,
                  msg.sender_id, msg.sender, msg.sender_name, msg.agency, msg.text,
                  repr(msg.ts), str(msg.priority), msg.client_msg_id, msg.channel_id])
        seq = int(seq)
        if seq < 0:
            raise Conflict("channel does not exist")
        if created:
            return Message(msg.channel_id, seq, msg.id, msg.sender_id, msg.sender,
                           msg.sender_name, msg.agency, msg.text, msg.ts, msg.priority,
                           msg.client_msg_id), True
        stored = await self.read_messages(msg.channel_id, after_seq=seq - 1, limit=1)
        if stored and stored[0].seq == seq:
            return stored[0], False
        # Retained no longer, but the retry is still recognised: answer with its seq.
        return Message(msg.channel_id, seq, msg.id, msg.sender_id, msg.sender,
                       msg.sender_name, msg.agency, msg.text, msg.ts, msg.priority,
                       msg.client_msg_id), False

    @staticmethod
    def _message(ch_id: str, entry_id: str, f: dict[str, str]) -> Message:
        return Message(ChannelId(ch_id), int(entry_id.split("-")[0]), f["id"],
                       UserId(f["sender_id"]), f["sender"], f["sender_name"], f["agency"],
                       f["text"], float(f["ts"]), Priority(f["priority"]), f["client_msg_id"])

    @guarded
    async def read_messages(self, ch_id: ChannelId, *, after_seq: int = 0,
                            before_seq: int | None = None, limit: int = 100,
                            newest_first: bool = False) -> list[Message]:
        log = f"{self.ch_key(ch_id)}:log"
        low = f"{after_seq + 1}-0"
        high = f"{before_seq - 1}-9" if before_seq is not None else "+"
        if before_seq is not None and before_seq - 1 <= after_seq:
            return []
        if newest_first:
            rows = await self.r.xrevrange(log, max=high, min=low, count=limit)
        else:
            rows = await self.r.xrange(log, min=low, max=high, count=limit)
        return [self._message(ch_id, eid, fields) for eid, fields in entries(rows)]

    # --- operation records and event log -------------------------------------------

    @guarded
    async def write_record(self, w: RecordWrite) -> tuple[OpEvent, bool]:
        op = w.operation_id
        data = {"record": w.doc, **w.extra}
        # Checking the event checks the record inside it: check once, write both.
        event_data = jsondoc.dump(data, "event")
        doc = jsondoc.dump(w.doc, checked=True)
        idem = w.idempotency_key
        result = await self._write_record(
            keys=[self.op_key(op, f"rec:{w.kind}:{w.record_id}"), self.op_key(op, "meta"),
                  self.op_key(op, "log"), self.op_key(op, f"idem:{w.actor}:{idem or ''}"),
                  self.op_key(op, f"kind:{w.kind}")],
            args=["" if w.expected_version is None else w.expected_version,
                  doc, w.kind, w.action, w.record_id, w.actor, repr(w.ts),
                  event_data, self.ops_channel(op), "1" if idem else "0",
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
    async def get_record(self, op_id: OperationId, kind: str,
                         record_id: str) -> tuple[Doc, int] | None:
        raw = await self.r.hmget(self.op_key(op_id, f"rec:{kind}:{record_id}"), "doc",
                                 "version")
        if raw[0] is None:
            return None
        return jsondoc.load(text(raw[0])), int(text(raw[1]))

    @guarded
    async def list_records(self, op_id: OperationId,
                           kind: str) -> list[tuple[Doc, int]]:
        out = []
        for rid in sorted(texts(await self.r.smembers(self.op_key(op_id, f"kind:{kind}")))):
            raw = await self.r.hmget(self.op_key(op_id, f"rec:{kind}:{rid}"), "doc", "version")
            if raw[0] is not None:
                out.append((jsondoc.load(text(raw[0])), int(text(raw[1]))))
        return out

    @guarded
    async def read_op_events(self, op_id: OperationId, *, after_seq: int = 0,
                             limit: int = 100) -> list[OpEvent]:
        rows = await self.r.xrange(self.op_key(op_id, "log"), min=f"{after_seq + 1}-0",
                                   max="+", count=limit)
        return [OpEvent(op_id, int(eid.split("-")[0]), f["kind"], f["action"], f["record_id"],
                        int(f["version"]), f["actor"], float(f["ts"]),
                        jsondoc.load(f["data"], "event"))
                for eid, f in entries(rows)]

    @guarded
    async def op_event_bounds(self, op_id: OperationId) -> tuple[int, int]:
        last = await self.r.hget(self.op_key(op_id, "meta"), "last_seq")
        return 1, int(text(last) or 0)

    @guarded
    async def put_state(self, op_id: OperationId, name: str, doc: Doc) -> None:
        await self.r.hset(self.op_key(op_id, "state"), name, jsondoc.dump(doc, "state"))

    @guarded
    async def get_state(self, op_id: OperationId, name: str) -> Doc | None:
        raw = await self.r.hget(self.op_key(op_id, "state"), name)
        return jsondoc.load(text(raw), "state") if raw else None

    @guarded
    async def claim_lease(self, name: str, holder: str, now: float, ttl: float) -> bool:
        held = await self._lease(keys=[f"{self.p}lease:{name}"],
                                 args=["claim", holder, repr(now), repr(now + ttl),
                                       max(1000, int(ttl * 3000))])
        return bool(held)

    @guarded
    async def repair_documents(self, *, dry_run: bool = False) -> dict[str, int]:
        counts = {"records": 0, "state": 0, "served_repaired": 0}
        for op_id in texts(await self.r.smembers(f"{self.p}ops")):
            async for key in self.r.scan_iter(match=self.op_key(op_id, "rec:*"), count=500):
                raw = await self.r.hget(key, "doc")
                fixed = jsondoc.repaired(text(raw)) if raw else None
                if fixed is not None:
                    counts["records"] += 1
                    if not dry_run:
                        await self.r.hset(key, "doc", fixed)
            state_key = self.op_key(op_id, "state")
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
                rows = entries(await self.r.xrange(self.op_key(op_id, "log"), min=after,
                                                   max="+", count=500))
                counts["served_repaired"] += sum(
                    1 for _, f in rows if jsondoc.repaired(f.get("data", "{}")) is not None)
                if len(rows) < 500:
                    break
                after = "(" + rows[-1][0]
        return counts

    @guarded
    async def advance_marker(self, name: str, value: int) -> bool:
        raised = await self._marker(keys=[f"{self.p}marker:{name}"],
                                    args=[value, 7 * 86400 * 1000])
        return bool(raised)

    @guarded
    async def release_lease(self, name: str, holder: str) -> None:
        await self._lease(keys=[f"{self.p}lease:{name}"], args=["release", holder, 0, 0, 0])

    # --- audit --------------------------------------------------------------------------

    @guarded
    async def append_audit(self, entry: AuditEntry) -> AuditRecord:
        details = entry.details or {}
        head_key, log_key = f"{self.p}audit:head", f"{self.p}audit"
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

    async def iter_audit(self) -> AsyncIterator[AuditRecord]:
        start = 0
        while True:
            try:
                rows = await self.r.lrange(f"{self.p}audit", start, start + 999)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                raise Unavailable("the Redis engine is unreachable; retry") from exc
            if not rows:
                return
            for row in rows:
                d = json.loads(row)
                yield AuditRecord(d["seq"], d["ts"], d["actor"], d["action"], d["target"],
                                  d["outcome"], d["operation_id"], d["client"], d["details"],
                                  d["prev_hash"], d["hash"])
            start += len(rows)

    @guarded
    async def audit_head(self) -> tuple[int, str] | None:
        head = await self.r.get(f"{self.p}audit:head")
        if not head:
            return None
        seq, digest = json.loads(head)
        return int(seq), str(digest)
