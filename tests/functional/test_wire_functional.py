"""Bytes on the wire for a short chat message, against the phone budget (issue 11).

A responder's phone receives every message of its channels; each must cost at
most 300 bytes received, WebSocket framing included. The sender's round trip
(its publish out, its ack back) is measured as well. The figures are in
docs/performance.md.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgpack
import pytest

from tests.conftest import RunningHub

RECEIVED_BUDGET = 300
SHORT = "On my way, ETA 10 min"


def ws_frame_bytes(payload: bytes | str, *, masked: bool) -> int:
    """A WebSocket frame's size: header, mask key (client to server), payload."""
    n = len(payload.encode() if isinstance(payload, str) else payload)
    head = 2 if n < 126 else 4 if n < 65536 else 10
    return head + (4 if masked else 0) + n


def decode(raw: bytes | str) -> dict[str, Any]:
    return msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw)


def encode(fmt: str, frame: dict[str, Any]) -> bytes | str:
    return msgpack.packb(frame) if fmt == "msgpack" else json.dumps(frame)


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
async def test_a_short_message_costs_a_subscriber_at_most_300_bytes(
        running_hub: RunningHub, fmt: str) -> None:
    channel = running_hub.ch("A/general")
    reader = await running_hub.client("alice", fmt=fmt)
    await reader.subscribe(channel)
    writer = await running_hub.client("bruno", fmt=fmt)
    cmid = uuid.uuid4().hex
    publish = {"type": "publish", "channel": channel, "text": SHORT, "client_msg_id": cmid,
               "ref": cmid}
    await writer.send_raw(encode(fmt, publish))
    while True:
        ack_raw = await writer.ws.recv()
        if decode(ack_raw).get("ref") == cmid:
            break
    while True:  # the subscriber's frame, as it came off the socket
        raw = await reader.ws.recv()
        frame = decode(raw)
        if frame["type"] == "message":
            break
    assert frame["text"] == SHORT and decode(ack_raw)["type"] == "ack"
    received = ws_frame_bytes(raw, masked=False)
    round_trip = (ws_frame_bytes(encode(fmt, publish), masked=True)
                  + ws_frame_bytes(ack_raw, masked=False))
    assert received <= RECEIVED_BUDGET, f"{fmt}: {received} bytes received"
    assert round_trip <= 2 * RECEIVED_BUDGET, f"{fmt}: {round_trip} bytes round trip"
    if fmt == "msgpack":  # what the web client speaks by default
        assert received < ws_frame_bytes(json.dumps(frame, separators=(",", ":")),
                                         masked=False)
