"""The frames on their way to one socket: straight out if it takes them, else queued.

A frame goes straight to the socket when nothing of this connection's waits
before it and the socket takes it at once
(:attr:`hub.transport.Transport.write_now`: no task switch, no await).
Otherwise it waits in one bounded queue (:mod:`hub.sendqueue`), drained in
order by a writer task made the first time a frame has to wait (most
connections never have one). A full queue is the caller's signal to close a
slow consumer; the outbox itself never closes anything but reports a failed
send through ``failed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hub.protocol import Encoded, WireFormat
from hub.sendqueue import SendQueue
from hub.transport import Transport
from hub.wsframe import data_frame

__all__ = ["Outbox"]


class Outbox:
    __slots__ = ("_direct", "_failed", "_name", "_queue", "_send", "sending_since", "writer")

    def __init__(self, transport: Transport, maxsize: int, *, name: str,
                 failed: Callable[[], None]) -> None:
        self._direct = transport.write_now  # None: every frame goes through the queue
        self._send = transport.send
        self._queue: SendQueue[str | bytes] = SendQueue(maxsize)
        self._name = name
        self._failed = failed
        #: The writer task, once a frame has had to wait.
        self.writer: asyncio.Task[None] | None = None
        #: Loop time the send under way began (None when idle): the node's sweep
        #: closes a connection whose send has been stuck too long.
        self.sending_since: float | None = None

    def full(self) -> bool:
        return self._queue.full()

    def offer(self, data: str | bytes, wire: bytes | None = None) -> bool:
        """Send or queue ``data`` (``wire``: its frame, if already built); False when full."""
        if self._direct is not None and self._write_now(wire or data_frame(data)):
            return True
        return self._enqueue(data)

    def offer_encoded(self, encoded: Encoded, fmt: WireFormat) -> bool:
        """:meth:`offer` for fan-out: the frame's bytes were built once for everyone."""
        if self._write_now(encoded.wire(fmt)):
            return True
        return self._enqueue(encoded.get(fmt))

    async def put(self, data: str | bytes) -> None:
        """Like :meth:`offer`, but wait for room instead of failing (replay)."""
        if not (self._direct is not None and self._write_now(data_frame(data))):
            self._ensure_writer()
            await self._queue.put(data)

    def stop(self) -> None:
        """Stop sending what is queued (the connection is closing)."""
        if self.writer is not None:
            self.writer.cancel()

    def _write_now(self, wire: bytes) -> bool:
        direct = self._direct
        return (direct is not None and self.sending_since is None and self._queue.empty()
                and direct(wire))

    def _enqueue(self, data: str | bytes) -> bool:
        if not self._queue.put_nowait(data):
            return False
        self._ensure_writer()
        return True

    def _ensure_writer(self) -> None:
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(
                self._write_loop(), name=f"writer-{self._name}")

    async def _write_loop(self) -> None:
        """Send what is queued: everything waiting at each wake-up, in order.

        No timer per frame or batch: ``sending_since`` says when the send in
        progress began, and the connection's owner checks it (no per-send cost).
        """
        queue, send = self._queue, self._send
        clock = asyncio.get_running_loop().time
        while True:
            data = await queue.get()
            try:
                self.sending_since = clock()
                await send(data)
                while not queue.empty():
                    self.sending_since = clock()
                    await send(queue.get_nowait())
            except Exception:
                self._failed()
                return
            self.sending_since = None
