"""The Redis engine's plumbing: client, scripts, error mapping.

Every key and shard channel is named by :class:`hub.engine.redis_keys.RedisKeys`,
which also describes the layout. Appending a message is one Lua script
(``lua/append_message.lua``): idempotency check, seq, stream append, retention
and the sharded publish to other nodes happen atomically, so a message is
broadcast if and only if it was stored.

Durability is Redis's: see docs/architecture.md (AOF with ``appendfsync
always`` for "acked means on disk"; ``everysec`` may lose the last second).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT, FieldT

from hub.audit import AuditKey
from hub.engine.redis_connect import CommandClient
from hub.engine.redis_keys import RedisKeys
from hub.errors import Conflict, Unavailable

__all__ = ["RedisBase", "dump_fields", "entries", "guarded", "load_fields", "load_script", "text",
           "texts"]

log = logging.getLogger("hub.engine.redis")

P = ParamSpec("P")
T = TypeVar("T")

LUA_DIR = Path(__file__).resolve().parent / "lua"


def load_script(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


#: Replies that mean "not now" (a restart, a replica, a failover or resharding under way).
_PASSING = ("LOADING", "READONLY", "MISCONF", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN")


def guarded(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn a lost or failing Redis into :class:`Unavailable` (retryable)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, RedisClusterException,
                OSError) as exc:  # the cluster client's "no node reachable" is not a RedisError
            raise Unavailable("the Redis engine is unreachable; retry") from exc
        except RedisError as exc:
            if any(word in str(exc) for word in _PASSING):
                raise Unavailable(f"the Redis engine is not accepting writes: {exc}") from exc
            raise

    return wrapper


def _weakest(conf: Mapping[str, object]) -> int:
    """Order persistence settings weakest first (for a cluster's least safe master)."""
    if conf.get("appendonly") != "yes":
        return 0
    return 2 if conf.get("appendfsync") == "always" else 1


def dump_fields(fields: Mapping[str, object]) -> dict[FieldT, EncodableT]:
    return {k: json.dumps(list(v) if isinstance(v, tuple) else v) for k, v in fields.items()}


def load_fields(raw: Mapping[bytes | str, bytes | str]) -> dict[str, object]:
    """A hash's fields, each a JSON value (the inverse of :func:`dump_fields`)."""
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


class RedisBase:
    """The client, the scripts and the key names; the stores' methods build on these."""


    def __init__(self, client: CommandClient, *, prefix: str,
                 idempotency_seconds: int, audit_key: AuditKey | None = None) -> None:
        self.r = client
        self._audit_key = audit_key
        self.keys = RedisKeys(prefix)
        self._idem_ttl = idempotency_seconds
        self._append = client.register_script(load_script("append_message"))
        self._put_note = client.register_script(load_script("put_note"))
        self._revoke = client.register_script(load_script("revoke_session"))
        self._write_record = client.register_script(load_script("write_record"))
        self._lease = client.register_script(load_script("lease"))
        self._marker = client.register_script(load_script("advance_marker"))
        self._ops_of_channel: dict[str, str] = {}

    # --- lifecycle -------------------------------------------------------------------

    async def schema_version(self) -> int:
        """The data schema of this keyspace: its key layout (0 before the first open)."""
        found = await self.r.get(self.keys.layout())
        return int(text(found)) if found else 0

    async def check_persistence(self) -> str:
        """Warn at start-up when the server would not keep acknowledged writes.

        Returns "always", "everysec", "no-aof" or "unknown" (CONFIG refused, as
        on some managed services).
        """
        try:
            conf: dict[str, Any]
            if isinstance(self.r, RedisCluster):  # every master must keep its writes
                replies: Any = await self.r.config_get("append*",
                                                       target_nodes=RedisCluster.PRIMARIES)
                conf = min(replies.values(), key=_weakest) if replies else {}
            else:
                conf = {text(k): v for k, v in (await self.r.config_get("append*")).items()}
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
        await self.r.aclose()  # and its connection pool (see redis_connect.connect)

    @guarded
    async def ping(self) -> None:
        await self.r.ping()

    # --- helpers ---------------------------------------------------------------------

    async def _hash(self, key: str) -> dict[str, object] | None:
        raw = await self.r.hgetall(key)
        return load_fields(raw) if raw else None

    async def _update(self, key: str, allowed: Collection[str],
                      fields: dict[str, object]) -> None:
        unknown = set(fields) - set(allowed)
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if fields and await self.r.exists(key):
            await self.r.hset(key, mapping=dump_fields(fields))

    async def _claim(self, key: str, value: str, what: str) -> None:
        if not await self.r.set(key, value, nx=True):
            raise Conflict(f"{what} is taken")
