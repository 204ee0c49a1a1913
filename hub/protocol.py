"""The wire codec: bytes in, typed frames out; dicts in, bytes out. No I/O.

Two formats carry the same frames: JSON in text messages (subprotocol
``liaison.v1.json``) and MessagePack in binary messages (``liaison.v1.msgpack``).
Decoding never trusts the peer: sizes are bounded before parsing, msgpack
lengths are capped so a hostile header cannot make us allocate, ext types are
refused, nesting is bounded, and every field is type-checked against the frame
schema. Failures raise :class:`hub.errors.FrameError` with a code and the
frame's ``ref`` when one could be read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

import msgpack

from hub.bodies import Frame, convert
from hub.boundary import check_value, is_clean_text, note_repaired, sanitize
from hub.errors import BadRequest, ErrorCode, FrameError
from hub.wsframe import data_frame

__all__ = [
    "SUBPROTOCOLS",
    "ClientFrame",
    "Encoded",
    "Hello",
    "Ping",
    "Subscribe",
    "Unsubscribe",
    "WireFormat",
    "choose_format",
    "decode",
    "encode",
]


class WireFormat(StrEnum):
    JSON = "json"
    MSGPACK = "msgpack"


SUBPROTOCOLS: dict[str, WireFormat] = {
    "liaison.v1.json": WireFormat.JSON,
    "liaison.v1.msgpack": WireFormat.MSGPACK,
}

MAX_REF = 64
MAX_ID = 64
MAX_TOKEN = 256
MAX_DEPTH = 8
NO_FRAMES: Mapping[str, type[Frame]] = MappingProxyType({})


def choose_format(offered: list[str]) -> tuple[str | None, WireFormat]:
    """Pick the first subprotocol we speak from the client's list (JSON if none)."""
    for name in offered:
        if name in SUBPROTOCOLS:
            return name, SUBPROTOCOLS[name]
    return None, WireFormat.JSON


# --- Frames ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    type: Literal["hello"]
    ref: str | None
    token: str | None
    client: str
    #: The language the reader reads in (ISO 639, "es"): translations in it reach them.
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribe:
    type: Literal["subscribe"]
    ref: str | None
    channel: str
    since_seq: int | None
    #: On an operation feed: start with a ``board`` snapshot instead of since_seq.
    board: bool = False


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    type: Literal["unsubscribe"]
    ref: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class Ping:
    type: Literal["ping"]
    ref: str | None


#: A frame the core decodes itself; a feature's frames are :class:`hub.bodies.Frame`\s.
ClientFrame = Hello | Subscribe | Unsubscribe | Ping | Frame


# --- Decoding --------------------------------------------------------------------


def _ext_refused(code: int, data: bytes) -> Any:
    raise ValueError("msgpack ext types are not accepted")


