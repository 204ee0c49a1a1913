"""The Redis engine's broker: sharded pub/sub between hub processes.

Redis pub/sub is at-most-once: a message published while a subscriber's
connection is down is gone. This broker never hides that:

* its listener runs on its own connections (one per master of a cluster),
  client-side retries off, so a lost connection surfaces here instead of
  being silently re-established; after a failover it re-reads which master
  owns each channel's slot;
* after reconnecting and resubscribing it hands the node a
  :class:`~hub.models.ResyncEvent`, and the node makes every subscription
  catch up from the streams (the store is the source of truth);
* a heartbeat published every ``health_interval`` seconds to this node's own
  channel on each master must come back through the listener, or
  :meth:`healthy` turns false and ``/readyz`` reports it (no deaf listener
  that looks alive).

Chat messages are published by the store's append script, atomically with
the write, so :meth:`publish` skips :class:`MessageEvent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgpack
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.engine import jsondoc
from hub.engine.port import EventHandler
from hub.engine.redis_connect import CommandClient, Shards
from hub.engine.redis_keys import RedisKeys
from hub.engine.redis_messages import EVENT_KIND, from_event
from hub.errors import Unavailable
from hub.models import (
    ChannelId,
    ControlEvent,
    Event,
    MessageEvent,
    OperationId,
    OpEvent,
    OpEventPosted,
    PresenceEvent,
    RedactedEvent,
    ResyncEvent,
    TranslatedEvent,
    TypingEvent,
    UserId,
)

__all__ = ["RedisBroker"]

log = logging.getLogger("hub.engine.redis")


class RedisBroker:
    def __init__(self, *, client: CommandClient, shards: Shards, prefix: str,
                 node_id: str, health_interval: float = 1.0) -> None:
        self._r = client  # for publishing
        self._shards = shards  # one listening connection per master, retries off
        self._p = prefix
        self._node_id = node_id
        self._health_interval = health_interval
        self._handler: EventHandler | None = None
        self._topics: set[str] = set()
        self._by_channel: dict[str, str] = {}
        self._pubsubs: dict[str, PubSub] = {}  # master -> its subscriptions; {} when down
        self._rewire = asyncio.Event()  # a channel's master is not among the connected
        self._unsubscribing: dict[str, int] = {}  # our SUNSUBSCRIBEs not yet confirmed
        self._tasks: list[asyncio.Task[None]] = []
        self._beats: dict[str, float] = {}  # heartbeat channel -> when it last came back
        self._keys = RedisKeys(prefix)
        self._closing = False
        self.reconnects = 0

    # --- naming ----------------------------------------------------------------------

    def channel_of(self, topic: str) -> str:
        """Shard channel for a topic; channel topics carry their op and channel ids."""
        return self._keys.topic(topic)

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, handler: EventHandler) -> None:
        self._handler = handler
        self._tasks = [asyncio.create_task(self._listen(), name="redis-listener"),
                       asyncio.create_task(self._heartbeat(), name="redis-heartbeat")]

    async def close(self) -> None:
        self._closing = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        await self._drop_pubsubs()
        self._handler = None
        with contextlib.suppress(Exception):
            await self._shards.aclose()

    def healthy(self) -> bool:
        """Started, listening on every master, and each one's heartbeat came back lately."""
        limit = time.monotonic() - (3 * self._health_interval + 1.0)
        return (self._handler is not None and bool(self._pubsubs)
                and all(at > limit for at in self._beats.values()))

    # --- subscriptions ---------------------------------------------------------------

    async def subscribe(self, topic: str) -> None:
        chan = self.channel_of(topic)
        self._topics.add(topic)
        self._by_channel[chan] = topic
        if self._pubsubs:
            pubsub = self._pubsubs.get(self._shards.owner(chan)[0])
            if pubsub is None:  # the slot moved since the listener connected
                self._rewire.set()
                return
            with contextlib.suppress(RedisError, OSError):
                await pubsub.ssubscribe(chan)  # on failure, the reconnect resubscribes

    async def unsubscribe(self, topic: str) -> None:
        chan = self.channel_of(topic)
        self._topics.discard(topic)
        self._by_channel.pop(chan, None)
        pubsub = self._pubsubs.get(self._shards.owner(chan)[0]) if self._pubsubs else None
        if pubsub is not None:
            self._unsubscribing[chan] = self._unsubscribing.get(chan, 0) + 1
            with contextlib.suppress(RedisError, OSError):
                await pubsub.sunsubscribe(chan)

    async def publish(self, topic: str, event: Event) -> None:
        payload = _encode(event)  # stored events were published by their write script
        try:
            await self._r.spublish(self.channel_of(topic), payload)
        except (RedisConnectionError, RedisTimeoutError, RedisClusterException, OSError) as exc:
            raise Unavailable("the Redis engine is unreachable; retry") from exc

    # --- the listener ------------------------------------------------------------------

    async def _connect(self) -> dict[str, PubSub]:
        """One pub/sub connection per master, each subscribed to the channels it owns
        and to a heartbeat channel of its own."""
        self._rewire.clear()
        pubsubs: dict[str, PubSub] = {}
        beats: dict[str, float] = {}
        try:
            for master, client in (await self._shards.masters()).items():
                pubsub = pubsubs[master] = client.pubsub()  # sees Redis's sunsubscribes
                beat = self._keys.node(self._node_id) + self._shards.tag_on(master)
                beats[beat] = time.monotonic()
                await pubsub.ssubscribe(beat)
            done: set[str] = set()
            while wanted := {self.channel_of(t) for t in self._topics} - done:
                # Topics subscribed while an await was in flight are not lost: look
                # again until every wanted channel is subscribed. SSUBSCRIBE takes
                # several channels only within one slot.
                by_slot: dict[tuple[str, int], list[str]] = {}
                for chan in wanted:
                    by_slot.setdefault(self._shards.owner(chan), []).append(chan)
                for (master, _slot), chans in by_slot.items():
                    if master not in pubsubs:
                        raise RedisConnectionError(f"no connection to the owner {master}")
                    await pubsubs[master].ssubscribe(*chans)
                done |= wanted
        except BaseException:
            await _close_all(pubsubs)
            raise
        self._beats = beats
        return pubsubs

    async def _drop_pubsubs(self) -> None:
        pubsubs, self._pubsubs = self._pubsubs, {}
        await _close_all(pubsubs)

    async def _listen(self) -> None:
        backoff = 0.05
        first = True
        while not self._closing:
            readers: list[asyncio.Task[Any]] = []
            try:
                self._pubsubs = await self._connect()
                if not first:
                    self.reconnects += 1
                    log.warning("pub/sub reconnected; resynchronising subscriptions")
                    self._dispatch("*", ResyncEvent())
                first = False
                backoff = 0.05
                readers = [asyncio.create_task(self._read(p), name=f"redis-listener-{m}")
                           for m, p in self._pubsubs.items()]
                rewire = asyncio.create_task(self._rewire.wait())
                readers.append(rewire)  # cancelled with them below
                done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
                lost = [t.exception() for t in done if t is not rewire]
                log.warning("pub/sub connection lost: %s",
                            ", ".join(type(e).__name__ for e in lost if e) or "a slot moved")
            except asyncio.CancelledError:
                raise
            except (RedisError, RedisClusterException, OSError) as exc:
                log.warning("pub/sub connection lost: %s", type(exc).__name__)
            finally:
                for task in readers:
                    task.cancel()
                if readers:
                    await asyncio.wait(readers)
                    for task in readers:  # seen: the one that ended the wait was logged
                        if not task.cancelled():
                            task.exception()
            await self._drop_pubsubs()
            self._unsubscribing.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _read(self, pubsub: PubSub) -> None:
        """Hand one master's messages to the node until its connection fails, or until
        the master gives up a slot we listen on (a failover or resharding: Redis
        then unsubscribes us from that slot's channels)."""
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            kind = message["type"]
            if kind == "smessage":
                self._on_message(message["channel"], message["data"])
            elif kind == "sunsubscribe" and self._moved_away(message["channel"]):
                return

    async def _heartbeat(self) -> None:
        while not self._closing:
            for chan in list(self._beats):
                with contextlib.suppress(RedisError, RedisClusterException, OSError):
                    await self._r.spublish(chan, BEAT)
            await asyncio.sleep(self._health_interval)

    def _moved_away(self, chan: Any) -> bool:
        """Whether a shard unsubscription was Redis's doing, not an :meth:`unsubscribe`."""
        name = chan.decode() if isinstance(chan, bytes) else str(chan)
        if self._unsubscribing.get(name, 0) > 0:
            self._unsubscribing[name] -= 1
            if not self._unsubscribing[name]:
                del self._unsubscribing[name]
            return False
        return name in self._by_channel or name in self._beats

    def _on_message(self, chan: Any, data: Any) -> None:
        name = chan.decode() if isinstance(chan, bytes) else str(chan)
        if name in self._beats:
            self._beats[name] = time.monotonic()
            return
        topic = self._by_channel.get(name)
        if topic is None:
            return
        try:
            event = _decode(data)
        except (ValueError, TypeError, IndexError, msgpack.UnpackException):
            log.error("undecodable event on %s", name)
            return
        self._dispatch(topic, event)

    def _dispatch(self, topic: str, event: Event) -> None:
        if self._handler is None:
            return
        try:
            self._handler(topic, event)
        except Exception:
            log.exception("event handler failed", extra={"topic": topic})


