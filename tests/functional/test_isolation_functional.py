"""Nobody where they don't belong: operation and agency isolation over WS and REST."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import RunningHub

MISSING = "ch_doesNotExist"


async def _denials(hub: RunningHub, actor: str) -> list[tuple[str, str, str]]:
    return [(r.action, r.target, r.outcome) async for r in hub.hub.engine.store.iter_audit()
            if r.actor == actor and r.action == "authz.denied"]


async def test_member_of_a_cannot_reach_b_over_ws(running_hub: RunningHub) -> None:
    b_general = running_hub.ch("B/general")
    alice = await running_hub.client("alice")
    xavier = await running_hub.client("xavier")
    await xavier.subscribe(b_general)

    replies = []
    for frame in ({"type": "subscribe", "channel": b_general, "ref": "1"},
                  {"type": "subscribe", "channel": MISSING, "ref": "2"},
                  {"type": "publish", "channel": b_general, "text": "hi",
                   "client_msg_id": "c1", "ref": "3"},
                  {"type": "publish", "channel": MISSING, "text": "hi",
                   "client_msg_id": "c2", "ref": "4"}):
        await alice.send(frame)
        replies.append(await alice.recv_type("error"))
    # The same answer for the foreign channel and the missing one, byte for byte.
    strip = [{k: v for k, v in r.items() if k != "ref"} for r in replies]
    assert strip[0] == strip[1] == strip[2] == strip[3]
    assert strip[0]["code"] == "not_found"

    # B keeps publishing; alice's socket gets nothing of it.
    for i in range(20):
        await xavier.publish(b_general, f"secret {i}")
    with pytest.raises(asyncio.TimeoutError):
        frame = await alice.recv(timeout=0.3)
        raise AssertionError(f"alice received {frame}")
    denials = await _denials(running_hub, "alice")
    assert ("authz.denied", f"channel:{b_general}", "hidden") in denials
    assert ("authz.denied", f"channel:{MISSING}", "not_found") in denials


@pytest.mark.parametrize("path", [
    "/api/channels/{ch}", "/api/channels/{ch}/messages", "/api/channels/{ch}/members",
])
async def test_member_of_a_cannot_read_b_over_rest(running_hub: RunningHub, path: str) -> None:
    foreign = await running_hub.api("GET", path.format(ch=running_hub.ch("B/general")), "alice")
    missing = await running_hub.api("GET", path.format(ch=MISSING), "alice")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert ("authz.denied", f"channel:{running_hub.ch('B/general')}", "hidden") in \
        await _denials(running_hub, "alice")


async def test_operation_b_member_list_and_channels_hidden(running_hub: RunningHub) -> None:
    op_b = running_hub.ops["B"].id
    for path in (f"/api/operations/{op_b}", f"/api/operations/{op_b}/members",
                 f"/api/operations/{op_b}/channels"):
        foreign = await running_hub.api("GET", path, "alice")
        missing = await running_hub.api("GET", path.replace(op_b, "op_nothing"), "alice")
        assert foreign.status_code == missing.status_code == 404, path
        assert foreign.json() == missing.json()
    ops = (await running_hub.api("GET", "/api/operations", "alice")).json()["operations"]
    assert [o["code"] for o in ops] == ["OP-A"]


async def test_agency_restricted_channel(running_hub: RunningHub) -> None:
    police = running_hub.ch("A/police")
    # bruno (ARMY) is a member of A but the channel is POLICE only: hidden.
    channels = (await running_hub.api(
        "GET", f"/api/operations/{running_hub.ops['A'].id}/channels", "bruno")).json()
    assert [c["name"] for c in channels["channels"]] == ["general"]
    r = await running_hub.api("GET", f"/api/channels/{police}/messages", "bruno")
    assert r.status_code == 404
    bruno = await running_hub.client("bruno")
    await bruno.send({"type": "subscribe", "channel": police, "ref": "p"})
    assert (await bruno.recv_type("error"))["code"] == "not_found"
    alice = await running_hub.client("alice")
    assert (await alice.subscribe(police))["channel"] == police


async def test_removed_member_stops_receiving(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(ch)
    r = await running_hub.api("DELETE",
                              f"/api/operations/{running_hub.ops['A'].id}/members/bruno",
                              "alice")
    assert r.status_code == 204
    frame = await bruno.recv_type("unsubscribed", timeout=2)
    assert frame["reason"] == "access_revoked"
    alice = await running_hub.client("alice")
    await alice.subscribe(ch)
    await alice.publish(ch, "after removal")
    with pytest.raises(asyncio.TimeoutError):
        got = await bruno.recv(timeout=0.3)
        raise AssertionError(f"bruno still receives {got}")
    r = await running_hub.api("GET", f"/api/channels/{ch}/messages", "bruno")
    assert r.status_code == 404


async def test_members_cannot_manage(running_hub: RunningHub) -> None:
    op_a = running_hub.ops["A"].id
    r = await running_hub.api("POST", f"/api/operations/{op_a}/channels", "bruno",
                              json={"name": "mine"})
    assert r.status_code == 403
    r = await running_hub.api("PUT", f"/api/operations/{op_a}/members/xavier", "bruno",
                              json={"role": "member"})
    assert r.status_code == 403
    r = await running_hub.api("POST", "/api/operations", "alice",
                              json={"code": "OP-X", "name": "x"})
    assert r.status_code == 404
    r = await running_hub.api("POST", f"/api/operations/{op_a}/channels", "alice",
                              json={"name": "engineering", "topic": "bridges"})
    assert r.status_code == 201 and r.json()["name"] == "engineering"
