"""WebSocket data frames as a server sends them (RFC 6455 section 5.2): pure bytes.

A server's frames are unmasked and, with per-message compression off (the hub
never negotiates it), identical for every connection. So fan-out builds one
frame per message and wire format and writes the same bytes to every
subscriber's socket, as ``websockets.broadcast`` does.
"""

from __future__ import annotations

import struct

__all__ = ["data_frame"]

_TEXT, _BINARY = 0x81, 0x82  # FIN set, opcode 1 (text) or 2 (binary)


def data_frame(payload: str | bytes) -> bytes:
    """One final, unmasked frame: text for ``str`` (sent as UTF-8), binary for ``bytes``."""
    if isinstance(payload, str):
        data, first = payload.encode("utf-8"), _TEXT
    else:
        data, first = payload, _BINARY
    size = len(data)
    if size < 126:
        head = bytes((first, size))
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 126, size)
    else:
        head = struct.pack("!BBQ", first, 127, size)
    return head + data
