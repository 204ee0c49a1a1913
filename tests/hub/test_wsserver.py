"""hub/wsserver.py through a real uvicorn server: after the handshake a socket keeps
neither the request nor its headers; the swap of the handshake parser, byte by byte,
loses no frame."""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from hub.lightsync import Flag, Inbox
from hub.wsserver import HubWebSocketProtocol, _drop_handshake_parser
from tests.conftest import RunningHub, embedded_settings


def _protocols(hub: RunningHub) -> list[HubWebSocketProtocol]:
    assert hub._server is not None
    return [p for p in hub._server.server_state.connections
            if isinstance(p, HubWebSocketProtocol)]


async def test_an_open_socket_keeps_no_handshake_and_still_speaks(start_hub: Any,
                                                                  tmp_path: Any) -> None:
    hub: RunningHub = await start_hub(embedded_settings(tmp_path))
    client = await hub.client("alice")
    [proto] = _protocols(hub)
    assert proto.request is None and proto.response is None
    assert proto.scope["headers"] == []
    assert proto.conn.parser.gi_code.co_qualname == "Protocol.parse"  # type: ignore[attr-defined]
    assert isinstance(proto.queue, Inbox) and isinstance(proto.writable, Flag)
    # Frames still parse after the swap, masked and in several pieces.
    await client.send({"type": "subscribe", "channel": hub.ch("A/general"), "ref": "s"})
    assert (await client.recv_type("subscribed"))["ref"] == "s"
    await client.send({"type": "publish", "channel": hub.ch("A/general"), "text": "x" * 3000,
                       "client_msg_id": "long", "ref": "p"})
    frames = [await client.recv(), await client.recv()]  # the ack and the message, any order
    assert sorted(f["type"] for f in frames) == ["ack", "message"]
    assert [f["text"] for f in frames if f["type"] == "message"] == ["x" * 3000]
    # The size limit holds on the new parser: an oversize frame closes with 1009.
    big = await hub.client("alice")
    await big.send_raw("x" * (hub.settings.max_frame_bytes + 1))
    await asyncio.wait_for(big.ws.wait_closed(), 10)
    assert big.ws.close_code == 1009


def _handshake() -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /ws HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


def _opened(first: bytes) -> tuple[ServerProtocol, list[bytes]]:
    """A server protocol that took ``first`` (a handshake, maybe with more) and said 101;
    with the data of any frame it read already."""
    conn = ServerProtocol(max_size=1 << 16)
    conn.receive_data(first)
    events = conn.events_received()
    [request] = [e for e in events if isinstance(e, Request)]
    conn.send_response(conn.accept(request))
    return conn, [e.data for e in events if isinstance(e, Frame)]


def _texts(conn: ServerProtocol) -> list[bytes]:
    return [e.data for e in conn.events_received() if isinstance(e, Frame)]


FRAME = Frame(Opcode.TEXT, b'{"type": "hello"}').serialize(mask=True, extensions=[])


def test_the_parser_is_swapped_between_frames_and_then_reads_frames() -> None:
    conn, _ = _opened(_handshake())
    old = conn.parser
    _drop_handshake_parser(conn)
    assert conn.parser is not old
    assert conn.parser.gi_code.co_qualname == "Protocol.parse"  # type: ignore[attr-defined]
    conn.receive_data(FRAME + FRAME)
    assert _texts(conn) == [b'{"type": "hello"}'] * 2


@given(st.integers(min_value=1, max_value=len(FRAME)))
def test_a_frame_begun_with_the_handshake_keeps_its_parser(split: int) -> None:
    """Part of a frame already read (a client that pipelines): no swap, nothing lost;
    a whole frame read: swapped, since the parser is between frames again."""
    conn, early = _opened(_handshake() + FRAME[:split])
    old = conn.parser
    _drop_handshake_parser(conn)
    assert (conn.parser is old) == (split < len(FRAME))
    conn.receive_data(FRAME[split:] + FRAME)
    assert early + _texts(conn) == [b'{"type": "hello"}'] * 2
