"""channels/service.py without sockets: operations, membership, channels and messages.

Every call goes through the real access gate and the real embedded store; the
seeded world (tests/conftest.py) has operation A (POLICE and ARMY, with a
POLICE-only channel) and operation B, and alice (A coordinator, POLICE),
bruno (A member, ARMY), olga (A observer, POLICE), xavier (B member, POLICE).
"""

from __future__ import annotations

from typing import Any

import pytest

from channels.admin_bodies import (
    ChannelChanges,
    MemberRole,
    NewChannel,
    NewOperation,
    OperationChanges,
)
from channels.bodies import ChatBody, Priority, chat_body
from channels.service import ChannelService
from hub.bodies import convert
from hub.errors import BadRequest, Conflict, Forbidden, LimitExceeded, NotFound
from hub.labels import stored_view
from hub.models import HUB_SENDER, ChannelId, Role, ack_client_msg_id
from tests.conftest import Embedded


def svc(env: Embedded) -> ChannelService:
    return env.services.channels


async def audit_actions(env: Embedded) -> list[tuple[str, str, str]]:
    return [(r.actor, r.action, r.outcome) async for r in env.store.iter_audit()]


# --- operations -------------------------------------------------------------------------


async def test_an_admin_creates_an_operation_with_defaults(embedded: Embedded) -> None:
    root = await embedded.principal("root")
    op = await svc(embedded).create_operation(root, NewOperation(code="FLOOD-7", name="Flood"),
                                              "t")
    assert (op.code, op.status, stored_view(op.classification)[1], op.agencies) == \
        ("FLOOD-7", "active", "UNCLASSIFIED", ())
    assert op.created_at == embedded.clock.now()
    assert ("root", "operation.create", "ok") in await audit_actions(embedded)


async def test_a_non_admin_cannot_create_an_operation_and_it_is_recorded(
        embedded: Embedded) -> None:
    alice = await embedded.principal("alice")
    with pytest.raises(NotFound):
        await svc(embedded).create_operation(alice,
                                             convert({"code": "X", "name": "X"}, NewOperation), "t")
    assert ("alice", "authz.denied", "forbidden") in await audit_actions(embedded)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "No code"}, "field 'code' is required"),
    ({"code": "has space", "name": "x"}, "field 'code' must be a code: letters, digits"),
    ({"code": "C" * 33, "name": "x"}, "field 'code': expected `str` of length <= 32"),
    ({"code": "OK", "name": "x", "status": "paused"},
     "field 'status' must be one of active, closed, planned"),
    ({"code": "OK", "name": "x", "agencies": "POLICE"}, "field 'agencies': expected `array"),
    ({"code": "OK"}, "field 'name' is required"),
])
async def test_an_invalid_operation_is_refused_naming_the_field(
        embedded: Embedded, data: dict[str, Any], message: str) -> None:
    root = await embedded.principal("root")
    with pytest.raises(BadRequest, match=message):
        await svc(embedded).create_operation(root, convert(data, NewOperation), "t")


async def test_operation_codes_are_unique(embedded: Embedded) -> None:
    root = await embedded.principal("root")
    with pytest.raises(Conflict, match="OP-A is taken"):
        await svc(embedded).create_operation(root, NewOperation(code="OP-A", name="Again"), "t")


