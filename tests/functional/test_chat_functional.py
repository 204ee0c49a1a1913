"""Live chat between agencies over both wire formats, against a real hub."""

from __future__ import annotations

from typing import Any

import pytest

from hub.clock import ManualClock
from tests.chat import sdk_messages
from tests.conftest import RunningHub


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
async def test_two_agencies_chat_live(running_hub: RunningHub, fmt: str) -> None:
    """Two bots written with liaison_client, as an agency's tools would be."""
    ch = running_hub.ch("A/general")
    alice = await running_hub.bot("alice", fmt)
    bruno = await running_hub.bot("bruno", fmt)
    await alice.subscribe(ch)
    await bruno.subscribe(ch)

    ack = await alice.publish(ch, "Bridge 4 is closed, reroute convoys", priority="urgent")
    assert ack.seq == 1 and ack.duplicate is False
    [got] = await sdk_messages(bruno, 1)
    assert got.text == "Bridge 4 is closed, reroute convoys"
    assert (got.sender, got.agency, got.priority) == ("alice", "POLICE", "urgent")
    assert got.seq == 1 and got.id == ack.id and got.channel == ch

    ack2 = await bruno.publish(ch, "Copy, sending engineers")
    assert ack2.seq == 2
    mine = await sdk_messages(alice, 2)  # alice receives her own message too, then bruno's
    assert [m.seq for m in mine] == [1, 2]
    assert mine[1].sender == "bruno" and mine[1].agency == "ARMY"


