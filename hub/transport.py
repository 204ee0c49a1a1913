"""What a connection may do to its socket: send and close, never read.

Only :mod:`hub.endpoint` touches Starlette's WebSocket; the gateway sees this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Transport"]


class Transport(Protocol):
    async def send(self, data: str | bytes) -> None:
        """Send one message (text for str, binary for bytes)."""

    #: Writes one complete WebSocket frame (:func:`hub.wsframe.data_frame`) if the
    #: socket takes it at once, else returns False (nothing written) and the caller
    #: queues; None when the server offers no direct write (every frame is queued).
    write_now: Callable[[bytes], bool] | None
    #: Makes the endpoint's pending read of the socket return (as a disconnect), called
    #: once the connection closed itself; None when the server offers no such call.
    end_receive: Callable[[], None] | None

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame; never raises if the socket is already gone."""
