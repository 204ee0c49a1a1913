"""The WebSocket server protocol: uvicorn's sans-I/O one, plus a direct write.

ASGI sends each frame through ``await send({"type": "websocket.send", ...})``:
several awaits, a frame built per connection, and (for a server that queues
per connection) a task wake-up per delivery. For fan-out that is most of the
cost. This protocol offers the application one more thing through the ASGI
scope's ``extensions`` (key :data:`DIRECT_WRITE`): a synchronous
``write(frame) -> bool`` that puts an already built frame (:mod:`hub.wsframe`)
on the socket *if the socket can take it now* (handshake done, no close sent,
the transport not paused by back-pressure) and says False otherwise, when the
caller queues as before; and ``end_receive()``, which makes the application's
pending ``receive`` return a disconnect once the hub has closed the
connection. Everything else (handshake, reading, pings, close) is uvicorn's.

The measurements behind this choice are in docs/performance.md; the design in
docs/architecture.md ("Sending to a socket").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol

from hub.lightsync import Flag, Inbox

__all__ = ["DIRECT_WRITE", "HubWebSocketProtocol", "WebSocketFirst"]

#: The ASGI scope extension the hub's endpoint looks for.
DIRECT_WRITE = "liaison.direct_write"


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The same calls as asyncio's Queue and Event, without their up-front deques:
        # these two are idle for nearly the whole life of a socket (hub.lightsync).
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Flag(True)  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)
        if scope is not None:  # the app task is created, not yet run: it will see this
            scope["extensions"][DIRECT_WRITE] = {"write": self.write_frame,
                                                 "end_receive": self.end_receive}

    def start_keepalive(self) -> None:
        """Called once the handshake response is sent: its request and response (with
        every header) are not needed again, and idle connections are most of a hub."""
        super().start_keepalive()
        self.request = self.response = None  # type: ignore[assignment]
        _drop_handshake_parser(self.conn)

    def write_frame(self, frame: bytes) -> bool:
        """Write ``frame`` now if the socket takes it without queueing; else False."""
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or not self.writable.is_set() or self.transport.is_closing()):
            return False
        self.transport.write(frame)
        return True

    def end_receive(self) -> None:
        """Make the application's pending (or next) ``receive`` return a disconnect: the
        hub closed the connection, so its read loop stops without racing a second
        task against every read."""
        self.queue.put_nowait({"type": "websocket.disconnect", "code": 1000})


def _drop_handshake_parser(conn: ServerProtocol) -> None:
    """Swap the server's parser for the plain frame parser, when that is exact.

    ``ServerProtocol.parse`` parses the handshake request into a local variable,
    then delegates to the frame parser for the rest of the connection: the
    request, every header of it, stays alive in the suspended generator. When
    the frame parser is between frames (waiting at ``at_eof`` with nothing
    buffered), a fresh frame parser is in exactly the same state, minus the
    request; otherwise (a client that sent part of a frame with its handshake)
    leave it: nothing is lost but a little memory.
    """
    parser = conn.parser
    inner = getattr(parser, "gi_yieldfrom", None)
    waiting = getattr(inner, "gi_yieldfrom", None)
    code = getattr(waiting, "gi_code", None)
    if (inner is None or getattr(code, "co_name", None) != "at_eof"
            or conn.reader.buffer or conn.state is not State.OPEN):
        return
    fresh = Protocol.parse(conn)
    next(fresh)  # runs to at_eof and waits there, as the old one did
    conn.parser = fresh
    parser.close()


class WebSocketFirst:
    """The ASGI entry point: a WebSocket to ``path`` goes straight to ``endpoint``,
    everything else (HTTP, lifespan) to the Starlette app.

    Through Starlette, each socket's task keeps the whole chain of middleware,
    router and exception-handler coroutines alive for as long as it is open
    (about 4 KiB per idle connection); none of them does anything for the
    hub's WebSocket, which checks its own origin and authentication.
    """

    def __init__(self, app: ASGIApp, path: str,
                 endpoint: Callable[[WebSocket], Awaitable[None]]) -> None:
        self.app = app
        self._path = path
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == self._path:
            scope["app"] = self.app  # what Starlette sets: the endpoint reads app.state
            await self._endpoint(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)