BEAT = bytes(msgpack.packb(["beat"]))


async def _close_all(pubsubs: dict[str, PubSub]) -> None:
    for pubsub in pubsubs.values():
        with contextlib.suppress(Exception):
            await pubsub.aclose()


def _encode(event: Event) -> bytes:
    if isinstance(event, TypingEvent):
        item: list[object] = ["t", event.channel_id, event.user, event.display_name,
                              event.agency]
    elif isinstance(event, PresenceEvent):
        item = ["p", event.channel_id]
    elif isinstance(event, ControlEvent):
        item = ["c", event.session_id, event.user_id, event.reason]
    elif isinstance(event, RedactedEvent):
        item = ["r", event.channel_id, event.seq, event.label_json, event.by, event.at]
    elif isinstance(event, TranslatedEvent):
        item = ["l", event.channel_id, event.seq, event.lang, event.label_json, event.note,
                event.case, event.alert]
    else:
        raise TypeError(f"cannot publish {type(event).__name__}")
    return bytes(msgpack.packb(item))


def _decode(data: bytes) -> Event:
    item = msgpack.unpackb(data, raw=False, strict_map_key=True)
    kind = item[0]
    if kind in (EVENT_KIND, "m"):  # "m": an older node's, during a rolling upgrade
        return MessageEvent(from_event(item), time.perf_counter())
    if kind == "e":
        _, op_id, seq, rkind, action, record_id, version, actor, ts, data = item
        return OpEventPosted(OpEvent(OperationId(op_id), int(seq), rkind, action, record_id,
                                     int(version), actor, float(ts), jsondoc.load(data, "event")),
                             time.perf_counter())
    if kind == "t":
        return TypingEvent(ChannelId(item[1]), item[2], item[3], item[4])
    if kind == "p":
        return PresenceEvent(ChannelId(item[1]))
    if kind == "c":
        return ControlEvent(item[1], UserId(item[2]) if item[2] else None, item[3])
    if kind == "r":
        return RedactedEvent(ChannelId(item[1]), int(item[2]), item[3], item[4], float(item[5]))
    if kind == "l":
        return TranslatedEvent(ChannelId(item[1]), int(item[2]), item[3], item[4],
                               bytes(item[5]), item[6] if len(item) > 6 else "",
                               item[7] if len(item) > 7 else "")
    raise ValueError(f"unknown event kind {kind!r}")
