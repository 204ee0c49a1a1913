"""What a connection may do to its socket: send and close, never read.

Only :mod:`hub.endpoint` touches Starlette's WebSocket; the gateway sees this.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Transport"]


class Transport(Protocol):
    async def send(self, data: str | bytes) -> None:
        """Send one message (text for str, binary for bytes)."""

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame; never raises if the socket is already gone."""
