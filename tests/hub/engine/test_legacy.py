"""hub/engine/legacy.py: a message as releases before the envelope stored it, read today.

The migrations that use it run on real data in tests/functional/test_upgrade_functional.py;
here, that an old message's fields become the chat body the current code reads.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.bodies import ChatBody, Priority
from hub.bodies import decode
from hub.engine.legacy import BODY_TYPE, body, entry


# Every release refused a blank message, so every old message says something.
@given(st.text(min_size=1, max_size=200).filter(str.strip),
       st.sampled_from([str(p) for p in Priority]))
def test_an_old_message_reads_as_the_chat_body_it_said(text: str, priority: str) -> None:
    read = decode(body(text, priority), ChatBody)
    assert (read.text, str(read.priority)) == (text, priority)


def test_an_old_stream_entry_takes_the_envelope_layout() -> None:
    old = {"seq": "7", "id": "m-7", "sender": "pia", "text": "Levee", "priority": "urgent",
           "ts": "1.5"}
    new = entry(old)
    assert {k: v for k, v in new.items() if k != "body"} == {
        "seq": "7", "id": "m-7", "sender": "pia", "ts": "1.5",
        "body_type": BODY_TYPE, "body_version": "1"}
    assert isinstance(new["body"], bytes)
    assert decode(new["body"], ChatBody).priority is Priority.URGENT
    plain = entry({"seq": "1", "text": "ok"})["body"]
    assert isinstance(plain, bytes) and decode(plain, ChatBody).priority is Priority.NORMAL
