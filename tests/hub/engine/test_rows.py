"""hub/engine/rows.py: the field lists and row mappers both engines share.

The mappers take plain values as either engine reads them (SQLite gives
numbers, a Redis hash gives strings for some), and the field lists are what
both engines let an update change; the tests check both engines honour them.
"""

from __future__ import annotations

import pytest

from channels.bodies import Priority
from hub.engine import Engine
from hub.engine import rows as rowmap
from hub.models import (
    Channel,
    ChannelId,
    Message,
    Operation,
    OperationId,
    Session,
    User,
    UserId,
)
from tests.chat import chat

USER_ROW = {"id": "usr_1", "username": "alice", "display_name": "Alice", "agency": "POLICE",
            "is_admin": 1, "is_bot": 0, "disabled": 0, "password_hash": "h",
            "totp_secret": None, "created_at": 5.0}


def test_a_user_row_becomes_a_user_with_real_booleans() -> None:
    u = rowmap.user(USER_ROW)
    assert u == User(UserId("usr_1"), "alice", "Alice", "POLICE", True, False, False, "h",
                     None, 5.0)
    assert u.is_admin is True and u.is_bot is False


def test_a_session_keeps_its_scope_as_a_tuple_or_none() -> None:
    row = {"id": "ses_1", "token_hash": "t", "user_id": "usr_1", "kind": "bot",
           "created_at": 1.0, "last_seen_at": 2.0, "expires_at": None, "name": "feed",
           "scope": ["push", "read"], "revoked_at": None}
    s = rowmap.session(row)
    assert s == Session("ses_1", "t", UserId("usr_1"), "bot", 1.0, 2.0, None, "feed",
                        ("push", "read"), None)
    assert rowmap.session({**row, "scope": None}).scope is None
    assert rowmap.session({**row, "scope": []}).scope == ()  # no scope is not all scopes


def test_operations_and_channels_keep_their_agencies_as_tuples() -> None:
    op = rowmap.operation({"id": "op_1", "code": "FLOOD", "name": "Flood", "status": "active",
                           "classification": "RESTRICTED", "agencies": ["POLICE", "ARMY"],
                           "created_at": 3.0})
    assert op == Operation(OperationId("op_1"), "FLOOD", "Flood", "active", "RESTRICTED",
                           ("POLICE", "ARMY"), 3.0)
    ch = rowmap.channel({"id": "ch_1", "operation_id": "op_1", "name": "general",
                         "topic": "", "agencies": [], "created_at": 3.0, "last_seq": "12",
                         "first_seq": "4"})
    assert ch == Channel(ChannelId("ch_1"), OperationId("op_1"), "general", "", (), 3.0, 12, 4)


def test_a_message_row_from_a_stream_entry_has_its_numbers_back() -> None:
    body = chat("hi", Priority.URGENT)
    m = rowmap.message({"channel_id": "ch_1", "seq": "7", "id": "msg_1",
                        "sender_id": "usr_1", "sender": "alice", "sender_name": "Alice",
                        "agency": "POLICE", "ts": "9.5", "client_msg_id": "c-1",
                        "body_type": "chat", "body_version": "1", "body": body["body"]})
    assert m == Message(ChannelId("ch_1"), 7, "msg_1", UserId("usr_1"), "alice", "Alice",
                        "POLICE", 9.5, "c-1", **body)


def test_an_event_and_an_audit_record_are_mapped_field_for_field() -> None:
    e = rowmap.op_event({"operation_id": "op_1", "seq": "3", "kind": "case",
                         "action": "created", "record_id": "case_1", "version": "1",
                         "actor": "alice", "ts": "1.5", "data": {"record": {}}})
    assert (e.seq, e.version, e.ts, e.data) == (3, 1, 1.5, {"record": {}})
    a = rowmap.audit_record({"seq": "2", "ts": 1.0, "actor": "alice", "action": "login",
                             "target": "ses_1", "outcome": "ok", "operation_id": "",
                             "client": "127.0.0.1", "details": {}, "prev_hash": "p",
                             "hash": "h"})
    assert (a.seq, a.action, a.prev_hash, a.hash) == (2, "login", "p", "h")


def test_a_row_missing_a_field_is_an_error_not_a_half_model() -> None:
    row = dict(USER_ROW)
    del row["agency"]
    with pytest.raises(KeyError):
        rowmap.user(row)


def test_the_field_lists_leave_identities_and_sequences_out() -> None:
    fixed = {"id", "username", "code", "operation_id", "last_seq", "first_seq",
             "created_at", "is_bot"}
    for fields in (rowmap.USER_FIELDS, rowmap.OPERATION_FIELDS, rowmap.CHANNEL_FIELDS):
        assert not fields & fixed
    assert "name" not in rowmap.CHANNEL_FIELDS  # a channel's name is its address


# --- both engines honour the lists ------------------------------------------------------


async def test_every_listed_user_field_can_change_and_reads_back(engine: Engine) -> None:
    store = engine.store
    await store.create_user(rowmap.user(USER_ROW))
    await store.update_user(UserId("usr_1"), display_name="Alice B", agency="ARMY",
                            is_admin=False, disabled=True, password_hash="h2",
                            totp_secret="S3CRET", clearance='{"level":"SECRET"}', lang="es")
    u = await store.get_user(UserId("usr_1"))
    assert u is not None
    assert (u.display_name, u.agency, u.is_admin, u.disabled, u.password_hash,
            u.totp_secret, u.clearance, u.lang) == ("Alice B", "ARMY", False, True, "h2",
                                                    "S3CRET", '{"level":"SECRET"}', "es")
    assert set(rowmap.USER_FIELDS) == {"display_name", "agency", "is_admin", "disabled",
                                       "password_hash", "totp_secret", "clearance", "lang"}


@pytest.mark.parametrize("field", ["username", "id", "is_bot", "created_at"])
async def test_a_user_field_off_the_list_is_refused_and_nothing_changes(
        engine: Engine, field: str) -> None:
    store = engine.store
    await store.create_user(rowmap.user(USER_ROW))
    with pytest.raises(ValueError, match="cannot update"):
        await store.update_user(UserId("usr_1"), display_name="changed", **{field: "x"})
    u = await store.get_user(UserId("usr_1"))
    assert u is not None and u.display_name == "Alice" and u.username == "alice"


async def test_operation_and_channel_updates_follow_their_lists(engine: Engine) -> None:
    store = engine.store
    op = Operation(OperationId("op_1"), "FLOOD", "Flood", "active", "UNCLASSIFIED", (), 1.0)
    await store.create_operation(op)
    await store.update_operation(op.id, name="Flood North", status="closed",
                                 classification="RESTRICTED", agencies=("POLICE",))
    got = await store.get_operation(op.id)
    assert got is not None and (got.name, got.status, got.classification, got.agencies) == \
        ("Flood North", "closed", "RESTRICTED", ("POLICE",))
    with pytest.raises(ValueError, match="cannot update"):
        await store.update_operation(op.id, code="OTHER")
    ch = Channel(ChannelId("ch_1"), op.id, "general", "", (), 1.0, label='{"level":"A"}')
    await store.create_channel(ch)
    got_ch = await store.get_channel(ch.id)
    assert got_ch is not None and got_ch.label == '{"level":"A"}'
    await store.update_channel(ch.id, topic="levels", agencies=("ARMY",), label="")
    got_ch = await store.get_channel(ch.id)
    assert got_ch is not None and (got_ch.topic, got_ch.agencies, got_ch.label) == \
        ("levels", ("ARMY",), "")
    with pytest.raises(ValueError, match="cannot update"):
        await store.update_channel(ch.id, name="renamed")
