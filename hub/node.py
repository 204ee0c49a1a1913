"""This hub process's connections and their fan-out.

The broker hands every event of a subscribed topic to :meth:`Node.handle_event`
on the event loop. A message event is encoded once per wire format
(:class:`hub.protocol.Encoded`) and offered to each local subscriber, which
only appends to its own bounded queue: a slow subscriber never delays the
others, and overflowing its queue closes that connection alone
(:data:`CloseCode.SLOW_CONSUMER`).

The node also closes sockets whose session was revoked (control events from
this process, plus a poll of the store's revocation log so revocations made
by the CLI or another process take effect within ``revocation_poll_seconds``),
and closes sockets whose session lifetime ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgpack

from hub.clock import Clock
from hub.engine.port import Broker, Limits, Presence, PresenceEntry, Store
from hub.errors import CloseCode, HubError
from hub.feeds import Feed
from hub.gcpolicy import GcPolicy
from hub.labels import Policy
from hub.metrics import Metrics
from hub.models import (
    CONTROL_TOPIC,
    ChannelId,
    ControlEvent,
    Event,
    MessageEvent,
    OpEventPosted,
    PresenceEvent,
    RedactedEvent,
    ResyncEvent,
    TranslatedEvent,
    TypingEvent,
    UserId,
    new_id,
)
from hub.protocol import Encoded

if TYPE_CHECKING:
    from hub.gateway import Connection
    from hub.handlers import LogFollower

__all__ = ["Node", "cancel_all"]

log = logging.getLogger("hub.node")

KEEPALIVE_SECONDS = 300.0


async def cancel_all(tasks: list[asyncio.Task[None]], grace: float = 5.0) -> None:
    """Cancel tasks and wait for them, without trusting every library to honour it.

    Some client libraries swallow a CancelledError raised inside their I/O; the
    loops here also check a stop flag, and the wait is bounded regardless.
    """
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)


class Node:
    def __init__(self, *, store: Store, broker: Broker, presence: Presence, clock: Clock,
                 metrics: Metrics, revocation_poll_seconds: float, limits: Limits,
                 presence_heartbeat_seconds: float = 10.0,
                 gc_policy: GcPolicy | None = None, labels: Policy | None = None,
                 node_id: str | None = None) -> None:
        self.id = node_id or new_id("node")
        self.labels = labels or Policy()  # reads the label an item carries, once per item
        self.store = store
        self.broker = broker
        self.presence = presence
        self.limits = limits
        self.clock = clock
        self.metrics = metrics
        self._poll_every = revocation_poll_seconds
        self.connections: set[Connection] = set()
        self._by_user: dict[UserId, set[Connection]] = defaultdict(set)
        self._topics: dict[str, set[Connection]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._revocation_seq = 0
        self._last_keepalive = 0.0
        self._heartbeat_every = presence_heartbeat_seconds
        self._last_heartbeat = 0.0
        self._local_topics: dict[ChannelId, str] = {}
        self._stopping = False
        self._gc = gc_policy or GcPolicy(enabled=False, full_every=600.0)
        self.started = False
        self._followers: dict[str, set[LogFollower]] = {}
        #: Called on every control event and resync (the composition root adds the access
        #: checks' forgetting: a membership, channel or operation changed somewhere).
        self.on_control: list[Callable[[], None]] = []
        #: Called at every housekeeping sweep (the audit trail's timed checkpoints).
        self.on_sweep: list[Callable[[], Awaitable[None]]] = []

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start(self.handle_event)
        await self.broker.subscribe(CONTROL_TOPIC)
        revs = await self.store.revocations_since(0)
        self._revocation_seq = revs[-1].seq if revs else 0
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="node-housekeeping"))
        self.started = True

    async def stop(self) -> None:
        self._stopping = True
        tasks, self._tasks = list(self._tasks), []
        await cancel_all(tasks)
        self._gc.release()
        for conn in list(self.connections):
            conn.close(CloseCode.GOING_AWAY, "hub shutting down")
        await self.broker.close()
        self.started = False

    # --- registry ------------------------------------------------------------------

    async def admit(self, conn: Connection, limit: int) -> bool:
        """Count ``conn`` against its user's connection limit, across every process."""
        return await self.limits.admit(conn.principal.user_id, conn.id, limit)

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._by_user[conn.principal.user_id].add(conn)
        self.metrics.connections.set(len(self.connections))

    async def unregister(self, conn: Connection) -> None:
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        users = self._by_user.get(conn.principal.user_id)
        if users is not None:
            users.discard(conn)
            if not users:
                del self._by_user[conn.principal.user_id]
        self.metrics.connections.set(len(self.connections))
        try:
            await self.limits.release(conn.principal.user_id, conn.id)
        except HubError:
            log.warning("could not release a connection slot; it expires by itself")
        for sub in list(conn.subs.values()):
            await self.remove_subscription(conn, sub.feed)

    async def add_subscription(self, conn: Connection, feed: Feed) -> None:
        topic = feed.topic
        conns = self._topics.get(topic)
        if conns is None:
            conns = self._topics[topic] = set()
            if topic not in self._followers:
                await self.broker.subscribe(topic)
        conns.add(conn)
        if not feed.chat:
            return
        ch_id = ChannelId(feed.key)
        self._local_topics[ch_id] = topic
        if await self.presence.join(ch_id, self._who(conn), conn.id):
            await self.broker.publish(topic, PresenceEvent(ch_id))
        else:
            await self.send_presence(conn, ch_id)

    async def remove_subscription(self, conn: Connection, feed: Feed) -> None:
        topic = feed.topic
        conns = self._topics.get(topic)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._topics[topic]
                self._local_topics.pop(ChannelId(feed.key), None)
                if topic not in self._followers:
                    await self.broker.unsubscribe(topic)
        if feed.chat and await self.presence.leave(ChannelId(feed.key), self._who(conn),
                                                   conn.id):
            await self.broker.publish(topic, PresenceEvent(ChannelId(feed.key)))

    async def follow(self, topic: str, follower: LogFollower) -> None:
        """Tell ``follower`` of every op event published on ``topic`` (see hub.handlers)."""
        followers = self._followers.get(topic)
        if followers is None:
            followers = self._followers[topic] = set()
            if topic not in self._topics:
                await self.broker.subscribe(topic)
        followers.add(follower)

    async def unfollow(self, topic: str, follower: LogFollower) -> None:
        followers = self._followers.get(topic)
        if followers is None:
            return
        followers.discard(follower)
        if not followers:
            del self._followers[topic]
            if topic not in self._topics:
                await self.broker.unsubscribe(topic)

    @staticmethod
    def _who(conn: Connection) -> PresenceEntry:
        user = conn.principal.user
        return PresenceEntry(user.username, user.display_name, user.agency)

    # --- fan-out -------------------------------------------------------------------

    def handle_event(self, topic: str, event: Event) -> None:
        """Broker callback: deliver one event to every local subscriber of ``topic``."""
        if isinstance(event, ControlEvent | ResyncEvent):
            for forget in self.on_control:
                forget()
        if isinstance(event, ControlEvent):
            self._apply_control(event)
            return
        if isinstance(event, ResyncEvent):
            for conn in tuple(self.connections):
                conn.resync()
            for follower in {f for fs in self._followers.values() for f in fs}:
                follower.missed()
            return
        if isinstance(event, OpEventPosted):
            for follower in tuple(self._followers.get(topic, ())):
                follower.heard(event.event)
        conns = self._topics.get(topic)
        if not conns:
            return
        if isinstance(event, MessageEvent | OpEventPosted):
            item = event.message if isinstance(event, MessageEvent) else event.event
            encoded = Encoded(item.frame())
            key, seq = item.feed_key, item.seq
            raw = getattr(item, "label", None)  # an op event's record's, a message's own
            label = None if raw is None else self.labels.of_record(raw)
            delivered = 0
            for conn in tuple(conns):
                delivered += conn.offer_item(item, key, seq, encoded, label)
            self.metrics.out_message.inc(delivered)
            self.metrics.fanout_latency.observe(time.perf_counter() - event.published_at)
        elif isinstance(event, TypingEvent):
            encoded = Encoded({"type": "typing", "channel": event.channel_id,
                               "user": event.user, "display_name": event.display_name,
                               "agency": event.agency})
            for conn in tuple(conns):
                if conn.principal.username != event.user:
                    conn.offer_ephemeral(encoded, "typing")
        elif isinstance(event, RedactedEvent):
            encoded = Encoded({"type": "redacted", "channel": event.channel_id,
                               "seq": event.seq, "by": event.by, "at": event.at})
            label = self.labels.of_record(json.loads(event.label_json)) \
                if event.label_json else None
            for conn in tuple(conns):
                if conn.may_see(label):  # who never had the message hears nothing of it
                    conn.offer_ephemeral(encoded, "redacted")
        elif isinstance(event, TranslatedEvent):
            where = {"case": event.case, "version": event.seq} if event.case \
                else {"alert": event.alert} if event.alert else {"seq": event.seq}
            encoded = Encoded({"type": "translated", "channel": event.channel_id, **where,
                               "lang": event.lang,
                               "translation": msgpack.unpackb(event.note)})
            label = self.labels.of_record(json.loads(event.label_json)) \
                if event.label_json else None
            for conn in tuple(conns):  # its readers in that language (or in every one)
                if conn.lang in (None, event.lang) and conn.may_see(label):
                    conn.offer_ephemeral(encoded, "translated")
        elif isinstance(event, PresenceEvent):
            task = asyncio.get_running_loop().create_task(self._broadcast_presence(topic,
                                                                                   event))
            self._tasks.append(task)
            task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _presence_frame(self, ch_id: ChannelId) -> Encoded:
        users = await self.presence.members(ch_id)
        return Encoded({"type": "presence", "channel": ch_id,
                        "users": [{"username": u.username, "display_name": u.display_name,
                                   "agency": u.agency} for u in users]})

    async def _broadcast_presence(self, topic: str, event: PresenceEvent) -> None:
        encoded = await self._presence_frame(event.channel_id)
        for conn in tuple(self._topics.get(topic, ())):
            conn.offer_ephemeral(encoded, "presence")

    async def send_presence(self, conn: Connection, ch_id: ChannelId) -> None:
        conn.offer_ephemeral(await self._presence_frame(ch_id), "presence")

    # --- revocation and expiry -----------------------------------------------------

    def _apply_control(self, event: ControlEvent) -> None:
        if event.reason == "access":  # only what the access checks read changed
            return
        if event.reason == "membership":
            targets = (self._by_user.get(event.user_id, set()) if event.user_id
                       else self.connections)
            for conn in tuple(targets):
                conn.schedule_recheck()
            return
        for conn in tuple(self.connections):
            if (event.session_id and conn.principal.session_id == event.session_id) or \
                    (event.user_id and conn.principal.user_id == event.user_id):
                conn.close(CloseCode.POLICY, "session revoked")

    async def _close_revoked(self, user_id: UserId) -> None:
        """All of a user's sessions were revoked (a password or clearance change): close
        their sockets whose session the store says is revoked, not one opened since by
        a new login, which the poll may find before or after the revocation."""
        for conn in tuple(self._by_user.get(user_id, ())):
            session = await self.store.get_session_by_id(conn.principal.session_id)
            if session is None or session.revoked_at is not None:
                conn.close(CloseCode.POLICY, "session revoked")

    async def _housekeeping(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._poll_every)
            try:
                await self.sweep()
            except Exception:
                log.exception("housekeeping failed")
            self._gc.tick()

    async def sweep(self) -> None:
        """Apply new revocations, close expired sessions, keep live sessions alive."""
        for rev in await self.store.revocations_since(self._revocation_seq):
            self._revocation_seq = rev.seq
            if rev.session_id is None and rev.user_id:
                await self._close_revoked(UserId(rev.user_id))
            else:
                self._apply_control(ControlEvent(session_id=rev.session_id,
                                                 user_id=rev.user_id))
        now = self.clock.now()
        loop_now = asyncio.get_running_loop().time()
        for conn in tuple(self.connections):
            expires = conn.principal.expires_at
            if expires is not None and now >= expires:
                conn.close(CloseCode.SESSION_EXPIRED, "session expired")
            conn.check_stuck(loop_now)
        if now - self._last_heartbeat >= self._heartbeat_every:
            self._last_heartbeat = now
            await self.presence.heartbeat()
            await self.limits.heartbeat()
            for ch_id in await self.presence.sweep():
                topic = self._local_topics.get(ch_id)
                if topic is not None:
                    await self.broker.publish(topic, PresenceEvent(ch_id))
        for task in self.on_sweep:
            await task()
        if now - self._last_keepalive >= KEEPALIVE_SECONDS:
            self._last_keepalive = now
            for session_id in {c.principal.session_id for c in self.connections}:
                await self.store.touch_session(session_id, now)