async def test_json_and_msgpack_clients_share_a_channel(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.bot("alice", "json")
    bruno = await running_hub.bot("bruno", "msgpack")
    await alice.subscribe(ch)
    await bruno.subscribe(ch)
    await alice.publish(ch, "héllo ✓")
    assert (await sdk_messages(bruno, 1))[0].text == "héllo ✓"
    await bruno.publish(ch, "reçu")
    assert [m.text for m in await sdk_messages(alice, 2)] == ["héllo ✓", "reçu"]


async def test_observer_reads_but_cannot_publish(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    olga = await running_hub.client("olga")
    await olga.subscribe(ch)
    reply = await olga.publish(ch, "may I?")
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    r = await running_hub.api("POST", f"/api/channels/{ch}/messages", "olga",
                              json={"text": "may I?", "client_msg_id": "x1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    history = await running_hub.api("GET", f"/api/channels/{ch}/messages", "olga")
    assert history.status_code == 200 and history.json()["messages"] == []


async def test_presence_and_typing(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    await alice.subscribe(ch)
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(ch)

    async def presence_with(client, names: set[str]) -> dict:  # type: ignore[no-untyped-def]
        while True:  # generous: presence follows heartbeats, slow on a loaded machine
            frame = await client.recv(timeout=30)
            if frame["type"] == "presence" and {u["username"] for u in frame["users"]} == names:
                return frame

    frame = await presence_with(alice, {"alice", "bruno"})
    assert {u["agency"] for u in frame["users"]} == {"POLICE", "ARMY"}
    await bruno.send({"type": "typing", "channel": ch})
    while (typing := await alice.recv(timeout=30))["type"] != "typing":
        pass
    assert typing["user"] == "bruno"
    await bruno.close()
    await presence_with(alice, {"alice"})


async def test_typing_is_relayed_at_most_once_per_two_seconds(start_hub: Any,
                                                               hub_settings: Any) -> None:
    clock = ManualClock(1_000_000.0)
    hub = await start_hub(hub_settings, clock=clock)
    ch = hub.ch("A/general")
    alice, bruno = await hub.client("alice"), await hub.client("bruno")
    await alice.subscribe(ch)
    await bruno.subscribe(ch)

    async def typing_frames_until_message() -> int:
        seen = 0
        while True:
            frame = await alice.recv(timeout=30)
            if frame["type"] == "typing":
                seen += 1
            if frame["type"] == "message":
                return seen

    for _ in range(3):
        await bruno.send({"type": "typing", "channel": ch})
    await bruno.publish(ch, "sentinel 1")
    assert await typing_frames_until_message() == 1
    clock.advance(2.0)
    for _ in range(3):
        await bruno.send({"type": "typing", "channel": ch})
    await bruno.publish(ch, "sentinel 2")
    assert await typing_frames_until_message() == 1


async def test_rest_history_is_paged(running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    alice = await running_hub.client("alice")
    for i in range(7):
        await alice.publish(ch, f"m{i}")
    r = await running_hub.api("GET", f"/api/channels/{ch}/messages?limit=3", "bruno")
    page = r.json()
    assert [m["seq"] for m in page["messages"]] == [5, 6, 7] and page["has_more"]
    r = await running_hub.api("GET", f"/api/channels/{ch}/messages?limit=3&before_seq=5",
                              "bruno")
    assert [m["seq"] for m in r.json()["messages"]] == [2, 3, 4]
    r = await running_hub.api("GET", f"/api/channels/{ch}/messages?after_seq=5", "bruno")
    assert [m["seq"] for m in r.json()["messages"]] == [6, 7]
    bad = await running_hub.api("GET", f"/api/channels/{ch}/messages?limit=abc", "bruno")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"


async def test_operation_presence_respects_agency_restrictions(running_hub: RunningHub) -> None:
    op_a = running_hub.ops["A"].id
    alice = await running_hub.client("alice")
    await alice.subscribe(running_hub.ch("A/police"))
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(running_hub.ch("A/general"))
    seen_by_alice = (await running_hub.api("GET", f"/api/operations/{op_a}/presence",
                                           "alice")).json()["online"]
    assert [u["username"] for u in seen_by_alice] == ["alice", "bruno"]
    # bruno (ARMY) cannot see the POLICE channel, so not who is in it either.
    seen_by_bruno = (await running_hub.api("GET", f"/api/operations/{op_a}/presence",
                                           "bruno")).json()["online"]
    assert [u["username"] for u in seen_by_bruno] == ["bruno"]
    foreign = await running_hub.api("GET", f"/api/operations/{op_a}/presence", "xavier")
    assert foreign.status_code == 404


async def test_urgent_messages_are_acknowledged_once_per_person(running_hub: RunningHub) -> None:
    hub = running_hub
    ch = hub.ch("A/general")
    alice, bruno = await hub.client("alice"), await hub.client("bruno")
    await alice.subscribe(ch)
    urgent = await alice.publish(ch, "Evacuate sector 4 now", priority="urgent")
    normal = await alice.publish(ch, "Coffee is ready")
    await alice.messages(2)
    for _ in range(2):  # a retry is the same acknowledgement
        await bruno.send({"type": "publish", "channel": ch, "ack_of": urgent["seq"], "ref": "a"})
        ack = await bruno.recv_type("ack")
    assert ack["duplicate"] is True
    [receipt] = await alice.messages(1)
    assert receipt["ack_of"] == urgent["seq"] and receipt["sender"] == "bruno"
    await bruno.send({"type": "publish", "channel": ch, "ack_of": normal["seq"], "ref": "b"})
    assert (await bruno.recv_type("error"))["code"] == "bad_request"
    await bruno.send({"type": "publish", "channel": ch, "text": "forged",
                      "client_msg_id": f"ack:{urgent['seq']}", "ref": "c"})
    assert (await bruno.recv_type("error"))["code"] == "bad_request"
    r = await hub.api("POST", f"/api/channels/{ch}/messages/{urgent['seq']}/ack", "olga")
    assert r.status_code == 403  # observers read but do not post
    r = await hub.api("POST", f"/api/channels/{ch}/messages/{urgent['seq']}/ack", "alice")
    assert r.status_code == 201 and r.json()["ack_of"] == urgent["seq"]
    r = await hub.api("POST", f"/api/channels/{ch}/messages/{urgent['seq']}/ack", "xavier")
    assert r.status_code == 404
