"""hub/models.py: identifiers, topics, and what each model shows the world."""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given
from hypothesis import strategies as st

from channels.bodies import Priority
from hub.models import (
    ACK_PREFIX,
    HUB_SENDER,
    AuditRecord,
    Channel,
    ChannelId,
    Message,
    Operation,
    OperationId,
    OpEvent,
    Session,
    User,
    UserId,
    ack_client_msg_id,
    channel_topic,
    new_id,
    ops_topic,
)
from tests.chat import chat

USER = User(UserId("usr_1"), "alice", "Alice", "POLICE", password_hash="secret-hash",
            totp_secret="SECRET")


def message(cmid: str | None = "c-1") -> Message:
    return Message(ChannelId("ch_1"), 4, "msg_1", UserId("usr_1"), "alice", "Alice", "POLICE",
                   10.5, cmid, **chat("hello", Priority.HIGH))


def test_ids_are_prefixed_url_safe_and_distinct() -> None:
    ids = {new_id("ch") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"ch_[A-Za-z0-9_-]{12}", i) for i in ids)


def test_a_users_public_view_never_shows_secrets() -> None:
    public = USER.public()
    assert public == {"id": "usr_1", "username": "alice", "display_name": "Alice",
                      "agency": "POLICE", "is_admin": False, "is_bot": False,
                      "disabled": False, "totp_enabled": True, "lang": None}
    assert "secret-hash" not in repr(USER) and "SECRET" not in repr(USER)


def test_a_sessions_public_view_shows_no_hash() -> None:
    s = Session("tok_1", "the-hash", UserId("usr_1"), "token", 1.0, 2.0, None, "feed",
                (OperationId("op_1"),), 5.0)
    assert s.public() == {"id": "tok_1", "kind": "token", "name": "feed", "user_id": "usr_1",
                          "scope": ["op_1"], "created_at": 1.0, "expires_at": None,
                          "revoked": True}
    assert Session("s", "h", UserId("u"), "session", 0, 0, None).public()["scope"] is None


def test_operations_and_channels_show_lists_and_whether_restricted() -> None:
    op = Operation(OperationId("op_1"), "FLOOD", "Flood", "active", "RESTRICTED",
                   ("POLICE",), 1.0)
    assert op.public()["agencies"] == ["POLICE"]
    open_ch = Channel(ChannelId("ch_1"), op.id, "general", "", (), 1.0, 7, 1)
    closed_ch = Channel(ChannelId("ch_2"), op.id, "police", "", ("POLICE",), 1.0)
    assert open_ch.public()["restricted"] is False and open_ch.public()["last_seq"] == 7
    assert closed_ch.public()["restricted"] is True


def test_topics_are_derived_from_ids_on_the_server() -> None:
    ch = Channel(ChannelId("ch_9"), OperationId("op_1"), "general", "", (), 0.0)
    assert ch.broker_topic == channel_topic("op_1", "ch_9") == "ch:op_1:ch_9"
    assert ops_topic("op_1") == "ops:op_1"


def test_a_message_frame() -> None:
    assert message().frame() == {"type": "message", "channel": "ch_1", "seq": 4,
                                 "id": "msg_1", "sender": "alice", "sender_name": "Alice",
                                 "agency": "POLICE", "text": "hello", "ts": 10.5,
                                 "priority": "high"}
    assert message().feed_key == "ch_1"


def test_only_the_hubs_own_messages_show_their_client_msg_id() -> None:
    assert "client_msg_id" not in message("private-retry-key").frame()
    notice = dataclasses.replace(message("al-1a2b-1:0:0"), sender_id=HUB_SENDER)
    assert notice.frame()["client_msg_id"] == "al-1a2b-1:0:0"


def test_an_acknowledgement_frame_names_the_message_it_acknowledges() -> None:
    assert ack_client_msg_id(12) == f"{ACK_PREFIX}12"
    assert message(ack_client_msg_id(12)).frame()["ack_of"] == 12
    assert "ack_of" not in message("acknowledge-later").frame()


@given(st.integers(1, 2**53))
def test_ack_ids_round_trip(seq: int) -> None:
    assert message(ack_client_msg_id(seq)).frame()["ack_of"] == seq


def test_an_op_event_frame_carries_its_feed_and_data() -> None:
    e = OpEvent(OperationId("op_1"), 3, "case", "updated", "case_1", 2, "bruno", 9.0,
                {"record": {"id": "case_1"}, "changes": {"severity": ["minor", "major"]}})
    assert e.feed_key == "ops:op_1"
    assert e.frame() == {"type": "op_event", "feed": "ops:op_1", "seq": 3, "kind": "case",
                         "action": "updated", "id": "case_1", "version": 2, "actor": "bruno",
                         "ts": 9.0, "record": {"id": "case_1"},
                         "changes": {"severity": ["minor", "major"]}}


def test_an_audit_record_as_a_dict_has_every_field() -> None:
    r = AuditRecord(1, 2.0, "alice", "login", "ses_1", "ok", "", "10.0.0.1", {"k": 1},
                    "prev", "hash")
    assert r.as_dict() == {"seq": 1, "ts": 2.0, "actor": "alice", "action": "login",
                           "target": "ses_1", "outcome": "ok", "operation_id": "",
                           "client": "10.0.0.1", "details": {"k": 1}, "prev_hash": "prev",
                           "hash": "hash"}