def _load(data: str | bytes, fmt: WireFormat, max_bytes: int) -> Any:
    if len(data) > max_bytes:
        raise FrameError(f"frame larger than {max_bytes} bytes", code=ErrorCode.TOO_LARGE)
    if fmt is WireFormat.JSON:
        if not isinstance(data, str):
            raise FrameError("this connection speaks JSON in text messages")
        try:
            return json.loads(data, parse_constant=_no_constants)
        except ValueError as exc:
            if "Exceeds the limit" in str(exc):
                raise FrameError("an integer has too many digits",
                                 code=ErrorCode.BAD_REQUEST) from None
            raise FrameError("malformed JSON") from exc
        except RecursionError as exc:
            raise FrameError("malformed JSON") from exc
    if not isinstance(data, bytes):
        raise FrameError("this connection speaks msgpack in binary messages")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            ext_hook=_ext_refused,
            max_str_len=max_bytes,
            max_bin_len=0,
            max_array_len=1024,
            max_map_len=64,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError, RecursionError) as exc:
        raise FrameError("malformed msgpack") from exc


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _str(obj: dict[str, Any], key: str, ref: str | None, *, max_len: int,
         required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise FrameError(f"field '{key}' is required", code=ErrorCode.BAD_REQUEST, ref=ref)
        return None
    if not isinstance(value, str):
        raise FrameError(f"field '{key}' must be a string", code=ErrorCode.BAD_REQUEST, ref=ref)
    if len(value) > max_len:
        raise FrameError(f"field '{key}' is longer than {max_len}",
                         code=ErrorCode.TOO_LARGE, ref=ref)
    return value


def _int(obj: dict[str, Any], key: str, ref: str | None) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise FrameError(f"field '{key}' must be a non-negative integer",
                         code=ErrorCode.BAD_REQUEST, ref=ref)
    return value


def decode(data: str | bytes, fmt: WireFormat, *, max_bytes: int,
           frames: Mapping[str, type[Frame]] = NO_FRAMES) -> ClientFrame:
    """Decode and validate one client frame: a core frame, or one of ``frames`` (by
    ``type``: the frames the features declared, see :class:`hub.handlers.Handlers`).

    Raises:
        FrameError: with ``code`` bad_frame (undecodable), bad_request (wrong
            shape or types), too_large, or unknown_type; ``ref`` is set when the
            frame carried a readable one.
    """
    obj = _load(data, fmt, max_bytes)
    if not isinstance(obj, dict):
        raise FrameError("a frame must be an object")
    raw_ref = obj.get("ref")
    ref = raw_ref if isinstance(raw_ref, str) and len(raw_ref) <= MAX_REF \
        and is_clean_text(raw_ref) else None
    if raw_ref is not None and ref is None:
        raise FrameError(f"'ref' must be a string of at most {MAX_REF} characters",
                         code=ErrorCode.BAD_REQUEST)
    try:
        check_value(obj, max_depth=MAX_DEPTH)
    except BadRequest as exc:
        raise FrameError(exc.message, code=ErrorCode.BAD_REQUEST, ref=ref) from None
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise FrameError("field 'type' is required", code=ErrorCode.BAD_REQUEST, ref=ref)

    if kind == "hello":
        lang = _str(obj, "lang", ref, max_len=3, required=False)
        if lang is not None and not re.fullmatch(r"[a-z]{2,3}", lang):
            raise FrameError("field 'lang' must be an ISO 639 code such as 'es'",
                             code=ErrorCode.BAD_REQUEST, ref=ref)
        return Hello("hello", ref, _str(obj, "token", ref, max_len=MAX_TOKEN, required=False),
                     _str(obj, "client", ref, max_len=MAX_ID, required=False) or "", lang)
    if kind == "subscribe":
        board = obj.get("board", False)
        if not isinstance(board, bool):
            raise FrameError("field 'board' must be true or false", code=ErrorCode.BAD_REQUEST,
                             ref=ref)
        return Subscribe("subscribe", ref, _channel(obj, ref), _int(obj, "since_seq", ref),
                         board)
    if kind == "unsubscribe":
        return Unsubscribe("unsubscribe", ref, _channel(obj, ref))
    if kind == "ping":
        return Ping("ping", ref)
    declared = frames.get(kind)
    if declared is None:
        raise FrameError(f"unknown frame type '{kind[:32]}'", code=ErrorCode.UNKNOWN_TYPE,
                         ref=ref)
    return convert(obj, declared, ref=ref)


def _channel(obj: dict[str, Any], ref: str | None) -> str:
    value = _str(obj, "channel", ref, max_len=MAX_ID)
    assert value is not None
    return value


# --- Encoding --------------------------------------------------------------------


def _encode(frame: dict[str, Any], fmt: WireFormat) -> str | bytes:
    if fmt is WireFormat.JSON:
        text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        if not is_clean_text(text):
            raise ValueError("lone surrogate")
        return text
    data: bytes = msgpack.packb(frame, use_bin_type=True)
    return data


def encode(frame: dict[str, Any], fmt: WireFormat) -> str | bytes:
    """Encode a server frame: a JSON string or msgpack bytes.

    Never fails on a value that slipped past the boundary (a NaN or a lone
    surrogate in an old record): such a frame is sent repaired and counted.
    """
    try:
        return _encode(frame, fmt)
    except (ValueError, TypeError, OverflowError):
        clean, _ = sanitize(frame)
        note_repaired(f"{frame.get('type', 'frame')} frame")
        return _encode(clean, fmt)


class Encoded:
    """One server frame, encoded at most once per wire format.

    Fan-out builds one ``Encoded`` per event and hands it to every subscriber,
    so the cost of encoding does not grow with the number of subscribers;
    :meth:`wire` also builds the WebSocket frame around it once per format.
    """

    __slots__ = ("_json", "_msgpack", "_wire", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self._json: str | None = None
        self._msgpack: bytes | None = None
        self._wire: dict[WireFormat, bytes] | None = None

    def get(self, fmt: WireFormat) -> str | bytes:
        if fmt is WireFormat.JSON:
            if self._json is None:
                self._json = encode(self.frame, fmt)  # type: ignore[assignment]
            return self._json  # type: ignore[return-value]
        if self._msgpack is None:
            self._msgpack = encode(self.frame, fmt)  # type: ignore[assignment]
        return self._msgpack  # type: ignore[return-value]

    def wire(self, fmt: WireFormat) -> bytes:
        """The complete WebSocket data frame carrying :meth:`get`."""
        if self._wire is None:
            self._wire = {}
        frame = self._wire.get(fmt)
        if frame is None:
            frame = self._wire[fmt] = data_frame(self.get(fmt))
        return frame
