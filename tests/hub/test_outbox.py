"""hub/outbox.py: straight out while the socket takes frames, queued in order otherwise."""

from __future__ import annotations

import asyncio

from hub.outbox import Outbox
from hub.protocol import Encoded, WireFormat
from hub.wsframe import data_frame


class Socket:
    def __init__(self, *, direct: bool = True) -> None:
        self.wire: list[bytes] = []  # what went straight out, as frames
        self.sent: list[str | bytes] = []  # what the writer sent
        self.paused = False
        self.fail = False
        self.write_now = self._write_now if direct else None
        self.end_receive = None

    def _write_now(self, frame: bytes) -> bool:
        if self.paused:
            return False
        self.wire.append(frame)
        return True

    async def send(self, data: str | bytes) -> None:
        if self.fail:
            raise ConnectionError("gone")
        self.sent.append(data)

    async def close(self, code: int, reason: str) -> None:
        pass


async def _drained(box: Outbox) -> None:
    async with asyncio.timeout(10):
        while box.sending_since is not None or not box._queue.empty():
            await asyncio.sleep(0.01)


async def test_frames_go_straight_out_and_queue_only_behind_back_pressure() -> None:
    sock = Socket()
    box = Outbox(sock, 10, name="t", failed=lambda: None)
    assert box.offer("a") and sock.wire == [data_frame("a")] and box.writer is None
    encoded = Encoded({"type": "pong"})
    assert box.offer_encoded(encoded, WireFormat.JSON)
    assert sock.wire[-1] is encoded.wire(WireFormat.JSON)  # the one shared frame
    sock.paused = True
    assert box.offer("b") and box.offer("c")
    sock.paused = False
    assert box.offer("d")  # the socket could take it, but b and c are before it
    await _drained(box)
    assert sock.sent == ["b", "c", "d"] and len(sock.wire) == 2
    assert box.offer("e") and sock.wire[-1] == data_frame("e")


async def test_a_full_queue_refuses_and_replay_waits_for_room() -> None:
    sock = Socket(direct=False)
    box = Outbox(sock, 2, name="t", failed=lambda: None)
    assert box.offer("1") and box.offer("2") and box.full()
    assert not box.offer("3")
    await box.put("4")  # waits until the writer made room
    await _drained(box)
    assert sock.sent == ["1", "2", "4"]


async def test_a_failed_send_is_reported_once_and_stops_the_writer() -> None:
    sock, failures = Socket(direct=False), []
    sock.fail = True
    box = Outbox(sock, 5, name="t", failed=lambda: failures.append("failed"))
    box.offer("x")
    assert box.writer is not None
    await asyncio.wait_for(box.writer, 10)
    assert failures == ["failed"]
