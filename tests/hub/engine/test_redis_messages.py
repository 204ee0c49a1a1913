"""hub/engine/redis_messages.py: a message as a stream entry and a broker event, this
release's and an older node's (read through hub/engine/legacy.py)."""

from __future__ import annotations

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from channels.bodies import ChatBody, Priority, chat_body
from hub.engine.port import NewMessage
from hub.engine.redis_messages import ENTRY_FIELDS, EVENT_KIND, entry_args, from_entry, from_event
from hub.models import ChannelId, UserId
from tests.chat import chat


def new(text: str, **envelope: object) -> NewMessage:
    fields: dict[str, object] = {"channel_id": ChannelId("ch_1"), "id": "msg_1",
                                 "sender_id": UserId("usr_1"), "sender": "alice",
                                 "sender_name": "Alice", "agency": "POLICE", "ts": 9.25,
                                 "client_msg_id": "c-1", **envelope}
    return NewMessage(**fields, **chat(text, Priority.URGENT, reply_to=3))  # type: ignore[arg-type]


@given(text=st.text(min_size=1), label=st.sampled_from(["", '{"level": "SECRET"}']),
       real_world=st.booleans(), ts=st.floats(0, 2e9))
def test_an_entry_and_an_event_give_back_the_message_stored(
        text: str, label: str, real_world: bool, ts: float) -> None:
    msg = new(text, label_json=label, real_world=real_world, ts=ts)
    args = entry_args(msg)
    fields = dict(zip(args[::2], args[1::2], strict=True))
    assert tuple(fields) == ENTRY_FIELDS
    assert "text" not in fields and "priority" not in fields  # the body stays opaque
    assert from_entry("ch_1", 4, fields) == msg.stored(4)
    # the append script publishes [kind, channel, seq, values in ENTRY_FIELDS order]
    event = msgpack.unpackb(msgpack.packb([EVENT_KIND, "ch_1", 4, *args[1::2]]))
    assert from_event(event) == msg.stored(4)


def test_an_older_nodes_entry_and_event_read_as_a_chat_body() -> None:
    old = {"id": "msg_1", "sender_id": "usr_1", "sender": "alice", "sender_name": "Alice",
           "agency": "POLICE", "text": "bridge is out", "ts": "9.5", "priority": "urgent",
           "client_msg_id": "c-1"}  # release 0.1.0 wrote no label, no real_world
    msg = from_entry("ch_1", "7", old)
    assert (msg.seq, msg.body_type, msg.label_json, msg.real_world) == (7, "chat", "", False)
    assert chat_body(msg) == ChatBody(text="bridge is out", priority=Priority.URGENT)
    event = ["m", "ch_1", 7, "msg_1", "usr_1", "alice", "Alice", "POLICE", "bridge is out",
             9.5, "urgent", "c-1", "", "1"]
    heard = from_event(event)
    assert heard == msg.__class__(**{**_fields(msg), "real_world": True})
    assert heard.frame()["text"] == "bridge is out" and heard.frame()["priority"] == "urgent"


def _fields(msg: object) -> dict[str, object]:
    return {name: getattr(msg, name) for name in msg.__slots__}  # type: ignore[attr-defined]
