"""The Redis engine's presence: one entry per (channel, user, node), with an expiry.

A node counts its own connections per (channel, user) in memory and touches
Redis only when that count goes from 0 to 1 (join) or 1 to 0 (leave), so
5,000 sockets of one user in 50 channels are 50 entries, not 5,000. Each node
refreshes its entries (``heartbeat``) well within ``ttl``; entries of a node
that died stop being refreshed and drop out within ``ttl`` seconds (``list``
ignores them, ``sweep`` removes them and reports the channels that changed).
"""

from __future__ import annotations

import json
import time

from hub.engine.port import PresenceEntry
from hub.engine.redis_connect import CommandClient
from hub.engine.redis_db import guarded, load_script, text, texts
from hub.engine.redis_keys import RedisKeys
from hub.models import ChannelId

__all__ = ["RedisPresence"]


class RedisPresence:
    def __init__(self, client: CommandClient, *, prefix: str, node_id: str,
                 ttl: float = 30.0) -> None:
        self._r = client
        self._keys = RedisKeys(prefix)
        self._node = node_id
        self.ttl = ttl
        self._script = client.register_script(load_script("presence"))
        self._local: dict[tuple[ChannelId, str], tuple[PresenceEntry, set[str]]] = {}


    async def _run(self, op: str, ch_id: ChannelId, who: PresenceEntry) -> bool:
        now = time.time()
        entry = json.dumps([who.username, who.display_name, who.agency])
        changed = await self._script(keys=[self._keys.presence(ch_id)],
                                     args=[op, who.username, self._node, repr(now),
                                           repr(now + self.ttl), entry])
        await self._r.sadd(self._keys.presence_channels(), ch_id)
        return bool(changed)

    @guarded
    async def join(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        _, conns = self._local.setdefault((ch_id, who.username), (who, set()))
        first_here = not conns
        conns.add(conn_id)
        return await self._run("join", ch_id, who) if first_here else False

    @guarded
    async def leave(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        key = (ch_id, who.username)
        local = self._local.get(key)
        if local is None or conn_id not in local[1]:
            return False
        local[1].discard(conn_id)
        if local[1]:
            return False
        del self._local[key]
        return await self._run("leave", ch_id, who)

    @staticmethod
    def _parse(value: str) -> tuple[float, PresenceEntry]:
        expires, _, entry = value.partition("\t")
        username, display, agency = json.loads(entry)
        return float(expires), PresenceEntry(username, display, agency)

    @guarded
    async def members(self, ch_id: ChannelId) -> list[PresenceEntry]:
        now = time.time()
        seen: dict[str, PresenceEntry] = {}
        for value in (await self._r.hgetall(self._keys.presence(ch_id))).values():
            expires, entry = self._parse(text(value))
            if expires > now:
                seen[entry.username] = entry
        return sorted(seen.values(), key=lambda e: e.username)

    @guarded
    async def heartbeat(self) -> None:
        expires = repr(time.time() + self.ttl)
        async with self._r.pipeline(transaction=False) as pipe:
            for (ch_id, username), (who, _) in self._local.items():
                entry = json.dumps([who.username, who.display_name, who.agency])
                pipe.hset(self._keys.presence(ch_id), f"{username}\t{self._node}",
                          f"{expires}\t{entry}")
            await pipe.execute()

    @guarded
    async def sweep(self) -> list[ChannelId]:
        now = time.time()
        changed = []
        for ch_id in texts(await self._r.smembers(self._keys.presence_channels())):
            key = self._keys.presence(ch_id)
            raw = await self._r.hgetall(key)
            if not raw:
                await self._r.srem(self._keys.presence_channels(), ch_id)
                continue
            dead = [f for f, v in raw.items() if self._parse(text(v))[0] <= now]
            if dead:
                await self._r.hdel(key, *dead)
                changed.append(ChannelId(ch_id))
        return changed
