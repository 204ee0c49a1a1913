"""The codec, without sockets: bytes in, frames out."""

from __future__ import annotations

import json

import msgpack
import pytest

from alerting.frames import CaseFrame
from channels.bodies import PublishFrame, TypingFrame
from hub.bodies import Frame
from hub.errors import ErrorCode, FrameError
from hub.protocol import (
    Encoded,
    Hello,
    Subscribe,
    WireFormat,
    choose_format,
    decode,
    encode,
)

J, M = WireFormat.JSON, WireFormat.MSGPACK


#: The frames a feature declares (here the chat feature's), decoded by their type.
DECLARED: dict[str, type[Frame]] = {"publish": PublishFrame, "typing": TypingFrame,
                                   "case": CaseFrame}


def dec(obj: object, fmt: WireFormat = J) -> object:
    data = json.dumps(obj) if fmt is J else msgpack.packb(obj)
    return decode(data, fmt, max_bytes=65536, frames=DECLARED)


@pytest.mark.parametrize("fmt", [J, M])
def test_decodes_every_client_frame(fmt: WireFormat) -> None:
    assert dec({"type": "hello", "token": "t"}, fmt) == Hello("hello", None, "t", "")
    assert dec({"type": "subscribe", "channel": "c", "since_seq": 4, "ref": "r"}, fmt) == \
        Subscribe("subscribe", "r", "c", 4)
    pub = dec({"type": "publish", "channel": "c", "text": "hi", "client_msg_id": "m"}, fmt)
    assert pub == PublishFrame(channel="c", text="hi", client_msg_id="m")
    assert dec({"type": "ping"}, fmt).type == "ping"  # type: ignore[attr-defined]
    assert dec({"type": "typing", "channel": "c"}, fmt).type == "typing"  # type: ignore[attr-defined]
    assert dec({"type": "unsubscribe", "channel": "c"}, fmt).type == "unsubscribe"  # type: ignore[attr-defined]


def test_errors_carry_code_and_ref() -> None:
    with pytest.raises(FrameError) as info:
        dec({"type": "publish", "ref": "r9", "channel": "c", "text": 5, "client_msg_id": "m"})
    assert info.value.code is ErrorCode.BAD_REQUEST and info.value.ref == "r9"
    with pytest.raises(FrameError) as info:
        dec({"type": "nope", "ref": "r1"})
    assert info.value.code is ErrorCode.UNKNOWN_TYPE and info.value.ref == "r1"
    with pytest.raises(FrameError) as info:
        decode("x" * 100, J, max_bytes=10)
    assert info.value.code is ErrorCode.TOO_LARGE


def test_the_case_frame_alerting_declares_is_checked_by_the_codec() -> None:
    ok = dec({"type": "case", "operation": "op", "action": "update", "case": "c",
              "data": {"severity": "minor"}}, M)
    assert ok.type == "case" and ok.data == {"severity": "minor"}  # type: ignore[attr-defined]
    for fields, message in (
            ({"action": "close", "data": {}},
             "field 'action' must be one of comment, create, update"),
            ({"action": "update", "data": {}}, "field 'case' is required"),
            ({"action": "create", "data": []}, "field 'data': expected `object`, got `array`")):
        with pytest.raises(FrameError) as info:
            dec({"type": "case", "operation": "op", **fields})
        assert info.value.message == message


def test_a_declared_frame_is_refused_naming_its_field() -> None:
    cases = {
        "field 'text': expected `str`, got `int`": {"text": 5},
        "field 'text' is empty": {"text": "   "},
        "field 'colour' is not accepted": {"text": "hi", "colour": "red"},
        "field 'channel' is required": {"channel": None},
        "field 'priority' must be one of normal, high, urgent": {"text": "hi", "priority": "asap"},
        "field 'reply_to': expected `int`, got `bool`": {"text": "hi", "reply_to": True},
        "field 'reply_to': expected `int` >= 1": {"text": "hi", "reply_to": 0},
        "field 'ack' may only be each_agency, on an urgent message":
            {"text": "hi", "ack": "each_agency"},
        "field 'client_msg_id' is empty or reserved": {"text": "hi", "client_msg_id": "ack:4"},
    }
    for message, fields in cases.items():
        frame = {"type": "publish", "ref": "r2", "channel": "c", "client_msg_id": "m", **fields}
        if fields.get("channel", "") is None:
            del frame["channel"]
        with pytest.raises(FrameError) as info:
            dec(frame)
        assert info.value.message == message and info.value.ref == "r2", fields
    with pytest.raises(FrameError) as info:
        dec({"type": "publish", "channel": "c", "text": "hi", "client_msg_id": "m" * 65})
    assert info.value.code is ErrorCode.TOO_LARGE
    with pytest.raises(FrameError) as info:  # undeclared: the core knows no publish
        decode(json.dumps({"type": "publish", "channel": "c"}), J, max_bytes=1000)
    assert info.value.code is ErrorCode.UNKNOWN_TYPE


def test_nesting_is_bounded() -> None:
    deep: object = "x"
    for _ in range(20):
        deep = {"a": deep}
    with pytest.raises(FrameError):
        dec({"type": "ping", "extra": deep})
    with pytest.raises(FrameError):
        dec({"type": "ping", "extra": deep}, M)


def test_json_constants_are_refused() -> None:
    with pytest.raises(FrameError):
        decode('{"type": "ping", "x": NaN}', J, max_bytes=100)


def test_format_mismatch() -> None:
    with pytest.raises(FrameError):
        decode(b'{"type":"ping"}', J, max_bytes=100)
    with pytest.raises(FrameError):
        decode('{"type":"ping"}', M, max_bytes=100)


def test_choose_format() -> None:
    assert choose_format(["x", "liaison.v1.msgpack"]) == ("liaison.v1.msgpack", M)
    assert choose_format([]) == (None, J)


def test_encoded_encodes_once_per_format() -> None:
    frame = {"type": "message", "seq": 1, "text": "é"}
    enc = Encoded(frame)
    first = enc.get(J)
    assert enc.get(J) is first  # cached, not re-encoded
    assert json.loads(first) == frame
    packed = enc.get(M)
    assert enc.get(M) is packed
    assert msgpack.unpackb(packed) == frame
    assert encode(frame, J) == first
