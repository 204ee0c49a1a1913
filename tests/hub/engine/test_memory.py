"""hub/engine/memory.py: the embedded broker, and presence and limits on every engine.

The broker tests are the in-process one's own. Presence and connection limits
have one implementation per engine (memory.py here, redis_presence.py and
redis_limits.py for Redis) and one contract, so those run on both engines.
"""

from __future__ import annotations

import logging

import pytest

from hub.engine import Engine
from hub.engine.memory import MemoryBroker
from hub.engine.port import PresenceEntry
from hub.models import ChannelId, Event, PresenceEvent, TypingEvent

ALICE = PresenceEntry("alice", "Alice", "POLICE")
BRUNO = PresenceEntry("bruno", "Bruno", "ARMY")
CH = ChannelId("ch_presence")


# --- the in-process broker -----------------------------------------------------------------


async def test_publish_reaches_the_handler_at_once_in_order_for_subscribed_topics() -> None:
    broker, heard = MemoryBroker(), []
    await broker.start(lambda topic, event: heard.append((topic, event)))
    await broker.subscribe("t1")
    events: list[Event] = [PresenceEvent(ChannelId(f"c{i}")) for i in range(3)]
    for e in events:
        await broker.publish("t1", e)
    await broker.publish("t2", TypingEvent(CH, "x", "X", "A"))  # nobody subscribed
    assert heard == [("t1", e) for e in events]  # synchronous: no waiting needed
    await broker.unsubscribe("t1")
    await broker.publish("t1", events[0])
    assert len(heard) == 3


async def test_a_failing_handler_never_fails_the_publisher(
        caplog: pytest.LogCaptureFixture) -> None:
    broker = MemoryBroker()

    def boom(topic: str, event: Event) -> None:
        raise RuntimeError("handler bug")

    await broker.start(boom)
    await broker.subscribe("t")
    with caplog.at_level(logging.ERROR, logger="hub.engine.memory"):
        await broker.publish("t", PresenceEvent(CH))
    assert "event handler failed" in caplog.text


async def test_healthy_while_started_and_silent_after_close() -> None:
    broker, heard = MemoryBroker(), []
    assert not broker.healthy()
    await broker.start(lambda t, e: heard.append(e))
    await broker.subscribe("t")
    assert broker.healthy()
    await broker.close()
    assert not broker.healthy()
    await broker.publish("t", PresenceEvent(CH))
    assert heard == []


# --- presence, on every engine -----------------------------------------------------------


async def test_presence_counts_connections_per_user(engine: Engine) -> None:
    p = engine.presence
    assert await p.join(CH, ALICE, "conn-1") is True  # first connection: announce
    assert await p.join(CH, ALICE, "conn-2") is False  # a second tab: nothing new
    assert await p.join(CH, BRUNO, "conn-3") is True
    assert await p.members(CH) == [ALICE, BRUNO]
    assert await p.leave(CH, ALICE, "conn-1") is False  # still there on conn-2
    assert await p.members(CH) == [ALICE, BRUNO]
    assert await p.leave(CH, ALICE, "conn-2") is True  # gone
    assert await p.members(CH) == [BRUNO]


async def test_leaving_twice_or_never_joined_changes_nothing(engine: Engine) -> None:
    p = engine.presence
    await p.join(CH, ALICE, "conn-1")
    assert await p.leave(CH, BRUNO, "conn-9") is False
    assert await p.leave(CH, ALICE, "conn-1") is True
    assert await p.leave(CH, ALICE, "conn-1") is False
    assert await p.members(CH) == []
    assert await p.members(ChannelId("ch_never")) == []


async def test_presence_is_per_channel(engine: Engine) -> None:
    p = engine.presence
    other = ChannelId("ch_other")
    await p.join(CH, ALICE, "conn-1")
    await p.join(other, BRUNO, "conn-1")
    assert await p.members(CH) == [ALICE]
    assert await p.members(other) == [BRUNO]


async def test_a_heartbeat_keeps_entries_and_a_sweep_of_a_live_process_drops_none(
        engine: Engine) -> None:
    p = engine.presence
    await p.join(CH, ALICE, "conn-1")
    await p.heartbeat()
    assert await p.sweep() == []
    assert await p.members(CH) == [ALICE]


# --- connection limits and token buckets, on every engine ----------------------------------


async def test_connections_are_admitted_up_to_the_limit_and_released(engine: Engine) -> None:
    lim = engine.limits
    assert [await lim.admit("usr_1", f"c{i}", 2) for i in range(3)] == [True, True, False]
    assert await lim.admit("usr_2", "c9", 2) is True  # per user
    await lim.release("usr_1", "c0")
    assert await lim.admit("usr_1", "c3", 2) is True
    await lim.release("usr_1", "unknown")  # releasing what was never admitted is harmless
    await lim.heartbeat()
    assert await lim.admit("usr_1", "c4", 2) is False


async def test_a_token_bucket_allows_a_burst_then_says_how_long_to_wait(
        engine: Engine) -> None:
    lim, now = engine.limits, 1_000.0
    waits = [await lim.take("publish:usr_1", 2.0, 3, now) for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(0.5, abs=0.01)  # one token per 0.5 s
    assert await lim.take("publish:usr_2", 2.0, 3, now) == 0  # per key
    assert await lim.take("publish:usr_1", 2.0, 3, now + 0.5) == 0  # refilled
