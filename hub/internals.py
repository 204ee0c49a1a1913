"""What :mod:`hub.wsserver` needs from uvicorn and websockets beyond their public API.

The hub's WebSocket protocol subclasses uvicorn's sans-I/O protocol and swaps
websockets' handshake parser (docs/architecture.md, "Sending to a socket").
Neither is a public interface, so a release of either may change it without
notice. :func:`problems` checks every piece of that shape the hub relies on and
names the dependency and its version when one has moved; ``liaison serve``
refuses to start on any, and tests/hub/test_internals.py fails on any. The upper
bounds in pyproject.toml keep an install within the releases checked.
"""

from __future__ import annotations

import base64
import inspect
import re
from importlib import metadata
from typing import Any

__all__ = ["DependencyShapeError", "problems", "require"]


class DependencyShapeError(RuntimeError):
    """A dependency no longer has the shape the hub relies on."""


#: Attributes of uvicorn's WebSocket protocol instances that the hub reads or sets.
UVICORN_ATTRIBUTES = ("queue", "writable", "scope", "request", "response", "conn",
                      "handshake_complete", "close_sent", "disconnected", "transport")
#: Methods the hub overrides or calls, with the parameters it passes.
UVICORN_METHODS = {"__init__": None, "handle_connect": ["self", "event"],
                   "start_keepalive": ["self"]}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def problems() -> list[str]:
    """Every way the installed uvicorn and websockets differ from what the hub needs."""
    return _uvicorn_problems() + _websockets_problems()


def require() -> None:
    """Raise :class:`DependencyShapeError` naming each problem, if there is any."""
    found = problems()
    if found:
        raise DependencyShapeError(
            "the hub's WebSocket server relies on internals that changed:\n  "
            + "\n  ".join(found)
            + "\ninstall the versions in requirements.lock (bash .ci/install)")


def _uvicorn_problems() -> list[str]:
    who = f"uvicorn {_version('uvicorn')}"
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import (
            WebSocketsSansIOProtocol,
        )
    except ImportError as exc:
        return [f"{who}: no sans-I/O WebSocket protocol to extend ({exc})"]
    from hub.lightsync import Flag, Inbox

    found: list[str] = []
    for name, params in UVICORN_METHODS.items():
        method = getattr(WebSocketsSansIOProtocol, name, None)
        if not callable(method):
            found.append(f"{who}: WebSocketsSansIOProtocol.{name} is gone")
        elif params is not None and list(inspect.signature(method).parameters) != params:
            found.append(f"{who}: WebSocketsSansIOProtocol.{name} now takes "
                         f"{inspect.signature(method)}")
    try:
        source = inspect.getsource(WebSocketsSansIOProtocol)
    except (OSError, TypeError) as exc:
        return [*found, f"{who}: cannot read WebSocketsSansIOProtocol's source ({exc})"]
    assigned = set(re.findall(r"self\.(\w+)\s*(?::[^=\n]+)?=(?!=)", source))
    found += [f"{who}: WebSocketsSansIOProtocol no longer sets self.{attr}"
              for attr in UVICORN_ATTRIBUTES if attr not in assigned]
    # The hub swaps the per-socket queue and event for lighter ones (hub.lightsync):
    # every call uvicorn makes on them must exist there.
    for attr, stand_in in (("queue", Inbox), ("writable", Flag)):
        for call in sorted(set(re.findall(rf"self\.{attr}\.(\w+)", source))):
            if not callable(getattr(stand_in, call, None)):
                found.append(f"{who}: WebSocketsSansIOProtocol calls self.{attr}.{call}(), "
                             f"which hub.lightsync.{stand_in.__name__} lacks")
    return found


def _websockets_problems() -> list[str]:
    who = f"websockets {_version('websockets')}"
    try:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Request
        from websockets.protocol import Protocol, State
        from websockets.server import ServerProtocol
    except ImportError as exc:
        return [f"{who}: a module the hub imports is gone ({exc})"]
    # A real handshake, then the swap hub.wsserver makes after it: it must happen,
    # and the new parser must read the next frame.
    try:
        from hub.wsserver import _drop_handshake_parser
    except ImportError as exc:
        if (exc.name or "").startswith("uvicorn"):
            return []  # uvicorn's part, reported by _uvicorn_problems
        return [f"{who}: hub.wsserver does not import ({exc})"]

    try:
        conn = ServerProtocol(max_size=1 << 16)
        key = base64.b64encode(bytes(16)).decode()
        conn.receive_data((f"GET /ws HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        [request] = [e for e in conn.events_received() if isinstance(e, Request)]
        conn.send_response(conn.accept(request))
        if conn.state is not State.OPEN:
            return [f"{who}: a server connection is not OPEN after its handshake"]
        old: Any = conn.parser
        _drop_handshake_parser(conn)
        if conn.parser is old:
            return [f"{who}: ServerProtocol.parse no longer waits in Protocol.parse's "
                    "at_eof between frames, so the handshake's parser is never dropped"]
        if not inspect.isgeneratorfunction(Protocol.parse):
            return [f"{who}: Protocol.parse is no longer a generator"]
        conn.receive_data(Frame(Opcode.TEXT, b"ping").serialize(mask=True, extensions=[]))
        data = [e.data for e in conn.events_received() if isinstance(e, Frame)]
    except Exception as exc:  # any failure here is the shape having moved
        return [f"{who}: the handshake parser swap failed ({type(exc).__name__}: {exc})"]
    if data != [b"ping"]:
        return [f"{who}: after the parser swap a frame read as {data!r}"]
    return []
