"""hub/gateway.py without sockets: a transport double, the real embedded store and broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from channels.bodies import ChatBody
from channels.bodies import PublishFrame as Publish
from hub.bodies import Reply
from hub.clock import ManualClock
from hub.engine.port import NewMessage
from hub.errors import CloseCode, ErrorCode, LimitExceeded
from hub.feeds import Feed
from hub.gateway import FLOOD_CLOSE_AFTER, Connection
from hub.handlers import FeedSnapshot, FrameSession, Handlers
from hub.models import new_id
from hub.principal import Principal
from hub.protocol import Encoded, WireFormat
from liaison.app import Services
from tests.chat import chat
from tests.conftest import Embedded


class Transport:
    """Records what the connection sends; ``block`` makes sends hang (a stalled peer).

    With ``direct`` it also takes frames written straight to the socket, as the
    hub's own protocol does, unless ``paused`` (back-pressure)."""

    def __init__(self, *, direct: bool = False) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.arrived = asyncio.Event()
        self.block = False
        self.paused = False
        self.written_now = 0
        self.write_now = self._write_now if direct else None
        self.end_receive = None

    def _write_now(self, frame: bytes) -> bool:
        if self.paused or self.block:
            return False
        size = frame[1] & 0x7F
        start = 2 if size < 126 else 4 if size == 126 else 10
        assert frame[0] == 0x81  # a final text frame
        self.frames.append(json.loads(frame[start:].decode()))
        self.written_now += 1
        self.arrived.set()
        return True

    async def send(self, data: str | bytes) -> None:
        if self.block:
            await asyncio.Event().wait()
        assert isinstance(data, str)
        self.frames.append(json.loads(data))
        self.arrived.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    async def next(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The first frame of ``kind`` not taken yet."""
        async def find() -> dict[str, Any]:
            while True:
                for i, frame in enumerate(self.frames):
                    if frame["type"] == kind:
                        return self.frames.pop(i)
                self.arrived.clear()
                await self.arrived.wait()
        return await asyncio.wait_for(find(), timeout)


class World:
    def __init__(self, services: Services, clock: ManualClock) -> None:
        self.services = services
        self.clock = clock
        self.ops: dict[str, Any] = {}
        self.channels: dict[str, Any] = {}
        self.conns: list[Connection] = []

    async def principal(self, username: str) -> Principal:
        user = await self.services.hub.engine.store.get_user_by_name(username)
        assert user is not None
        return Principal(user, f"ses-{username}", "session", None, None)

    async def connect(self, username: str, *, handlers: Handlers | None = None,
                      queue: int | None = None,
                      direct: bool = False) -> tuple[Connection, Transport]:
        core = self.services.hub
        settings = core.settings if queue is None else core.settings.replace(
            send_queue_frames=queue)
        transport = Transport(direct=direct)
        conn = Connection(transport=transport, fmt=WireFormat.JSON,
                          principal=await self.principal(username), node=core.node,
                          handlers=handlers or core.handlers, feeds=core.feeds,
                          settings=settings, client="127.0.0.1")
        core.node.register(conn)
        self.conns.append(conn)
        return conn, transport

    async def publish(self, username: str, channel: str, text: str) -> int:
        message, _ = await self.services.channels.messages.publish(
            await self.principal(username), self.channels[channel].id, body=ChatBody(text=text),
            client_msg_id=f"m-{text}", client="t")
        return message.seq


@pytest.fixture
async def world(embedded: Embedded) -> AsyncIterator[World]:
    w = World(embedded.services, embedded.clock)
    w.ops, w.channels = embedded.ops, embedded.channels
    yield w
    for conn in w.conns:
        await asyncio.wait_for(conn.finish(), 10)


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "ref": "r1", **fields})


async def test_ping_is_answered_with_the_hub_clock(world: World) -> None:
    conn, transport = await world.connect("alice")
    await conn.handle(frame("ping"))
    pong = await transport.next("pong")
    assert pong == {"type": "pong", "ref": "r1", "ts": world.clock.now()}


async def test_a_second_hello_and_an_invalid_frame_are_refused_with_their_ref(
        world: World) -> None:
    conn, transport = await world.connect("alice")
    await conn.handle(frame("hello", token="x"))
    error = await transport.next("error")
    assert error["code"] == "bad_request" and error["ref"] == "r1"
    await conn.handle('{"type": "publish", "ref": "r2", "channel": 5}')
    error = await transport.next("error")
    assert error["ref"] == "r2" and error["retryable"] is False


async def test_a_frame_no_feature_registered_is_refused_not_crashed(world: World) -> None:
    conn, transport = await world.connect("alice", handlers=Handlers())
    await conn.handle(frame("publish", channel=world.channels["A/general"].id, text="hi",
                            client_msg_id="c1"))
    error = await transport.next("error")
    assert error["code"] == "unknown_type" and "publish" in error["reason"]
    assert not conn.closed.is_set()


async def test_registered_handlers_receive_the_session_and_the_typed_frame(
        world: World) -> None:
    seen: list[tuple[FrameSession, Publish]] = []
    handlers = Handlers()

    async def on_publish(session: FrameSession, f: Publish) -> None:
        seen.append((session, f))
        session.send({"type": "ack", "ref": f.ref})

    handlers.on_frame(Publish, on_publish)
    with pytest.raises(ValueError, match="registered already"):
        handlers.on_frame(Publish, on_publish)
    conn, transport = await world.connect("alice", handlers=handlers)
    await conn.handle(frame("publish", channel="ch_x", text="hi", client_msg_id="c1"))
    assert (await transport.next("ack"))["ref"] == "r1"
    session, f = seen[0]
    assert session is conn and session.principal.username == "alice"
    assert isinstance(f, Publish) and f.text == "hi"


async def test_subscribe_replays_what_was_missed_then_goes_live_without_gap(
        world: World) -> None:
    seqs = [await world.publish("alice", "A/general", f"before {i}") for i in range(3)]
    conn, transport = await world.connect("bruno")
    await conn.handle(frame("subscribe", channel=world.channels["A/general"].id,
                            since_seq=seqs[0]))
    subscribed = await transport.next("subscribed")
    assert subscribed["since_seq"] == seqs[0] and subscribed["head_seq"] == seqs[-1]
    replayed = [await transport.next("message") for _ in range(2)]
    assert [m["seq"] for m in replayed] == seqs[1:]
    live = await world.publish("alice", "A/general", "after")
    assert (await transport.next("message"))["seq"] == live
    # Live, the subscription keeps no finished catch-up task (idle memory per socket).
    sub = conn.subs[world.channels["A/general"].id]
    await asyncio.wait_for(_until(lambda: sub.task is None), 10)
    assert sub.live


async def test_a_gap_in_live_items_is_filled_from_the_store(world: World) -> None:
    conn, transport = await world.connect("bruno")
    ch = world.channels["A/general"].id
    await conn.handle(frame("subscribe", channel=ch))
    await transport.next("subscribed")
    await asyncio.wait_for(_until(lambda: conn.subs[ch].live), 10)
    # The broker drops both events (the topic is not listened to while they are
    # stored); then only the second one arrives live.
    core = world.services.hub
    topic = conn.subs[ch].feed.topic
    await core.engine.broker.unsubscribe(topic)
    principal = await world.principal("alice")
    rows = []
    for text in ("missed", "seen"):
        message, _ = await core.engine.store.append_message(NewMessage(
            channel_id=ch, id=new_id("msg"), sender_id=principal.user_id, sender="alice",
            sender_name="Alice", agency="POLICE", ts=world.clock.now(), client_msg_id=f"x-{text}",
            **chat(text)))
        rows.append(message)
    await core.engine.broker.subscribe(topic)
    delivered: int = conn.subs[ch].last_seq
    assert delivered == rows[0].seq - 1  # nothing was delivered live
    conn.offer_item(rows[1], rows[1].feed_key, rows[1].seq, Encoded(rows[1].frame()))
    got = [await transport.next("message") for _ in range(2)]
    assert [m["seq"] for m in got] == [rows[0].seq, rows[1].seq]
    assert [m["text"] for m in got] == ["missed", "seen"]
    await asyncio.wait_for(_until(lambda: conn.subs[ch].live), 10)
    assert conn.subs[ch].last_seq == rows[1].seq
    assert not [f for f in transport.frames if f["type"] == "message"]  # no duplicate



class Board(Reply, tag="board", kw_only=True, frozen=True):
    ref: str | None = None
    channel: str
    version: int

async def test_a_snapshot_provider_answers_subscribe_and_its_failure_drops_it(
        world: World) -> None:
    handlers = Handlers()
    calls: list[Feed] = []

    async def board(session: FrameSession, feed: Feed) -> FeedSnapshot:
        calls.append(feed)
        if not feed.key.startswith("ops:"):
            raise LimitExceeded("no board here", code=ErrorCode.BAD_REQUEST)
        return FeedSnapshot(0, Board(channel=feed.key, version=0))

    handlers.on_snapshot("board", board)
    conn, transport = await world.connect("alice", handlers=handlers)
    op_key = f"ops:{world.ops['A'].id}"
    await conn.handle(frame("subscribe", channel=op_key, board=True))
    subscribed = await transport.next("subscribed")
    snapshot = await transport.next("board")
    assert subscribed["since_seq"] == 0 and snapshot == {
        "type": "board", "channel": op_key, "version": 0, "ref": "r1"}
    ch = world.channels["A/general"].id
    await conn.handle(frame("subscribe", channel=ch, board=True))
    assert (await transport.next("error"))["reason"] == "no board here"
    assert ch not in conn.subs and op_key in conn.subs and len(calls) == 2


async def test_consecutive_rate_limit_refusals_close_the_connection(world: World) -> None:
    handlers = Handlers()
    limited = True

    async def publish(session: FrameSession, f: Publish) -> None:
        if limited:
            raise LimitExceeded("slow down", code=ErrorCode.RATE_LIMITED, retry_after=1.0)

    handlers.on_frame(Publish, publish)
    conn, transport = await world.connect("alice", handlers=handlers)
    body = frame("publish", channel="c", text="x", client_msg_id="c1")
    await conn.handle(body)
    error = await transport.next("error")
    assert error["code"] == "rate_limited" and error["retry_after"] == 1.0
    for _ in range(FLOOD_CLOSE_AFTER - 2):
        await conn.handle(body)
    limited = False
    await conn.handle(body)  # one accepted frame: only consecutive refusals count
    limited = True
    for _ in range(FLOOD_CLOSE_AFTER - 1):
        await conn.handle(body)
    assert not conn.closed.is_set()
    await conn.handle(body)
    assert conn.closed.is_set() and conn.close_code == CloseCode.FLOODING
    await asyncio.wait_for(_until(lambda: transport.closed is not None), 10)
    assert transport.closed is not None and transport.closed[0] == CloseCode.FLOODING


async def test_a_stalled_reader_is_closed_when_its_queue_overflows(world: World) -> None:
    conn, transport = await world.connect("bruno", queue=4)
    transport.block = True
    for _ in range(8):
        conn.send({"type": "pong"})
    assert conn.closed.is_set() and conn.close_code == CloseCode.SLOW_CONSUMER


async def test_frames_queued_together_go_out_in_order_and_a_stuck_send_times_out(
        world: World) -> None:
    conn, transport = await world.connect("bruno")
    for i in range(50):  # queued before the writer runs: sent as one batch, in order
        conn.send({"type": "pong", "ref": str(i)})
    for i in range(50):
        assert (await transport.next("pong"))["ref"] == str(i)
    core = world.services.hub
    stuck = Transport()
    stuck.block = True
    slow = Connection(transport=stuck, fmt=WireFormat.JSON,
                      principal=await world.principal("olga"), node=core.node,
                      handlers=core.handlers, feeds=core.feeds,
                      settings=core.settings.replace(send_timeout_seconds=0.2),
                      client="127.0.0.1")
    core.node.register(slow)
    world.conns.append(slow)
    slow.send({"type": "pong"})
    await asyncio.wait_for(_until(lambda: slow.outbox.sending_since is not None), 10)
    since = slow.outbox.sending_since
    assert since is not None
    slow.check_stuck(since + 0.1)  # not yet too long
    assert not slow.closed.is_set()
    async with asyncio.timeout(10):  # the node's sweep finds it once it is
        while not slow.closed.is_set():
            await core.node.sweep()
            await asyncio.sleep(0.05)
    assert slow.close_code == CloseCode.SLOW_CONSUMER
    assert conn.outbox.sending_since is None  # the healthy one is idle, not "sending"


async def test_frames_go_straight_to_the_socket_until_it_pushes_back_and_order_holds(
        world: World) -> None:
    conn, transport = await world.connect("bruno", direct=True)
    conn.send({"type": "pong", "ref": "0"})
    assert transport.frames == [{"type": "pong", "ref": "0"}]  # written at once, no task
    assert conn.outbox.writer is None
    transport.paused = True  # the socket's buffer is full: frames wait in the queue
    conn.send({"type": "pong", "ref": "1"})
    conn.send({"type": "pong", "ref": "2"})
    transport.paused = False
    conn.send({"type": "pong", "ref": "3"})  # the socket could take it, but 1 and 2 wait
    assert [f["ref"] for f in transport.frames] == ["0"] and conn.outbox.writer is not None
    for ref in ("0", "1", "2", "3"):
        assert (await transport.next("pong"))["ref"] == ref
    await asyncio.wait_for(_until(lambda: conn.outbox.sending_since is None), 10)
    conn.send({"type": "pong", "ref": "4"})  # the queue drained: straight out again
    assert transport.frames == [{"type": "pong", "ref": "4"}]
    assert transport.written_now == 2


async def test_typing_needs_a_subscription_to_a_chat_channel(world: World) -> None:
    conn, transport = await world.connect("alice")
    await conn.handle(frame("typing", channel=world.channels["A/general"].id))
    assert (await transport.next("error"))["code"] == "not_subscribed"


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.01)
