"""The Redis engine's presence: connection entries with an expiry.

Each node refreshes the entries of its live connections (``heartbeat``)
well within ``ttl``; entries of a node that died stop being refreshed and
drop out within ``ttl`` seconds (``list`` ignores them, ``sweep`` removes
them and reports the channels whose presence changed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import redis.asyncio as aioredis

from hub.engine.port import PresenceEntry
from hub.engine.redis_store import guarded, load_script
from hub.models import ChannelId

__all__ = ["RedisPresence"]


class RedisPresence:
    def __init__(self, client: aioredis.Redis, *, prefix: str, ttl: float = 30.0) -> None:
        self._r = client
        self._p = prefix
        self.ttl = ttl
        self._script = client.register_script(load_script("presence"))

    def _key(self, ch_id: str) -> str:
        return f"{self._p}presence:{{{ch_id}}}"

    async def _run(self, op: str, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        now = time.time()
        entry = json.dumps([who.username, who.display_name, who.agency])
        changed = await self._script(keys=[self._key(ch_id)],
                                     args=[op, who.username, conn_id, repr(now),
                                           repr(now + self.ttl), entry])
        await self._r.sadd(f"{self._p}presence:channels", ch_id)
        return bool(changed)

    @guarded
    async def join(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        return await self._run("join", ch_id, who, conn_id)

    @guarded
    async def leave(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        return await self._run("leave", ch_id, who, conn_id)

    @staticmethod
    def _parse(value: str) -> tuple[float, PresenceEntry]:
        expires, _, entry = value.partition("\t")
        username, display, agency = json.loads(entry)
        return float(expires), PresenceEntry(username, display, agency)

    @guarded
    async def list(self, ch_id: ChannelId) -> list[PresenceEntry]:
        now = time.time()
        seen: dict[str, PresenceEntry] = {}
        for value in (await self._r.hgetall(self._key(ch_id))).values():
            expires, entry = self._parse(value)
            if expires > now:
                seen[entry.username] = entry
        return sorted(seen.values(), key=lambda e: e.username)

    @guarded
    async def heartbeat(self, live: Iterable[tuple[ChannelId, PresenceEntry, str]]) -> None:
        expires = repr(time.time() + self.ttl)
        async with self._r.pipeline(transaction=False) as pipe:
            for ch_id, who, conn_id in live:
                entry = json.dumps([who.username, who.display_name, who.agency])
                pipe.hset(self._key(ch_id), f"{who.username}\t{conn_id}",
                          f"{expires}\t{entry}")
            await pipe.execute()

    @guarded
    async def sweep(self) -> list[ChannelId]:
        now = time.time()
        changed = []
        for ch_id in await self._r.smembers(f"{self._p}presence:channels"):
            key = self._key(ch_id)
            raw = await self._r.hgetall(key)
            if not raw:
                await self._r.srem(f"{self._p}presence:channels", ch_id)
                continue
            dead = [f for f, v in raw.items() if self._parse(v)[0] <= now]
            if dead:
                await self._r.hdel(key, *dead)
                changed.append(ChannelId(ch_id))
        return changed
