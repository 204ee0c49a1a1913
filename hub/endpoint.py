"""The WebSocket endpoint: the only module that touches Starlette's WebSocket.

Order of events for one socket:

1. Before accepting: an ``Origin`` header that is present must match the hub's
   own host or the allowlist, else the upgrade is refused (HTTP 403) and
   audited. Browsers always send Origin; the session cookie is only looked at
   when it passed, so a foreign page cannot ride a user's cookie.
2. Accept with the first subprotocol we speak (JSON if none offered).
3. The first frame must be ``hello`` (with a token unless the cookie already
   authenticated) within ``hello_timeout_seconds``; anything else closes the
   socket with 4001 (4002 on timeout). Tokens are never read from the URL.
4. Then frames are handled in order until the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from hub.errors import CloseCode, FrameError, HubError, Unauthenticated
from hub.gateway import Connection
from hub.http import COOKIE_NAME, client_address, origin_allowed, request_scheme
from hub.principal import Principal
from hub.protocol import Hello, WireFormat, choose_format, decode, encode
from hub.replies import ConnectionLimits, ErrorReply, Welcome, WelcomeUser
from hub.wsserver import DIRECT_WRITE

__all__ = ["websocket_endpoint"]

log = logging.getLogger("hub.endpoint")


class StarletteTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        direct = websocket.scope.get("extensions", {}).get(DIRECT_WRITE)
        # Only under the hub's own protocol (hub.wsserver); other ASGI servers queue.
        self.write_now: Callable[[bytes], bool] | None = direct["write"] if direct else None
        self.end_receive: Callable[[], None] | None = direct["end_receive"] if direct else None

    async def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self._ws.send_text(data)
        else:
            await self._ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close(code, reason)


def _payload(message: Mapping[str, Any]) -> str | bytes | None:
    text = message.get("text")
    if isinstance(text, str):
        return text
    data = message.get("bytes")
    return data if isinstance(data, bytes) else None


async def _refuse(websocket: WebSocket, fmt: WireFormat, code: CloseCode, reason: str,
                  ref: str | None = None) -> None:
    """Send an error frame saying why (its code and ``retryable`` match the close code,
    ``ref`` echoes the hello's when it could be read), then close with ``code``."""
    error = code.error_code
    frame = encode(msgspec.to_builtins(ErrorReply(
        code=str(error), reason=reason, ref=ref, retryable=code.retryable)), fmt)
    with contextlib.suppress(Exception):
        await StarletteTransport(websocket).send(frame)
        await websocket.close(int(code), reason)


async def websocket_endpoint(websocket: WebSocket) -> None:
    hub = websocket.app.state.hub
    settings = hub.settings
    client = client_address(websocket, settings)
    origin = websocket.headers.get("origin")

    if origin is not None and not origin_allowed(origin, websocket.headers.get("host", ""),
                                                 settings, request_scheme(websocket, settings)):
        hub.metrics.refusals.labels("origin").inc()
        await hub.auditor.record(actor="-", action="ws.origin_refused", target=origin[:200],
                                 outcome="refused", client=client)
        await websocket.close(int(CloseCode.POLICY))  # before accept: HTTP 403
        return

    principal: Principal | None = None
    cookie = websocket.cookies.get(COOKIE_NAME) if origin is not None else None
    if cookie:
        with contextlib.suppress(HubError):
            principal = await hub.auth.authenticate(cookie)

    subprotocol, fmt = choose_format(list(websocket.scope.get("subprotocols", [])))
    await websocket.accept(subprotocol=subprotocol)
    # Everything the hub reads from the handshake is read (origin, cookie, address,
    # subprotocol); its headers would otherwise stay alive as long as the socket.
    headers = websocket.scope.get("headers")
    if isinstance(headers, list):
        headers.clear()

    try:
        first = await asyncio.wait_for(websocket.receive(),
                                       settings.hello_timeout_seconds)
    except TimeoutError:
        hub.metrics.refusals.labels("auth_timeout").inc()
        await _refuse(websocket, fmt, CloseCode.AUTH_TIMEOUT, "no hello in time")
        return
    if first["type"] == "websocket.disconnect":
        return
    data = _payload(first)
    ref: str | None = None
    try:
        if data is None:
            raise FrameError("empty frame")
        hello = decode(data, fmt, max_bytes=settings.max_frame_bytes)
        ref = hello.ref
        if not isinstance(hello, Hello):
            raise FrameError("the first frame must be hello")
        if hello.token:
            principal = await hub.auth.authenticate_from(hello.token, client, "ws")
        if principal is None:
            raise FrameError("hello needs a token (or a session cookie)")
    except HubError as exc:
        hub.metrics.refusals.labels("unauthenticated").inc()
        if not isinstance(exc, Unauthenticated):  # authenticate_from audited those
            await hub.auditor.record(actor="-", action="ws.auth", target="-",
                                     outcome="failed", client=client)
        if isinstance(exc, FrameError) and exc.ref is not None:
            ref = exc.ref
        await _refuse(websocket, fmt, CloseCode.UNAUTHENTICATED, exc.message, ref)
        return

    conn = Connection(transport=StarletteTransport(websocket), fmt=fmt, principal=principal,
                      node=hub.node, handlers=hub.handlers, feeds=hub.feeds,
                      settings=settings, client=client,
                      lang=hello.lang or principal.user.lang or None)
    try:
        admitted = await hub.node.admit(conn, settings.max_connections_per_user)
    except HubError as exc:
        await _refuse(websocket, fmt, CloseCode.INTERNAL, exc.message, hello.ref)
        return
    if not admitted:
        hub.metrics.refusals.labels("too_many_connections").inc()
        await _refuse(websocket, fmt, CloseCode.TOO_MANY_CONNECTIONS,
                      f"at most {settings.max_connections_per_user} connections per user",
                      hello.ref)
        return
    hub.node.register(conn)
    user = principal.user
    conn.send(Welcome(
        ref=hello.ref, connection_id=conn.id, node=hub.node.id, protocol=1, format=str(fmt),
        server_time=hub.clock.now(),
        user=WelcomeUser(username=user.username, display_name=user.display_name,
                         agency=user.agency),
        session_expires_at=principal.expires_at,
        limits=ConnectionLimits(max_frame_bytes=settings.max_frame_bytes,
                                max_text_chars=settings.max_text_chars,
                                max_subscriptions=settings.max_subscriptions,
                                publish_rate=settings.publish_rate,
                                publish_burst=settings.publish_burst)))
    try:
        if conn.transport.end_receive is not None:
            await _read(websocket, conn)
        else:
            await _read_racing_close(websocket, conn)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await conn.finish()


async def _read(websocket: WebSocket, conn: Connection) -> None:
    """Hand each message to the connection until the socket or the connection closes
    (the hub's own protocol makes the read return when the connection closes)."""
    while not conn.closed.is_set():
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        payload = _payload(message)
        if payload is not None and not conn.closed.is_set():
            await conn.handle(payload)


async def _read_racing_close(websocket: WebSocket, conn: Connection) -> None:
    """:func:`_read` under another ASGI server: race each read against the close."""
    closed = asyncio.ensure_future(conn.closed.wait())
    try:
        while True:
            receive = asyncio.ensure_future(websocket.receive())
            done, _ = await asyncio.wait({receive, closed}, return_when=asyncio.FIRST_COMPLETED)
            if receive not in done:
                receive.cancel()
                return
            message = receive.result()
            if message["type"] == "websocket.disconnect":
                return
            payload = _payload(message)
            if payload is not None:
                await conn.handle(payload)
    finally:
        closed.cancel()
