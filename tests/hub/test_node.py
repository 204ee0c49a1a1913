"""hub/node.py without sockets: subscriptions, fan-out, followers, revocation and expiry.

The store and broker are the real embedded ones; a connection is a double
that records what the node hands it (the node's side of the gateway).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from channels.bodies import chat_body
from hub.engine.port import NewMessage
from hub.errors import CloseCode
from hub.feeds import Feed
from hub.labels import Label
from hub.models import (
    ChannelId,
    ControlEvent,
    Message,
    OperationId,
    OpEvent,
    OpEventPosted,
    ResyncEvent,
    TypingEvent,
    new_id,
    ops_topic,
)
from hub.node import Node
from hub.principal import Principal
from hub.protocol import Encoded
from tests.chat import chat
from tests.conftest import PASSWORD, Embedded


class FakeConnection:
    """What the node calls on a connection, recorded."""

    def __init__(self, principal: Principal) -> None:
        self.id = new_id("conn")
        self.principal = principal
        self.subs: dict[str, Any] = {}
        self.items: list[tuple[Any, Encoded]] = []
        self.labels: list[object] = []
        self.ephemeral: list[tuple[dict[str, Any], str]] = []
        self.closed: tuple[int, str] | None = None
        self.resyncs = 0
        self.rechecks = 0
        self.stuck_checks: list[float] = []

    def offer_item(self, item: Any, key: str, seq: int, encoded: Encoded,
                   label: object = None) -> bool:
        assert (key, seq) == (item.feed_key, item.seq)
        self.items.append((item, encoded))
        self.labels.append(label)
        return True

    def check_stuck(self, now: float) -> None:
        self.stuck_checks.append(now)

    def offer_ephemeral(self, encoded: Encoded, kind: str) -> None:
        self.ephemeral.append((encoded.frame, kind))

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def resync(self) -> None:
        self.resyncs += 1

    def schedule_recheck(self) -> None:
        self.rechecks += 1


class Follower:
    def __init__(self) -> None:
        self.heard_events: list[OpEvent] = []
        self.missed_count = 0

    def heard(self, event: OpEvent) -> None:
        self.heard_events.append(event)

    def missed(self) -> None:
        self.missed_count += 1


def _gauge(env: Embedded) -> float | None:
    return env.services.hub.metrics.registry.get_sample_value("liaison_connections")


def _node(env: Embedded) -> Node:
    return env.services.hub.node


async def _conn(env: Embedded, username: str, feed: Feed | None = None) -> FakeConnection:
    conn = FakeConnection(await env.principal(username))
    _node(env).register(conn)  # type: ignore[arg-type]
    if feed is not None:
        await _node(env).add_subscription(conn, feed)  # type: ignore[arg-type]
        conn.subs[feed.key] = type("Sub", (), {"feed": feed})()
    return conn


def _ops_feed(env: Embedded) -> Feed:
    op = env.ops["A"].id
    return Feed(key=f"ops:{op}", operation_id=op, topic=ops_topic(op), chat=False)


def _op_event(env: Embedded, seq: int = 1) -> OpEventPosted:
    event = OpEvent(OperationId(env.ops["A"].id), seq, "case", "created", "case-1", 1, "bruno",
                    env.clock.now(), {"record": {"id": "case-1"}})
    return OpEventPosted(event, time.perf_counter())


async def test_every_subscriber_gets_the_same_encoded_item_once(embedded: Embedded) -> None:
    feed = _ops_feed(embedded)
    a = await _conn(embedded, "alice", feed)
    b = await _conn(embedded, "olga", feed)
    await embedded.services.hub.engine.broker.publish(feed.topic, _op_event(embedded))
    assert len(a.items) == 1 and len(b.items) == 1
    assert a.items[0][1] is b.items[0][1]  # encoded once for every subscriber
    assert a.items[0][0].seq == 1


async def test_a_message_written_to_the_store_reaches_its_channel_subscribers(
        embedded: Embedded) -> None:
    ch = embedded.channels["A/general"]
    feed = Feed(key=ch.id, operation_id=ch.operation_id,
                topic=f"ch:{ch.operation_id}:{ch.id}", chat=True)
    conn = await _conn(embedded, "alice", feed)
    bruno = await embedded.store.get_user_by_name("bruno")
    await embedded.store.append_message(NewMessage(
        channel_id=ch.id, id=new_id("msg"), sender_id=bruno.id, sender="bruno",
        sender_name="Bruno", agency="ARMY", ts=embedded.clock.now(), client_msg_id="c1",
        **chat("hello")))
    [(item, encoded)] = conn.items
    assert isinstance(item, Message) and chat_body(item).text == "hello"
    assert encoded.frame["type"] == "message" and encoded.frame["seq"] == item.seq


async def test_the_last_subscriber_leaving_unsubscribes_the_topic(embedded: Embedded) -> None:
    feed = _ops_feed(embedded)
    a = await _conn(embedded, "alice", feed)
    b = await _conn(embedded, "olga", feed)
    await _node(embedded).remove_subscription(a, feed)  # type: ignore[arg-type]
    broker = embedded.services.hub.engine.broker
    await broker.publish(feed.topic, _op_event(embedded))
    assert a.items == [] and len(b.items) == 1
    await _node(embedded).remove_subscription(b, feed)  # type: ignore[arg-type]
    await broker.publish(feed.topic, _op_event(embedded, 2))
    assert len(b.items) == 1


async def test_a_follower_keeps_the_topic_when_its_last_connection_leaves(
        embedded: Embedded) -> None:
    feed = _ops_feed(embedded)
    node, broker = _node(embedded), embedded.services.hub.engine.broker
    follower = Follower()
    conn = await _conn(embedded, "alice", feed)
    await node.follow(feed.topic, follower)
    await node.remove_subscription(conn, feed)  # type: ignore[arg-type]
    await broker.publish(feed.topic, _op_event(embedded))
    assert [e.seq for e in follower.heard_events] == [1] and conn.items == []
    await node.unfollow(feed.topic, follower)
    await broker.publish(feed.topic, _op_event(embedded, 2))
    assert [e.seq for e in follower.heard_events] == [1]
    await node.unfollow(feed.topic, follower)  # twice is harmless


async def test_a_connection_keeps_the_topic_when_the_follower_leaves(embedded: Embedded) -> None:
    feed = _ops_feed(embedded)
    node, broker = _node(embedded), embedded.services.hub.engine.broker
    follower = Follower()
    await node.follow(feed.topic, follower)
    conn = await _conn(embedded, "alice", feed)
    await node.unfollow(feed.topic, follower)
    await broker.publish(feed.topic, _op_event(embedded))
    assert len(conn.items) == 1 and follower.heard_events == []


async def test_a_resync_refills_every_connection_and_tells_each_follower_once(
        embedded: Embedded) -> None:
    node = _node(embedded)
    follower = Follower()
    for op in embedded.ops.values():
        await node.follow(ops_topic(op.id), follower)
    a = await _conn(embedded, "alice")
    node.handle_event("control", ResyncEvent())
    assert a.resyncs == 1 and follower.missed_count == 1


async def test_typing_is_not_echoed_to_the_typist(embedded: Embedded) -> None:
    ch = embedded.channels["A/general"]
    feed = Feed(key=ch.id, operation_id=ch.operation_id, topic="ch:typing-test", chat=False)
    alice = await _conn(embedded, "alice", feed)
    bruno = await _conn(embedded, "bruno", feed)
    _node(embedded).handle_event(feed.topic, TypingEvent(ChannelId(ch.id), "alice", "Alice",
                                                         "POLICE"))
    assert alice.ephemeral == []
    [(frame, kind)] = bruno.ephemeral
    assert kind == "typing" and frame["user"] == "alice" and frame["channel"] == ch.id


async def test_revoking_a_session_closes_only_its_connections(embedded: Embedded) -> None:
    alice = await _conn(embedded, "alice")
    bruno = await _conn(embedded, "bruno")
    _node(embedded).handle_event("control", ControlEvent(session_id="ses-alice"))
    assert alice.closed == (CloseCode.POLICY, "session revoked") and bruno.closed is None


async def test_revoking_a_user_closes_every_connection_of_theirs(embedded: Embedded) -> None:
    first = await _conn(embedded, "bruno")
    second = await _conn(embedded, "bruno")
    other = await _conn(embedded, "alice")
    _node(embedded).handle_event("control", ControlEvent(user_id=first.principal.user_id))
    assert first.closed is not None and second.closed is not None and other.closed is None


async def test_a_membership_change_rechecks_the_users_subscriptions(embedded: Embedded) -> None:
    bruno = await _conn(embedded, "bruno")
    alice = await _conn(embedded, "alice")
    node = _node(embedded)
    node.handle_event("control", ControlEvent(user_id=bruno.principal.user_id,
                                              reason="membership"))
    assert (bruno.rechecks, alice.rechecks) == (1, 0)
    node.handle_event("control", ControlEvent(reason="membership"))
    assert (bruno.rechecks, alice.rechecks) == (2, 1)


async def test_revocations_made_elsewhere_are_applied_by_the_sweep(embedded: Embedded) -> None:
    bruno = await _conn(embedded, "bruno")
    await embedded.store.revoke_user_sessions(bruno.principal.user_id, embedded.clock.now())
    assert bruno.closed is None  # the store alone tells no one...
    await _node(embedded).sweep()  # ...until the node polls its revocation log
    assert bruno.closed == (CloseCode.POLICY, "session revoked")


async def test_a_login_after_a_users_revocation_survives_the_sweep(embedded: Embedded) -> None:
    """The poll may see the revocation after the user has logged in again: only the
    sessions the store revoked are closed."""
    auth = embedded.services.hub.auth
    _, before, user = await auth.login("bruno", PASSWORD, None, "t")
    old = FakeConnection(Principal(user, before.id, "session", None, None))
    _node(embedded).register(old)  # type: ignore[arg-type]
    await embedded.store.revoke_user_sessions(user.id, embedded.clock.now())
    _, after, _ = await auth.login("bruno", PASSWORD, None, "t")
    new = FakeConnection(Principal(user, after.id, "session", None, None))
    _node(embedded).register(new)  # type: ignore[arg-type]
    await _node(embedded).sweep()
    assert old.closed == (CloseCode.POLICY, "session revoked") and new.closed is None


async def test_the_sweep_closes_sessions_whose_lifetime_ran_out(embedded: Embedded) -> None:
    principal = await embedded.principal("alice")
    short = FakeConnection(dataclasses.replace(principal,
                                               expires_at=embedded.clock.now() + 60))
    _node(embedded).register(short)  # type: ignore[arg-type]
    await _node(embedded).sweep()
    assert short.closed is None
    embedded.clock.advance(61)
    await _node(embedded).sweep()
    assert short.closed is not None and short.closed[0] == CloseCode.SESSION_EXPIRED
    # Each sweep also asks every connection whether a send of its is stuck.
    assert len(short.stuck_checks) == 2 and short.stuck_checks[0] <= short.stuck_checks[1]


async def test_connections_count_against_the_users_limit_until_unregistered(
        embedded: Embedded) -> None:
    node = _node(embedded)
    conns = [FakeConnection(await embedded.principal("bruno")) for _ in range(3)]
    assert await node.admit(conns[0], 2)  # type: ignore[arg-type]
    assert await node.admit(conns[1], 2)  # type: ignore[arg-type]
    assert not await node.admit(conns[2], 2)  # type: ignore[arg-type]
    for c in conns[:2]:
        node.register(c)  # type: ignore[arg-type]
    assert _gauge(embedded) == 2
    await node.unregister(conns[0])  # type: ignore[arg-type]
    assert await node.admit(conns[2], 2)  # type: ignore[arg-type]
    assert _gauge(embedded) == 1


async def test_an_item_published_with_no_subscriber_goes_nowhere(embedded: Embedded) -> None:
    conn = await _conn(embedded, "alice")
    _node(embedded).handle_event("ops:nobody", _op_event(embedded))
    assert conn.items == []


async def test_an_items_label_is_read_once_and_handed_to_every_subscriber(
        embedded: Embedded) -> None:
    """Connections compare it with their clearance; none parses it again (fan-out path)."""
    feed = _ops_feed(embedded)
    conns = [await _conn(embedded, name, feed) for name in ("alice", "bruno")]
    event = OpEvent(OperationId(embedded.ops["A"].id), 1, "case", "created", "case-1", 1,
                    "bruno", embedded.clock.now(),
                    {"record": {"id": "case-1", "label": {"level": "SECRET"}}})
    _node(embedded).handle_event(feed.topic, OpEventPosted(event, time.perf_counter()))
    assert [c.labels for c in conns] == [[Label("SECRET")], [Label("SECRET")]]
    assert conns[0].labels[0] is conns[1].labels[0]
    _node(embedded).handle_event(feed.topic, _op_event(embedded, seq=2))  # no label: None
    assert [c.labels[-1] for c in conns] == [None, None]
