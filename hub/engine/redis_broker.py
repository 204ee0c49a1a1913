"""The Redis engine's broker: sharded pub/sub between hub processes.

Redis pub/sub is at-most-once: a message published while a subscriber's
connection is down is gone. This broker never hides that:

* its listener runs on its own connection with client-side retries off, so a
  lost connection surfaces here instead of being silently re-established;
* after reconnecting and resubscribing it hands the node a
  :class:`~hub.models.ResyncEvent`, and the node makes every subscription
  catch up from the streams (the store is the source of truth);
* a heartbeat published to this node's own channel every ``health_interval``
  seconds must come back through the listener, or :meth:`healthy` turns
  false and ``/readyz`` reports it (no deaf listener that looks alive).

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
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hub.engine import jsondoc
from hub.engine.port import EventHandler
from hub.engine.redis_keys import RedisKeys
from hub.errors import Unavailable
from hub.models import (
    ChannelId,
    ControlEvent,
    Event,
    Message,
    MessageEvent,
    OperationId,
    OpEvent,
    OpEventPosted,
    PresenceEvent,
    Priority,
    ResyncEvent,
    TypingEvent,
    UserId,
)

__all__ = ["RedisBroker"]

log = logging.getLogger("hub.engine.redis")


class RedisBroker:
    def __init__(self, *, client: aioredis.Redis, listener: aioredis.Redis, prefix: str,
                 node_id: str, health_interval: float = 1.0) -> None:
        self._r = client  # for publishing
        self._listener_client = listener  # retries off: failures must surface
        self._p = prefix
        self._node_id = node_id
        self._health_interval = health_interval
        self._handler: EventHandler | None = None
        self._topics: set[str] = set()
        self._by_channel: dict[str, str] = {}
        self._pubsub: PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_beat = 0.0
        self._keys = RedisKeys(prefix)
        self._health_chan = self._keys.node(node_id)
        self._closing = False
        self.reconnects = 0

    # --- naming ----------------------------------------------------------------------

    def channel_of(self, topic: str) -> str:
        """Shard channel for a topic; channel topics carry their op and channel ids."""
        return self._keys.topic(topic)

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, handler: EventHandler) -> None:
        self._handler = handler
        self._last_beat = time.monotonic()
        self._tasks = [asyncio.create_task(self._listen(), name="redis-listener"),
                       asyncio.create_task(self._heartbeat(), name="redis-heartbeat")]

    async def close(self) -> None:
        self._closing = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        await self._drop_pubsub()
        self._handler = None
        with contextlib.suppress(Exception):
            await self._listener_client.aclose()

    def healthy(self) -> bool:
        return (self._handler is not None and self._pubsub is not None
                and time.monotonic() - self._last_beat < 3 * self._health_interval + 1.0)

    # --- subscriptions ---------------------------------------------------------------

    async def subscribe(self, topic: str) -> None:
        chan = self.channel_of(topic)
        self._topics.add(topic)
        self._by_channel[chan] = topic
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.ssubscribe(chan)  # on failure, the reconnect resubscribes

    async def unsubscribe(self, topic: str) -> None:
        chan = self.channel_of(topic)
        self._topics.discard(topic)
        self._by_channel.pop(chan, None)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.sunsubscribe(chan)

    async def publish(self, topic: str, event: Event) -> None:
        payload = _encode(event)  # stored events were published by their write script
        try:
            await self._r.spublish(self.channel_of(topic), payload)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise Unavailable("the Redis engine is unreachable; retry") from exc

    # --- the listener ------------------------------------------------------------------

    async def _connect(self) -> None:
        pubsub = self._listener_client.pubsub(ignore_subscribe_messages=True)
        done = {self._health_chan}
        await pubsub.ssubscribe(self._health_chan)
        while wanted := {self.channel_of(t) for t in self._topics} - done:
            # Topics subscribed while this await was in flight are not lost:
            # look again until every wanted channel is subscribed.
            await pubsub.ssubscribe(*wanted)
            done |= wanted
        self._pubsub = pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

    async def _listen(self) -> None:
        backoff = 0.05
        first = True
        while not self._closing:
            try:
                if self._pubsub is None:
                    await self._connect()
                    if not first:
                        self.reconnects += 1
                        log.warning("pub/sub reconnected; resynchronising subscriptions")
                        self._dispatch("*", ResyncEvent())
                    first = False
                    backoff = 0.05
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "smessage":
                    self._on_message(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("pub/sub connection lost: %s", type(exc).__name__)
                await self._drop_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _heartbeat(self) -> None:
        while not self._closing:
            with contextlib.suppress(RedisError, OSError):
                await self._r.spublish(self._health_chan, msgpack.packb(["beat"]))
            await asyncio.sleep(self._health_interval)

    def _on_message(self, chan: Any, data: Any) -> None:
        name = chan.decode() if isinstance(chan, bytes) else str(chan)
        if name == self._health_chan:
            self._last_beat = time.monotonic()
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


def _encode(event: Event) -> bytes:
    if isinstance(event, TypingEvent):
        item: list[object] = ["t", event.channel_id, event.user, event.display_name,
                              event.agency]
    elif isinstance(event, PresenceEvent):
        item = ["p", event.channel_id]
    elif isinstance(event, ControlEvent):
        item = ["c", event.session_id, event.user_id, event.reason]
    else:
        raise TypeError(f"cannot publish {type(event).__name__}")
    return bytes(msgpack.packb(item))


def _decode(data: bytes) -> Event:
    item = msgpack.unpackb(data, raw=False, strict_map_key=True)
    kind = item[0]
    if kind == "m":
        (_, ch_id, seq, mid, sender_id, sender, sender_name, agency, text, ts, priority,
         cmid) = item
        return MessageEvent(Message(ChannelId(ch_id), int(seq), mid,
                                    UserId(sender_id), sender, sender_name, agency, text,
                                    float(ts), Priority(priority), cmid), time.perf_counter())
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
    raise ValueError(f"unknown event kind {kind!r}")
