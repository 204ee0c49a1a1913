"""The embedded engine's broker and presence: in-process, for a single hub process.

Delivery is synchronous and in publish order: ``publish`` hands the event to
the node's handler before it returns, so within one process nothing is lost
or reordered. It still only promises what the port promises (at-most-once),
so code above it never depends on the stronger behaviour.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque

from hub.engine.port import EventHandler, PresenceEntry
from hub.models import ChannelId, Event
from hub.ratelimit import RateLimiter

__all__ = ["MemoryBroker", "MemoryLimits", "MemoryPresence"]

log = logging.getLogger("hub.engine.memory")


class MemoryBroker:
    def __init__(self) -> None:
        self._handler: EventHandler | None = None
        self._topics: set[str] = set()

    async def start(self, handler: EventHandler) -> None:
        self._handler = handler

    async def close(self) -> None:
        self._handler = None
        self._topics.clear()

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)

    async def publish(self, topic: str, event: Event) -> None:
        if self._handler is not None and topic in self._topics:
            try:
                self._handler(topic, event)
            except Exception:  # a handler bug must not fail the publisher's ack
                log.exception("event handler failed", extra={"topic": topic})

    def healthy(self) -> bool:
        return self._handler is not None


class MemoryPresence:
    def __init__(self) -> None:
        self._conns: dict[ChannelId, dict[str, set[str]]] = defaultdict(dict)
        self._who: dict[ChannelId, dict[str, PresenceEntry]] = defaultdict(dict)

    async def join(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        conns = self._conns[ch_id].setdefault(who.username, set())
        first = not conns
        conns.add(conn_id)
        self._who[ch_id][who.username] = who
        return first

    async def leave(self, ch_id: ChannelId, who: PresenceEntry, conn_id: str) -> bool:
        users = self._conns.get(ch_id)
        if not users or who.username not in users:
            return False
        users[who.username].discard(conn_id)
        if users[who.username]:
            return False
        del users[who.username]
        self._who[ch_id].pop(who.username, None)
        if not users:
            self._conns.pop(ch_id, None)
            self._who.pop(ch_id, None)
        return True

    async def members(self, ch_id: ChannelId) -> list[PresenceEntry]:
        return sorted(self._who.get(ch_id, {}).values(), key=lambda e: e.username)

    async def heartbeat(self) -> None:
        return None  # one process: entries live exactly as long as their connections

    async def sweep(self) -> list[ChannelId]:
        return []


#: Keys of failure counts kept at once (one per address or account failing).
MAX_FAILURE_KEYS = 100_000


class MemoryLimits:
    """One process: connections counted in memory, token buckets per key."""

    def __init__(self) -> None:
        self._conns: dict[str, set[str]] = defaultdict(set)
        self._buckets: dict[tuple[float, int], RateLimiter] = {}
        self._failed: dict[str, deque[float]] = {}

    async def admit(self, user_id: str, conn_id: str, limit: int) -> bool:
        conns = self._conns[user_id]
        if len(conns) >= limit:
            return False
        conns.add(conn_id)
        return True

    async def release(self, user_id: str, conn_id: str) -> None:
        conns = self._conns.get(user_id)
        if conns is not None:
            conns.discard(conn_id)
            if not conns:
                del self._conns[user_id]

    async def heartbeat(self) -> None:
        return None

    async def take(self, key: str, rate: float, burst: int, now: float) -> float:
        bucket = self._buckets.get((rate, burst))
        if bucket is None:
            bucket = self._buckets[(rate, burst)] = RateLimiter(None, rate=rate, burst=burst)
        return bucket.take_at(key, now)

    def _trim(self, key: str, window: float, now: float) -> deque[float]:
        times = self._failed.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self._failed[key]
        return times

    async def fail(self, key: str, window: float, now: float, cap: int) -> int:
        times = self._trim(key, window, now)
        if len(times) >= cap:
            return cap + 1
        if len(self._failed) >= MAX_FAILURE_KEYS and key not in self._failed:
            self._failed.clear()  # bounded memory; forgetting is lenient, never stricter
        self._failed.setdefault(key, times).append(now)
        return len(times)

    async def failures(self, key: str, window: float, now: float) -> int:
        return len(self._trim(key, window, now))

    async def forgive(self, key: str) -> None:
        self._failed.pop(key, None)
