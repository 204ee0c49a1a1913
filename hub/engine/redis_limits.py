"""The Redis engine's per-user limits, shared by every hub process.

Connections: one sorted set per user whose members are this process's
connection ids, scored by an expiry that :meth:`RedisLimits.heartbeat`
pushes forward well within ``ttl``. Admission (drop expired entries, count,
add) is one Lua script, so two processes cannot both admit the last slot;
a process that dies stops refreshing and its connections stop counting
within ``ttl``.

Rates: a token bucket per key kept as one timestamp (GCRA) in a Lua script,
judged by the ``now`` the caller passes (hosts' clocks must agree, as for
the alerting lease).

Failures (login throttling): a sorted set of failure times per key, trimmed
to the window and capped, in a Lua script, so every process counts the same
failures.
"""

from __future__ import annotations

import secrets
import time

from hub.engine.redis_connect import CommandClient
from hub.engine.redis_db import guarded, load_script
from hub.engine.redis_keys import RedisKeys

__all__ = ["RedisLimits"]


class RedisLimits:
    def __init__(self, client: CommandClient, *, prefix: str, node_id: str,
                 ttl: float = 30.0) -> None:
        self._r = client
        self._keys = RedisKeys(prefix)
        self._node = node_id
        self.ttl = ttl
        self._admit = client.register_script(load_script("admit"))
        self._take = client.register_script(load_script("take_token"))
        self._failures = client.register_script(load_script("failures"))
        self._local: dict[str, set[str]] = {}


    def _member(self, conn_id: str) -> str:
        return f"{self._node}:{conn_id}"

    @guarded
    async def admit(self, user_id: str, conn_id: str, limit: int) -> bool:
        now = time.time()
        admitted = await self._admit(keys=[self._keys.connections(user_id)],
                                     args=[repr(now), repr(now + self.ttl), limit,
                                           self._member(conn_id), int(self.ttl * 2000)])
        if admitted:
            self._local.setdefault(user_id, set()).add(conn_id)
        return bool(admitted)

    @guarded
    async def release(self, user_id: str, conn_id: str) -> None:
        conns = self._local.get(user_id)
        if conns is not None:
            conns.discard(conn_id)
            if not conns:
                del self._local[user_id]
        await self._r.zrem(self._keys.connections(user_id), self._member(conn_id))

    @guarded
    async def heartbeat(self) -> None:
        if not self._local:
            return
        expiry = time.time() + self.ttl
        async with self._r.pipeline(transaction=False) as pipe:
            for user_id, conns in self._local.items():
                key = self._keys.connections(user_id)
                pipe.zadd(key, {self._member(c): expiry for c in conns})
                pipe.pexpire(key, int(self.ttl * 2000))
            await pipe.execute()

    @guarded
    async def take(self, key: str, rate: float, burst: int, now: float) -> float:
        wait = await self._take(keys=[self._keys.rate(key)],
                                args=[repr(now), repr(1.0 / rate), burst])
        return float(wait)

    async def _count(self, key: str, window: float, now: float, cap: int, add: bool) -> int:
        n = await self._failures(keys=[self._keys.failures(key)],
                                 args=[repr(now), repr(window), cap,
                                       f"{now!r}:{secrets.token_hex(6)}", "1" if add else "0"])
        return int(n)

    @guarded
    async def fail(self, key: str, window: float, now: float, cap: int) -> int:
        return await self._count(key, window, now, cap, True)

    @guarded
    async def failures(self, key: str, window: float, now: float) -> int:
        return await self._count(key, window, now, 0, False)

    @guarded
    async def forgive(self, key: str) -> None:
        await self._r.delete(self._keys.failures(key))
