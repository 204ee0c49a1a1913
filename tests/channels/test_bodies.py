"""channels/bodies.py: the chat body, declared once, and the frame and REST body sending it.

Live and replayed messages go through a real hub in tests/functional (test_chat,
test_reply, test_wire_compat); here the declarations on their own: what each
accepts and refuses (naming the field), and that a body survives the store's
encoding unchanged.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.bodies import (
    CHAT,
    ChatBody,
    ChatFields,
    PostMessage,
    Priority,
    PublishFrame,
    body_of,
    chat_body,
    message_schema,
)
from hub.bodies import convert, decode, encode
from hub.errors import BadRequest
from hub.models import ChannelId, Message, UserId

_texts = st.text(min_size=1, max_size=200).filter(str.strip)


def stored(body: ChatBody) -> Message:
    return Message(channel_id=ChannelId("ch-1"), seq=1, id="m-1", sender_id=UserId("u-1"),
                   sender="pia", sender_name="Pia", agency="POLICE", ts=1.0, client_msg_id="c-1",
                   body_type=CHAT, body=encode(body), body_version=ChatBody.VERSION)


@given(_texts, st.sampled_from(list(Priority)), st.none() | st.integers(1, 2**31))
def test_a_body_reads_back_as_it_was_sent(text: str, priority: Priority,
                                          reply_to: int | None) -> None:
    frame = convert({"type": "publish", "channel": "ch-1", "client_msg_id": "c-1",
                     "text": text, "priority": str(priority),
                     **({"reply_to": reply_to} if reply_to else {})}, PublishFrame)
    body = body_of(frame)
    again = chat_body(stored(body))
    assert (again.text, again.priority, again.reply_to) == \
        (text, priority, reply_to if reply_to else msgspec.UNSET)
    assert set(ChatFields.__struct_fields__) <= set(ChatBody.__struct_fields__)


def test_an_unset_reply_is_left_out_of_what_is_stored() -> None:
    raw = msgspec.msgpack.decode(encode(ChatBody(text="hello")))
    assert "reply_to" not in raw and raw["text"] == "hello"
    assert decode(encode(ChatBody(text="hi", reply_to=3)), ChatBody).reply_to == 3


@pytest.mark.parametrize(("data", "says"), [
    ({"text": "   "}, "field 'text'"),
    ({"text": "x", "client_msg_id": "ack:1"}, "field 'client_msg_id'"),
    ({"text": "x", "ack": "each_agency"}, "field 'ack'"),
    ({"text": "x", "priority": "URGENT"}, "priority"),
    ({"text": "x", "reply_to": 0}, "reply_to"),
    ({"text": "x", "reply_to": "3"}, "reply_to"),
    ({"text": "x", "colour": "red"}, "colour"),
])
def test_a_rest_post_is_refused_naming_the_field(data: dict[str, object], says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        convert({"client_msg_id": "c-1", **data}, PostMessage)


def test_an_acknowledgement_frame_needs_no_text_and_an_urgent_post_may_ask_each_agency() -> None:
    ack = convert({"type": "publish", "channel": "ch-1", "ack_of": 4}, PublishFrame)
    assert ack.ack_of == 4 and ack.text == ""
    post = convert({"client_msg_id": "c-1", "text": "Levee", "priority": "urgent",
                    "ack": "each_agency"}, PostMessage)
    assert post.ack == "each_agency" and body_of(post).priority is Priority.URGENT


def test_the_message_schema_names_the_envelope_and_the_body_s_fields() -> None:
    schema = message_schema()
    assert {"text", "priority", "reply_to", "channel", "seq", "sender"} <= \
        set(schema["properties"])
    assert {"channel", "seq", "id", "text", "priority"} <= set(schema["required"])
    assert "reply_to" not in schema["required"]  # stored only when set
