"""liaison_client/frames.py: every frame of docs/protocol.md read as its typed object."""

from __future__ import annotations

from liaison_client.frames import (
    Ack,
    CaseAck,
    ErrorFrame,
    Message,
    OpEvent,
    Other,
    Reset,
    Subscribed,
    Unsubscribed,
    Welcome,
    parse,
)


def test_each_frame_type() -> None:
    assert parse({"type": "welcome", "connection_id": "c", "user": {"username": "a"},
                  "format": "json", "server_time": 1.0}) == \
        Welcome("c", {"username": "a"}, "json", {}, 1.0)
    assert parse({"type": "subscribed", "ref": "s1", "channel": "ch_1", "since_seq": 4,
                  "head_seq": 9, "first_seq": 1}) == Subscribed("ch_1", 4, 9, 1, "s1")
    message = parse({"type": "message", "channel": "ch_1", "seq": 5, "id": "m", "sender": "a",
                     "sender_name": "A", "agency": "P", "text": "t", "ts": 2.0,
                     "priority": "urgent", "ack_of": 3})
    assert isinstance(message, Message) and message.ack_of == 3 and message.feed == "ch_1"
    event = parse({"type": "op_event", "feed": "ops:o", "seq": 7, "kind": "alert",
                   "action": "notified", "id": "al", "version": 2, "actor": "hub", "ts": 3.0,
                   "record": {"state": "firing"}, "notice": {"users": ["bruno"]}})
    assert isinstance(event, OpEvent) and event.extra == {"notice": {"users": ["bruno"]}}
    assert parse({"type": "ack", "ref": "p", "channel": "ch_1", "client_msg_id": "x",
                  "seq": 5, "id": "m", "ts": 2.0, "duplicate": True}) == \
        Ack("ch_1", "x", 5, "m", 2.0, True, "p")
    assert parse({"type": "case_ack", "operation": "o", "id": "c", "action": "created",
                  "version": 1, "event_seq": 8}) == CaseAck("o", "c", "created", 1, 8, False)
    assert parse({"type": "reset", "channel": "ch_1", "reason": "retention", "first_seq": 10,
                  "head_seq": 20}) == Reset("ch_1", "retention", 10, 20)
    assert parse({"type": "unsubscribed", "channel": "ch_1", "reason": "access_revoked"}) == \
        Unsubscribed("ch_1", "access_revoked")
    assert parse({"type": "error", "code": "rate_limited", "reason": "slow down",
                  "retryable": True, "ref": "p", "retry_after": 0.5}) == \
        ErrorFrame("rate_limited", "slow down", True, "p", 0.5)
    assert parse({"type": "presence", "channel": "ch_1", "users": []}) == \
        Other("presence", {"type": "presence", "channel": "ch_1", "users": []})


def test_the_sdk_reads_and_sends_every_field_the_hub_has() -> None:
    """A field added to the hub's message frame or publish frame and not to the SDK fails
    here (issue 27, item 3: the SDK had dropped label and real_world)."""
    import dataclasses
    import inspect

    from channels.bodies import Priority, PublishFrame
    from hub.models import ChannelId, UserId
    from hub.models import Message as HubMessage
    from liaison_client.chat import BODY_FIELDS
    from liaison_client.client import Client
    from tests.chat import chat

    hub_message = HubMessage(channel_id=ChannelId("c"), seq=1, id="m", sender_id=UserId("u"),
                             sender="a", sender_name="A", agency="P", ts=1.0,
                             client_msg_id="ack:3",
                             label_json='{"level": "SECRET", "categories": {}}',
                             real_world=True, **chat("t", Priority.URGENT, reply_to=2))
    frame = hub_message.frame()
    sdk = {f.name for f in dataclasses.fields(Message)}
    assert set(frame) - {"type"} <= sdk, set(frame) - {"type"} - sdk
    parsed = parse(frame)
    assert isinstance(parsed, Message)
    for name in set(frame) - {"type"}:
        assert getattr(parsed, name) == frame[name], name
    sent = set(inspect.signature(Client.publish).parameters) - {"self", "fields"}
    declared = set(PublishFrame.__struct_fields__) - {"ref", "ack_of", "client_msg_id"}
    assert declared <= sent | set(BODY_FIELDS), declared - sent - set(BODY_FIELDS)


def test_the_sdk_reads_every_field_of_every_reply_the_hub_declares() -> None:
    """Each reply the hub sends (declared in hub.replies and beside the features'
    handlers) has an SDK frame with the same fields, and where the hub may send null the
    SDK says so; ``pong`` and ``board`` are read as :class:`Other`."""
    import dataclasses
    import typing

    import msgspec

    import liaison.app  # noqa: F401 - every feature's declarations, as the hub loads them
    from alerting.frames import BoardReply, CaseAckReply
    from channels.bodies import AckReply
    from hub import replies
    from hub.bodies import Reply

    pairs: dict[type[Reply], type[object] | None] = {
        replies.Welcome: Welcome, replies.Subscribed: Subscribed, replies.Reset: Reset,
        replies.Unsubscribed: Unsubscribed, replies.ErrorReply: ErrorFrame, AckReply: Ack,
        CaseAckReply: CaseAck, replies.Pong: None, BoardReply: None}
    declared = {cls for cls in Reply.__subclasses__()
                if cls.__module__.split(".")[0] in ("hub", "channels", "alerting")}
    assert declared == set(pairs), declared ^ set(pairs)  # a new reply needs its SDK frame
    for hub_reply, sdk in pairs.items():
        tag = hub_reply.__struct_config__.tag
        if sdk is None:
            assert isinstance(parse({"type": tag}), Other)
            continue
        info = msgspec.inspect.type_info(hub_reply)
        assert isinstance(info, msgspec.inspect.StructType)
        hub_fields = {f.name: f for f in info.fields}
        sdk_fields = {f.name: f for f in dataclasses.fields(sdk)}  # type: ignore[arg-type]
        assert set(sdk_fields) == set(hub_fields), (tag, set(hub_fields) ^ set(sdk_fields))
        hints = typing.get_type_hints(sdk)
        for name, field in hub_fields.items():
            nullable = field.default is msgspec.UNSET or (
                isinstance(field.type, msgspec.inspect.UnionType)
                and any(isinstance(t, msgspec.inspect.NoneType) for t in field.type.types))
            if nullable:
                assert type(None) in typing.get_args(hints[name]), (tag, name)
