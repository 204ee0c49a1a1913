"""hub/wsframe.py: the frames fan-out writes are what a WebSocket client reads back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from hub.wsframe import data_frame


def parse(raw: bytes) -> Frame:
    """Read ``raw`` as a client would (websockets' own parser; server frames are unmasked)."""
    reader = StreamReader()
    reader.feed_data(raw)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame was incomplete")


@given(st.text(max_size=70_000))
def test_text_reads_back_as_one_final_text_frame(text: str) -> None:
    raw = data_frame(text)
    frame = parse(raw)
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert frame.data.decode("utf-8") == text
    assert len(raw) == len(frame.data) + (2 if len(frame.data) < 126 else
                                          4 if len(frame.data) < 65536 else 10)


@given(st.binary(max_size=70_000))
def test_bytes_read_back_as_one_final_binary_frame(data: bytes) -> None:
    frame = parse(data_frame(data))
    assert frame.opcode is Opcode.BINARY and frame.fin and frame.data == data


def test_the_length_encoding_switches_at_126_and_65536() -> None:
    assert data_frame(b"x" * 125)[:2] == b"\x82\x7d"
    assert data_frame(b"x" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert data_frame(b"x" * 65535)[:4] == b"\x82\x7e\xff\xff"
    assert data_frame(b"x" * 65536)[:10] == b"\x82\x7f" + (65536).to_bytes(8, "big")