async def test_only_an_admin_updates_the_operation(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    root, alice = await embedded.principal("root"), await embedded.principal("alice")
    updated = await svc(embedded).update_operation(
        root, op.id, OperationChanges(name="Alpha North", classification="RESTRICTED"), "t")
    assert (updated.name, stored_view(updated.classification)[1]) == ("Alpha North",
                                                                        "RESTRICTED")
    with pytest.raises(Forbidden, match="manage_operation"):  # she sees it: a role matter
        await svc(embedded).update_operation(alice, op.id,
                                             convert({"name": "Mine"}, OperationChanges), "t")
    with pytest.raises(BadRequest, match="field 'code' is not accepted"):
        await svc(embedded).update_operation(root, op.id,
                                             convert({"code": "NEW"}, OperationChanges), "t")
    with pytest.raises(BadRequest, match="field 'status'"):
        await svc(embedded).update_operation(root, op.id,
                                             convert({"status": "done"}, OperationChanges), "t")
    closed = await svc(embedded).update_operation(root, op.id,
                                                  OperationChanges(status="closed"), "t")
    assert closed.status == "closed"
    with pytest.raises(Forbidden, match="post"):  # a closed operation takes no messages
        await svc(embedded).messages.publish(alice, embedded.channels["A/general"].id,
            body=ChatBody(text="late"),
                                    client_msg_id="c",
                                    client="t")


async def test_each_person_lists_only_their_operations_with_their_role(
        embedded: Embedded) -> None:
    listed = {name: [(op.code, role) for op, role in await svc(embedded).list_operations(
        await embedded.principal(name))] for name in ("alice", "olga", "xavier")}
    assert listed == {"alice": [("OP-A", Role.COORDINATOR)],
                      "olga": [("OP-A", Role.OBSERVER)],
                      "xavier": [("OP-B", Role.MEMBER)]}
    root_sees = {op.code for op, _ in await svc(embedded).list_operations(
        await embedded.principal("root"))}
    assert root_sees == {"OP-A", "OP-B"}


async def test_another_operation_is_not_found_not_forbidden(embedded: Embedded) -> None:
    xavier = await embedded.principal("xavier")
    for op_id in (embedded.ops["A"].id, "op_does_not_exist"):
        with pytest.raises(NotFound) as err:
            await svc(embedded).get_operation(xavier, op_id, "t")
        assert str(err.value) == str(NotFound())


# --- membership ---------------------------------------------------------------------------


async def test_a_coordinator_adds_changes_and_removes_a_member(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    alice = await embedded.principal("alice")
    await embedded.services.hub.auth.create_user(username="dana", display_name="Dana",
                                                 agency="ARMY", password="pw-long-enough-1",
                                                 actor="t")
    m = await svc(embedded).set_member(alice, op.id, "dana", "observer", "t")
    assert m.role is Role.OBSERVER
    await svc(embedded).set_member(alice, op.id, "dana", "member", "t")
    roles = {u.username: m.role for m, u in await svc(embedded).list_members(alice, op.id, "t")}
    assert roles["dana"] is Role.MEMBER
    await svc(embedded).remove_member(alice, op.id, "dana", "t")
    assert "dana" not in {u.username for _, u in await embedded.store.list_members(op.id)}
    with pytest.raises(NotFound, match="no such member"):
        await svc(embedded).remove_member(alice, op.id, "dana", "t")


async def test_membership_rules(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    alice = await embedded.principal("alice")
    with pytest.raises(BadRequest,
                       match="field 'role' must be one of coordinator, member, observer"):
        convert({"role": "boss"}, MemberRole)
    with pytest.raises(NotFound, match="no such user"):
        await svc(embedded).set_member(alice, op.id, "nobody", "member", "t")
    await embedded.services.hub.auth.create_user(username="ngo", display_name="NGO",
                                                 agency="RED-CROSS",
                                                 password="pw-long-enough-1", actor="t")
    with pytest.raises(BadRequest, match="agency RED-CROSS does not take part in OP-A"):
        await svc(embedded).set_member(alice, op.id, "ngo", "member", "t")
    with pytest.raises(BadRequest, match="coordinators cannot change their own role"):
        await svc(embedded).set_member(alice, op.id, "alice", "member", "t")
    bruno = await embedded.principal("bruno")
    with pytest.raises(Forbidden, match="manage_members"):
        await svc(embedded).set_member(bruno, op.id, "olga", "coordinator", "t")


# --- channels ----------------------------------------------------------------------------


async def test_channel_names_are_lower_cased_and_checked(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    alice = await embedded.principal("alice")
    ch = await svc(embedded).create_channel(alice, op.id, convert({"name": "Logistics",
                                                           "topic": "fuel"}, NewChannel), "t")
    assert (ch.name, ch.topic, ch.agencies) == ("logistics", "fuel", ())
    for bad in ("two words", "x" * 49, "é-accent"):
        with pytest.raises(BadRequest, match="'name'"):
            await svc(embedded).create_channel(alice, op.id,
                                               convert({"name": bad}, NewChannel), "t")
    with pytest.raises(BadRequest, match="'agencies' must take part in the operation"):
        await svc(embedded).create_channel(
            alice, op.id, NewChannel(name="ngo", agencies=["RED-CROSS"]), "t")


async def test_an_agency_channel_is_invisible_to_other_agencies(embedded: Embedded) -> None:
    op = embedded.ops["A"]
    police = embedded.channels["A/police"]
    names = {who: sorted(c.name for c in await svc(embedded).list_channels(
        await embedded.principal(who), op.id, "t")) for who in ("alice", "bruno", "root")}
    assert names == {"alice": ["general", "police"], "bruno": ["general"],
                     "root": ["general", "police"]}
    bruno = await embedded.principal("bruno")
    with pytest.raises(NotFound):
        await svc(embedded).get_channel(bruno, police.id, "t")
    with pytest.raises(NotFound):
        await svc(embedded).messages.history(bruno, police.id, before_seq=None, after_seq=None,
                                    limit=10, client="t")
    members = {u.username for _, u in await svc(embedded).channel_members(
        await embedded.principal("olga"), police.id, "t")}
    assert members == {"alice", "olga"}  # bruno is ARMY


async def test_updating_a_channel(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    alice, bruno = await embedded.principal("alice"), await embedded.principal("bruno")
    ch = await svc(embedded).update_channel(alice, general.id,
                                            convert({"topic": "levels"}, ChannelChanges), "t")
    assert ch.topic == "levels"
    with pytest.raises(BadRequest, match="field 'name' is not accepted"):
        await svc(embedded).update_channel(alice, general.id,
                                           convert({"name": "renamed"}, ChannelChanges), "t")
    with pytest.raises(BadRequest, match="must take part"):
        await svc(embedded).update_channel(alice, general.id,
                                           convert({"agencies": ["NAVY"]}, ChannelChanges), "t")
    with pytest.raises(Forbidden, match="manage_channels"):
        await svc(embedded).update_channel(bruno, general.id,
                                           convert({"topic": "mine"}, ChannelChanges), "t")
    await svc(embedded).update_channel(alice, general.id,
                                       convert({"agencies": ["POLICE"]}, ChannelChanges), "t")
    with pytest.raises(NotFound):  # now bruno cannot see it at all
        await svc(embedded).get_channel(bruno, general.id, "t")


# --- messages ----------------------------------------------------------------------------


async def test_publish_is_idempotent_by_client_msg_id(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    bruno = await embedded.principal("bruno")
    first, created = await svc(embedded).messages.publish(bruno, general.id,
        body=ChatBody(text="on my way"),
                                                 client_msg_id="c-1", client="t")
    again, created_again = await svc(embedded).messages.publish(bruno, general.id,
        body=ChatBody(text="on my way"),
                                                       client_msg_id="c-1", client="t")
    assert created and not created_again and again == first
    assert (first.sender, first.sender_name, first.agency) == ("bruno", "Bruno", "ARMY")
    history, more = await svc(embedded).messages.history(bruno, general.id, before_seq=None,
                                                after_seq=None, limit=10, client="t")
    assert [chat_body(m).text for m in history] == ["on my way"] and not more


async def test_history_pages_backwards_and_forwards(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    alice = await embedded.principal("alice")
    for i in range(5):
        await svc(embedded).messages.publish(alice, general.id,
            body=ChatBody(text=f"m{i}"), client_msg_id=f"h{i}", client="t")

    async def page(**kw: Any) -> list[str]:
        found, _ = await svc(embedded).messages.history(alice, general.id, client="t", **kw)
        return [chat_body(m).text for m in found]

    assert await page(before_seq=None, after_seq=None, limit=2) == ["m3", "m4"]
    assert await page(before_seq=4, after_seq=None, limit=2) == ["m1", "m2"]
    assert await page(before_seq=None, after_seq=2, limit=2) == ["m2", "m3"]


async def test_observers_read_but_do_not_post(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    olga = await embedded.principal("olga")
    with pytest.raises(Forbidden, match="post"):
        await svc(embedded).messages.publish(olga, general.id,
            body=ChatBody(text="hi"), client_msg_id="o-1", client="t")
    assert await svc(embedded).messages.history(olga, general.id, before_seq=None, after_seq=None,
                                       limit=5, client="t") == ([], False)


async def test_text_longer_than_the_limit_is_refused(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    alice = await embedded.principal("alice")
    limit = embedded.services.hub.settings.max_text_chars
    with pytest.raises(LimitExceeded, match=f"longer than {limit}"):
        await svc(embedded).messages.publish(alice, general.id,
            body=ChatBody(text="x" * (limit + 1)),
                                    client_msg_id="long",
                                    client="t")


async def test_only_an_urgent_message_can_be_acknowledged_and_once(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    alice, bruno = await embedded.principal("alice"), await embedded.principal("bruno")
    urgent, _ = await svc(embedded).messages.publish(alice, general.id,
        body=ChatBody(text="evacuate now", priority=Priority.URGENT),
                                            client_msg_id="u-1",
                                            client="t")
    normal, _ = await svc(embedded).messages.publish(alice, general.id, body=ChatBody(text="fyi"),
                                            client_msg_id="n-1",
                                            client="t")
    ack, created = await svc(embedded).messages.publish(bruno, general.id,
        body=ChatBody(text="", priority=Priority.URGENT),
                                                        client_msg_id="x", client="t",
                                               ack_of=urgent.seq)
    assert created and chat_body(ack).text == f"acknowledged message #{urgent.seq}"
    assert chat_body(ack).priority is Priority.NORMAL
    assert ack.client_msg_id == ack_client_msg_id(urgent.seq)
    _, again = await svc(embedded).messages.publish(bruno, general.id,
        body=ChatBody(text=""), client_msg_id="y", client="t",
                                           ack_of=urgent.seq)
    assert not again  # the same person acknowledging twice stores it once
    for seq in (normal.seq, 999):
        with pytest.raises(BadRequest, match="only an urgent message"):
            await svc(embedded).messages.publish(bruno, general.id,
                body=ChatBody(text=""), client_msg_id="z", client="t", ack_of=seq)


async def test_the_hub_posts_notices_once_and_only_into_existing_channels(
        embedded: Embedded) -> None:
    op = embedded.ops["A"]
    posted = await svc(embedded).messages.post_as_hub(op.id, "general", text="alert!",
                                             client_msg_id="notice-1",
                                             priority=Priority.URGENT)
    again = await svc(embedded).messages.post_as_hub(op.id, "general", text="alert!",
                                            client_msg_id="notice-1",
                                            priority=Priority.URGENT)
    assert posted is not None and again is not None and again.seq == posted.seq
    assert (posted.sender_id, posted.sender, posted.agency) == (HUB_SENDER, "hub", "HUB")
    assert posted.frame()["client_msg_id"] == "notice-1"  # says what the notice is about
    assert await svc(embedded).messages.post_as_hub(op.id, "missing", text="x", client_msg_id="n2",
                                           priority=Priority.NORMAL) is None


async def test_a_feed_reads_the_channel_from_a_sequence(embedded: Embedded) -> None:
    general = embedded.channels["A/general"]
    alice = await embedded.principal("alice")
    for i in range(3):
        await svc(embedded).messages.publish(alice, general.id,
            body=ChatBody(text=f"f{i}"), client_msg_id=f"f{i}", client="t")
    feed = await svc(embedded).open_feed(alice, general.id, "t")
    assert feed.chat and feed.topic == general.broker_topic
    assert await svc(embedded).feed_bounds(feed) == (1, 3)
    items = await svc(embedded).read_feed(feed, after_seq=1, limit=10)
    assert [i.seq for i in items] == [2, 3]
    gone = type(feed)(key=ChannelId("ch_gone"), operation_id=feed.operation_id,
                      topic="x", chat=True)
    with pytest.raises(NotFound):
        await svc(embedded).feed_bounds(gone)
