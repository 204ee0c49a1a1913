"""hub/engine/redis_broker.py against a real Redis: subscriptions, the listener, reconnects.

Each test has its own key prefix, so its shard channels are its own; the
broker is built as the composition root builds it (a listener client with
retries off, so a broken connection surfaces).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.engine.redis_broker import RedisBroker
from hub.engine.redis_connect import CommandClient, SingleShard, connect
from hub.errors import Unavailable
from hub.models import (
    CONTROL_TOPIC,
    ChannelId,
    ControlEvent,
    Event,
    PresenceEvent,
    RedactedEvent,
    ResyncEvent,
    TranslatedEvent,
    TypingEvent,
    UserId,
)
from tests.redis_support import RedisServer, cleanup, new_prefix, redis_url

TOPIC = "ch:op_1:ch_1"
OTHER = "ch:op_1:ch_2"


class Heard:
    """The broker's event handler: what arrived, on which topic, waitable."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []
        self._changed = asyncio.Event()

    def __call__(self, topic: str, event: Event) -> None:
        self.events.append((topic, event))
        self._changed.set()

    async def wait_for(self, test: Callable[[list[tuple[str, Event]]], bool],
                       timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not test(self.events):
                self._changed.clear()
                await self._changed.wait()


_clients: list[CommandClient] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    """The publishing client is shared with the store in the hub, which closes it."""
    yield
    while _clients:
        await _clients.pop().aclose()


def make_broker(url: str, prefix: str, **kwargs: Any) -> RedisBroker:
    client, shards = connect(url)
    _clients.append(client)
    return RedisBroker(client=client, shards=shards, prefix=prefix, node_id="node_t",
                       **kwargs)


@pytest.fixture
async def url_prefix() -> AsyncIterator[tuple[str, str]]:
    url, prefix = redis_url(), new_prefix()
    yield url, prefix
    cleanup(url, prefix)


async def started(url: str, prefix: str, handler: Callable[[str, Event], None] | None = None,
                  **kwargs: Any) -> tuple[RedisBroker, Heard]:
    """A broker whose listener is connected (events published before that are lost)."""
    broker, heard = make_broker(url, prefix, **kwargs), Heard()
    await broker.start(handler or heard)
    async with asyncio.timeout(10):
        while not broker.healthy():
            await asyncio.sleep(0.01)
    return broker, heard


async def subscribe(broker: RedisBroker, heard: Heard, topic: str) -> None:
    """Subscribe and wait until Redis has it: SSUBSCRIBE is sent, not confirmed, so
    a publish from another connection right after could overtake it."""
    await broker.subscribe(topic)
    await until_heard(broker, heard, topic)


async def until_heard(broker: RedisBroker, heard: Heard, topic: str) -> None:
    """Publish a probe on ``topic`` until it is heard (Redis has the subscription)."""
    probe = TypingEvent(ChannelId("probe"), "probe", "", "")
    async with asyncio.timeout(10):
        while (topic, probe) not in heard.events:
            await broker.publish(topic, probe)
            with contextlib.suppress(TimeoutError):
                await heard.wait_for(lambda ev: (topic, probe) in ev, timeout=0.2)
    heard.events.clear()


def typing(user: str) -> TypingEvent:
    return TypingEvent(ChannelId("ch_1"), user, user.title(), "police")


def on(topic: str) -> Callable[[list[tuple[str, Event]]], bool]:
    return lambda events: any(t == topic for t, _ in events)


async def test_published_events_reach_the_handler_of_a_subscribed_topic(
        url_prefix: tuple[str, str]) -> None:
    broker, heard = await started(*url_prefix)
    try:
        await subscribe(broker, heard, TOPIC)
        redacted = RedactedEvent(ChannelId("ch_1"), 7, '{"level":"SECRET"}', "ana", 17.5)
        translated = TranslatedEvent(ChannelId("ch_1"), 7, "es", "", bytes(range(256)))
        of_case = TranslatedEvent(ChannelId("ops:op_1"), 3, "fr", "", b"\x80", case="cs_1")
        of_alert = TranslatedEvent(ChannelId("ops:op_1"), 0, "en", "", b"\x80", alert="al_1")
        await broker.publish(TOPIC, typing("ana"))
        await broker.publish(TOPIC, PresenceEvent(ChannelId("ch_1")))
        await broker.publish(TOPIC, redacted)
        for event in (translated, of_case, of_alert):
            await broker.publish(TOPIC, event)
        await heard.wait_for(lambda ev: len(ev) == 6)
        assert heard.events == [(TOPIC, typing("ana")), (TOPIC, PresenceEvent(ChannelId("ch_1"))),
                                (TOPIC, redacted), (TOPIC, translated), (TOPIC, of_case),
                                (TOPIC, of_alert)]
    finally:
        await broker.close()


async def test_control_events_travel_on_the_control_topic(url_prefix: tuple[str, str]) -> None:
    a, heard = await started(*url_prefix)
    b, _ = await started(*url_prefix)
    try:
        await subscribe(a, heard, CONTROL_TOPIC)
        event = ControlEvent("ses_1", UserId("usr_1"), "revoked")
        await b.publish(CONTROL_TOPIC, event)  # another node's broker
        await heard.wait_for(on(CONTROL_TOPIC))
        assert heard.events == [(CONTROL_TOPIC, event)]
    finally:
        await a.close()
        await b.close()


async def test_a_topic_not_subscribed_is_not_heard_and_unsubscribe_stops_delivery(
        url_prefix: tuple[str, str]) -> None:
    broker, heard = await started(*url_prefix)
    try:
        await subscribe(broker, heard, TOPIC)
        await broker.publish(OTHER, typing("nobody"))  # no one listens on OTHER
        await broker.publish(TOPIC, typing("ana"))
        await heard.wait_for(on(TOPIC))
        await broker.unsubscribe(TOPIC)
        await subscribe(broker, heard, OTHER)
        await broker.publish(TOPIC, typing("late"))
        await broker.publish(OTHER, typing("bo"))
        await heard.wait_for(on(OTHER))
        assert heard.events == [(OTHER, typing("bo"))]  # "late" went nowhere
    finally:
        await broker.close()


async def test_a_topic_subscribed_while_the_listener_connects_is_not_lost(
        url_prefix: tuple[str, str]) -> None:
    """Regression: the listener subscribed the topics it knew when it began
    connecting; one subscribed during that await (the alert pipeline follows
    every operation at start-up) was never subscribed in Redis, so no
    subscriber of that topic on this node heard anything."""
    url, prefix = url_prefix
    broker, heard = make_broker(url, prefix), Heard()
    gate = asyncio.Event()
    connecting = asyncio.Event()
    listener = (await broker._shards.masters())[SingleShard.NAME]
    real_pubsub = listener.pubsub

    def slow_pubsub(**kwargs: Any) -> Any:
        pubsub = real_pubsub(**kwargs)
        real_ssubscribe = pubsub.ssubscribe

        async def ssubscribe(*chans: Any) -> Any:
            connecting.set()
            await gate.wait()  # the connect is in flight
            return await real_ssubscribe(*chans)

        pubsub.ssubscribe = ssubscribe  # type: ignore[method-assign]
        return pubsub

    listener.pubsub = slow_pubsub  # type: ignore[method-assign]
    await broker.start(heard)
    try:
        await asyncio.wait_for(connecting.wait(), 10)
        await broker.subscribe(TOPIC)  # lands while the listener is connecting
        gate.set()
        await until_heard(broker, heard, TOPIC)  # without the fix: never
    finally:
        await broker.close()


async def test_an_undecodable_payload_is_dropped_and_the_listener_goes_on(
        url_prefix: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    url, prefix = url_prefix
    broker, heard = await started(url, prefix)
    raw = aioredis.from_url(url)
    try:
        await subscribe(broker, heard, TOPIC)
        with caplog.at_level(logging.ERROR, logger="hub.engine.redis"):
            await raw.spublish(broker.channel_of(TOPIC), b"\xc1 not msgpack")
            await raw.spublish(broker.channel_of(TOPIC), b"\x91\xa1z")  # ["z"]: unknown kind
            await broker.publish(TOPIC, typing("ana"))
            await heard.wait_for(on(TOPIC))
        assert heard.events == [(TOPIC, typing("ana"))]
        assert [r.getMessage() for r in caplog.records].count(
            f"undecodable event on {broker.channel_of(TOPIC)}") == 2
    finally:
        await raw.aclose()
        await broker.close()


async def test_a_handler_that_raises_does_not_stop_the_listener(
        url_prefix: tuple[str, str]) -> None:
    url, prefix = url_prefix
    heard = Heard()

    def handler(topic: str, event: Event) -> None:
        if isinstance(event, TypingEvent) and event.user == "boom":
            raise RuntimeError("handler bug")
        heard(topic, event)

    broker, _ = await started(url, prefix, handler)
    try:
        await subscribe(broker, heard, TOPIC)
        await broker.publish(TOPIC, typing("boom"))
        await broker.publish(TOPIC, typing("ana"))
        await heard.wait_for(on(TOPIC))
        assert heard.events == [(TOPIC, typing("ana"))]
    finally:
        await broker.close()


async def test_stored_events_are_not_published_by_the_broker(
        url_prefix: tuple[str, str]) -> None:
    """Messages and op events are published by their write script, never here."""
    from hub.models import Message, MessageEvent
    from tests.chat import chat

    broker, _ = await started(*url_prefix)
    msg = Message(ChannelId("ch_1"), 1, "m1", UserId("u"), "ana", "Ana", "police", 0.0, "c",
                  **chat("hi"))
    try:
        with pytest.raises(TypeError, match="cannot publish MessageEvent"):
            await broker.publish(TOPIC, MessageEvent(msg, 0.0))
    finally:
        await broker.close()


async def test_the_listener_reconnects_resubscribes_and_reports_a_resync() -> None:
    server = RedisServer(appendonly=False).start()
    prefix = new_prefix()
    broker, heard = await started(server.url, prefix, health_interval=0.2)
    killer = aioredis.from_url(server.url)
    try:
        await subscribe(broker, heard, TOPIC)
        await killer.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await heard.wait_for(lambda ev: any(isinstance(e, ResyncEvent) for _, e in ev))
        assert broker.reconnects == 1
        await broker.publish(TOPIC, typing("after"))
        await heard.wait_for(on(TOPIC))
        assert (TOPIC, typing("after")) in heard.events
    finally:
        await killer.aclose()
        await broker.close()
        server.stop()


async def test_publishing_without_redis_is_unavailable_and_health_goes_false() -> None:
    server = RedisServer(appendonly=False).start()
    broker, _ = await started(server.url, new_prefix(), health_interval=0.1)
    try:
        server.kill()
        with pytest.raises(Unavailable):
            await broker.publish(TOPIC, typing("ana"))
        async with asyncio.timeout(10):
            while broker.healthy():
                await asyncio.sleep(0.05)
    finally:
        await broker.close()
        server.stop()


async def test_healthy_only_while_started() -> None:
    broker = make_broker(redis_url(), new_prefix())
    assert not broker.healthy()
    await broker.start(Heard())
    async with asyncio.timeout(10):
        while not broker.healthy():
            await asyncio.sleep(0.01)
    await broker.close()
    assert not broker.healthy()


def test_topics_map_to_shard_channels_in_their_keys_slot() -> None:
    broker = make_broker("redis://127.0.0.1:1/0", "p:")
    assert broker.channel_of("ops:op_1") == "p:op:{op_1}:events"
    assert broker.channel_of("ch:op_1:ch_9") == "p:op:op_1:ch:{ch_9}"
    assert broker.channel_of(CONTROL_TOPIC) == "p:control"
