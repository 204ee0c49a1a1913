"""The WebSocket side of the client: hello, subscriptions that resume, an outbox that resends.

A :class:`Client` holds one connection and puts it back when it drops
(the hub restarting, a network cut, a slow-consumer close), with a jittered
backoff. On every (re)connection it says ``hello``, subscribes again to each
feed from the last seq it handed to the bot, and sends again every publish not
acknowledged yet, with its ``client_msg_id``: the hub stores a message once
per id, so nothing is lost and nothing is doubled. Frames a replay delivers a
second time (seq at or below the last one handed over) are dropped.

Close codes the hub uses for "do not come back" (1008 revoked, 4001 refused,
4003 session over, 1009 frame too big) end the client: pending calls fail
with :class:`ClientError` and :meth:`Client.frames` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liaison_client.chat import BODY_FIELDS
from liaison_client.frames import (
    Ack,
    CaseAck,
    ErrorFrame,
    Frame,
    Message,
    OpEvent,
    Reset,
    Subscribed,
    Welcome,
    parse,
)

__all__ = ["Client", "ClientError"]

TERMINAL_CLOSES = frozenset({1008, 1009, 4001, 4003})
_END = object()


class ClientError(Exception):
    """The hub refused something (its error ``code``), or the client had to stop."""

    def __init__(self, code: str, reason: str = "", retryable: bool = False) -> None:
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = code
        self.reason = reason
        self.retryable = retryable


class Client:
    """One bot's connection to the hub (see the module and package docs)."""

    def __init__(self, url: str, token: str, *, fmt: str = "msgpack",
                 name: str = "liaison-client/1", max_backoff: float = 5.0) -> None:
        if fmt not in ("msgpack", "json"):
            raise ValueError("fmt must be 'msgpack' or 'json'")
        self.url = url
        self._token = token
        self._fmt = fmt
        self._name = name
        self._max_backoff = max_backoff
        self.welcome: Welcome | None = None
        self._ws: ClientConnection | None = None
        self._feeds: dict[str, int | None] = {}  # feed -> last seq handed over
        self._outbox: dict[str, dict[str, Any]] = {}  # client_msg_id -> the publish frame
        self._acks: dict[str, asyncio.Future[Ack]] = {}
        self._waiting: dict[str, asyncio.Future[Any]] = {}  # ref -> reply
        self._frames: asyncio.Queue[Any] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.reconnects = 0

    # --- life -------------------------------------------------------------------------

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect (raising :class:`ClientError` if the hub refuses us), then keep connected."""
        await self._connect()
        self._task = asyncio.create_task(self._run(), name="liaison-client")

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._ws is not None:
            await self._ws.close()
        self._end(ClientError("closed", "the client was closed"))

    @property
    def unacknowledged(self) -> int:
        """Publishes waiting for the hub's ack (kept and resent across reconnects)."""
        return len(self._outbox)

    # --- what a bot calls ---------------------------------------------------------------

    async def subscribe(self, feed: str, since_seq: int | None = None) -> Subscribed:
        """Receive a channel's messages or an operation's events (``ops:<op>``), resuming."""
        reply = await self._ask({"type": "subscribe", "channel": feed,
                                 **({"since_seq": since_seq} if since_seq is not None else {})})
        assert isinstance(reply, Subscribed)
        if self._feeds.get(reply.channel) is None:
            self._feeds[reply.channel] = reply.since_seq
        return reply

    async def publish(self, channel: str, text: str, *, priority: str = "normal",
                      client_msg_id: str | None = None, label: str | dict[str, Any] | None = None,
                      ack: str | None = None, real_world: bool = False,
                      attach: Sequence[str] = (), **fields: Any) -> Ack:
        """Post a message; returns once it is durably stored (kept until then).

        ``label``: its own confidentiality label, narrower than its channel's (a level
        name or ``{"level", "categories"}``); ``ack="each_agency"`` on an urgent message:
        every agency must acknowledge it; ``real_world``: a real event in an exercise;
        ``attach``: ids of finished uploads (tus, ``/api/uploads``) to carry as its files.
        ``fields``: the rest of what a message may say (``BODY_FIELDS`` of
        :mod:`liaison_client.chat`, e.g. ``reply_to=<seq>`` for a threaded reply).
        """
        unknown = set(fields) - set(BODY_FIELDS)
        if unknown:
            raise TypeError(f"a message has no field {sorted(unknown)[0]!r}")
        cmid = client_msg_id or uuid.uuid4().hex
        if cmid not in self._acks:
            self._acks[cmid] = asyncio.get_running_loop().create_future()
            self._outbox[cmid] = {
                "type": "publish", "channel": channel, "text": text, "client_msg_id": cmid,
                "priority": priority, "ref": cmid, **({"label": label} if label else {}),
                **({"ack": ack} if ack else {}), **({"real_world": True} if real_world else {}),
                **({"attach": list(attach)} if attach else {}),
                **{k: v for k, v in fields.items() if v is not None}}
            await self._send_publish(cmid)
        return await asyncio.shield(self._acks[cmid])

    async def case(self, operation: str, action: str, data: dict[str, Any],
                   case: str | None = None) -> CaseAck:
        """Create, update or comment on a case (give ``data["idempotency_key"]`` to retry)."""
        reply = await self._ask({"type": "case", "operation": operation, "action": action,
                                 "data": data, **({"case": case} if case else {})})
        assert isinstance(reply, CaseAck)
        return reply

    async def frames(self) -> AsyncIterator[Frame]:
        """Messages, op events, resets and the rest, in order, each once."""
        while True:
            item = await self._frames.get()
            if item is _END:
                self._frames.put_nowait(_END)
                return
            yield item

    # --- the connection -------------------------------------------------------------------

    def _encode(self, frame: dict[str, Any]) -> str | bytes:
        return msgpack.packb(frame) if self._fmt == "msgpack" else json.dumps(frame)

    def _decode(self, data: str | bytes) -> dict[str, Any]:
        value = msgpack.unpackb(data) if isinstance(data, bytes) else json.loads(data)
        return value if isinstance(value, dict) else {}

    async def _connect(self) -> None:
        ws = await connect(self.url, subprotocols=[f"liaison.v1.{self._fmt}"],  # type: ignore[list-item]
                           max_size=1024 * 1024, open_timeout=10)
        await ws.send(self._encode({"type": "hello", "token": self._token, "client": self._name,
                                    "ref": "hello"}))
        reply = parse(self._decode(await asyncio.wait_for(ws.recv(), 10)))
        if isinstance(reply, ErrorFrame):
            await ws.close()
            raise ClientError(reply.code, reply.reason, reply.retryable)
        assert isinstance(reply, Welcome)
        self.welcome, self._ws = reply, ws
        for feed, last in self._feeds.items():  # resume where the bot is
            frame: dict[str, Any] = {"type": "subscribe", "channel": feed, "ref": f"re:{feed}"}
            if last is not None:
                frame["since_seq"] = last
            await ws.send(self._encode(frame))
        for cmid in list(self._outbox):
            await self._send_publish(cmid)
        self._connected.set()

    async def _run(self) -> None:
        while not self._closed:
            ws = self._ws
            assert ws is not None
            try:
                async for data in ws:
                    self._handle(self._decode(data))
            except ConnectionClosed:
                pass
            self._connected.clear()
            code = ws.close_code
            if self._closed:
                return
            if code in TERMINAL_CLOSES:
                self._end(ClientError("closed", f"the hub closed the connection ({code})"))
                return
            await self._reconnect()

    async def _reconnect(self) -> None:
        wait = 0.1
        while not self._closed:
            await asyncio.sleep(wait * (0.5 + random.random()))
            try:
                await self._connect()
                self.reconnects += 1
                return
            except ClientError as exc:
                if not exc.retryable:
                    self._end(exc)
                    self._closed = True
                    return
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError):
                pass
            wait = min(self._max_backoff, wait * 2)

    async def _send(self, frame: dict[str, Any]) -> bool:
        ws = self._ws
        if ws is None or (not self._connected.is_set() and frame.get("type") != "publish"):
            return False
        try:
            await ws.send(self._encode(frame))
            return True
        except ConnectionClosed:
            return False  # resent after the reconnect

    async def _send_publish(self, cmid: str) -> None:
        if cmid not in self._outbox or self._ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(self._encode(self._outbox[cmid]))

    async def _ask(self, frame: dict[str, Any]) -> Frame:
        ref = uuid.uuid4().hex[:16]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        while True:
            await self._connected.wait()
            if await self._send({**frame, "ref": ref}):
                break
        try:
            return await asyncio.wait_for(future, 30)
        finally:
            self._waiting.pop(ref, None)

    def _handle(self, d: dict[str, Any]) -> None:
        frame = parse(d)
        if isinstance(frame, Message | OpEvent):
            last = self._feeds.get(frame.feed)
            if last is not None and frame.seq <= last:
                return  # replayed twice: handed over already
            self._feeds[frame.feed] = frame.seq
            self._frames.put_nowait(frame)
        elif isinstance(frame, Ack):
            self._outbox.pop(frame.client_msg_id, None)
            future = self._acks.pop(frame.client_msg_id, None)
            if future is not None and not future.done():
                future.set_result(frame)
        elif isinstance(frame, ErrorFrame) and frame.ref in self._acks:
            self._publish_refused(frame)
        elif isinstance(frame, ErrorFrame | Subscribed | CaseAck) and frame.ref in self._waiting:
            reply = self._waiting.pop(str(frame.ref))
            if isinstance(frame, ErrorFrame):
                reply.set_exception(ClientError(frame.code, frame.reason, frame.retryable))
            else:
                reply.set_result(frame)
        elif isinstance(frame, Subscribed):
            if self._feeds.get(frame.channel) is None:
                self._feeds[frame.channel] = frame.since_seq
        else:
            if isinstance(frame, Reset):
                self._feeds[frame.channel] = frame.head_seq
            self._frames.put_nowait(frame)

    def _publish_refused(self, frame: ErrorFrame) -> None:
        cmid = str(frame.ref)
        if frame.retryable:  # rate limited, store unavailable: the same id again later
            loop = asyncio.get_running_loop()
            loop.call_later(frame.retry_after or 1.0,
                            lambda: loop.create_task(self._send_publish(cmid)))
            return
        self._outbox.pop(cmid, None)
        future = self._acks.pop(cmid, None)
        if future is not None and not future.done():
            future.set_exception(ClientError(frame.code, frame.reason, False))

    def _end(self, error: ClientError) -> None:
        for future in [*self._acks.values(), *self._waiting.values()]:
            if not future.done():
                future.set_exception(error)
        self._acks.clear()
        self._waiting.clear()
        self._frames.put_nowait(_END)
