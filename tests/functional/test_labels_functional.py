"""Confidentiality labels through a real hub (both engines): a channel's label decides
who may see it at all, over REST and WebSocket, indistinguishably from a missing
channel; labels are checked where they are set, and changes are audited.

The matrix: users at each clearance and agency against channels at each level and
releasability. (Cases, messages, alerts, notices, webhooks and exports carry labels
in later steps of the same work; see docs/architecture.md, "Labels".)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import RunningHub

MISSING = "ch_doesNotExist"
SECRET_POLICE = {"level": "SECRET", "categories": {"REL TO": ["POLICE"]}}

#: channel -> its label in the request
CHANNELS: dict[str, Any] = {"c-restricted": "RESTRICTED", "c-secret": "SECRET",
                            "c-secret-police": SECRET_POLICE}
#: user -> (clearance, the channels they may see)
READERS = {
    "alice": ("SECRET", {"c-restricted", "c-secret", "c-secret-police"}),  # POLICE
    "bruno": ("SECRET", {"c-restricted", "c-secret"}),                     # ARMY
    "olga": ("RESTRICTED", {"c-restricted"}),                              # POLICE
}


async def _labelled(hub: RunningHub) -> dict[str, str]:
    """Raise operation A's ceiling to SECRET, make the matrix's channels, clear the users."""
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root", json={"label": "SECRET"})
    assert r.status_code == 200, r.text
    assert (r.json()["classification"], r.json()["colour"]) == ("SECRET", "#a3161d")
    ids = {}
    for name, label in CHANNELS.items():
        r = await hub.api("POST", f"/api/operations/{op}/channels", "root",
                          json={"name": name, "label": label})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    await hub.clear(**{user: level for user, (level, _) in READERS.items()})
    return ids


async def test_each_reader_sees_exactly_the_channels_their_clearance_reaches(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ids = await _labelled(hub)
    op = hub.ops["A"].id
    for user, (_, visible) in READERS.items():
        listed = await hub.api("GET", f"/api/operations/{op}/channels", user)
        names = {c["name"] for c in listed.json()["channels"]} & set(CHANNELS)
        assert names == visible, user
        missing = await hub.api("GET", f"/api/channels/{MISSING}/messages", user)
        for name, ch in ids.items():
            for path in (f"/api/channels/{ch}", f"/api/channels/{ch}/messages",
                         f"/api/channels/{ch}/members"):
                r = await hub.api("GET", path, user)
                if name in visible:
                    assert r.status_code == 200, (user, path, r.text)
                else:  # exactly what a channel that does not exist answers
                    assert (r.status_code, r.json()) == (404, missing.json()), (user, path)
        client = await hub.client(user)
        await client.send({"type": "subscribe", "channel": MISSING, "ref": "m"})
        nothing = {k: v for k, v in (await client.recv_type("error")).items() if k != "ref"}
        for name, ch in ids.items():
            await client.send({"type": "subscribe", "channel": ch, "ref": name})
            if name in visible:
                assert (await client.recv_type("subscribed"))["ref"] == name
            else:
                refused = await client.recv_type("error")
                assert {k: v for k, v in refused.items() if k != "ref"} == nothing, user


async def test_a_channel_shows_its_marking_and_a_post_reaches_only_its_readers(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ids = await _labelled(hub)
    r = await hub.api("GET", f"/api/channels/{ids['c-secret-police']}", "alice")
    assert r.json()["marking"] == "SECRET REL TO POLICE"
    assert r.json()["label"] == SECRET_POLICE and r.json()["agencies"] == ["POLICE"]
    alice, bruno = await hub.client("alice"), await hub.client("bruno")
    await alice.subscribe(ids["c-secret-police"])
    await bruno.subscribe(ids["c-secret"])
    await alice.publish(ids["c-secret-police"], "for police eyes")
    [seen] = await alice.messages(1)
    assert seen["text"] == "for police eyes"
    with pytest.raises(asyncio.TimeoutError):  # presence frames may come; no message does
        got = await bruno.messages(1, timeout=0.5)
        raise AssertionError(f"bruno received {got}")


@pytest.mark.parametrize(("body", "says"), [
    ({"name": "too-high", "label": "SECRET"}, "'label': SECRET is above its container's"),
    ({"name": "foreign", "label": {"level": "RESTRICTED", "categories": {"REL TO": ["UN"]}}},
     "'label': REL TO UN is not an agency of the operation"),
    ({"name": "bad", "label": {"level": "COSMIC"}}, "'label.level' must be one of"),
    ({"name": "both", "agencies": ["ARMY"], "label": SECRET_POLICE}, "disagree"),
])
async def test_a_label_that_does_not_fit_is_refused_naming_the_field(
        running_hub: RunningHub, body: dict[str, Any], says: str) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("PATCH", f"/api/operations/{op}", "root",
                      json={"label": "CONFIDENTIAL"})
    assert r.status_code == 200, r.text
    r = await hub.api("POST", f"/api/operations/{op}/channels", "root", json=body)
    assert r.status_code == 400 and says in r.json()["error"]["message"], r.text
    names = {c["name"] for c in (await hub.api(
        "GET", f"/api/operations/{op}/channels", "root")).json()["channels"]}
    assert body["name"] not in names


async def test_nobody_labels_above_their_own_clearance_and_changes_are_audited(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ids = await _labelled(hub)
    await hub.clear(alice="RESTRICTED")  # her sessions end with the change
    r = await hub.api("PATCH", f"/api/channels/{ids['c-restricted']}", "alice",
                      json={"label": "CONFIDENTIAL"})
    assert r.status_code == 400 and "above your clearance" in r.json()["error"]["message"]
    r = await hub.api("PATCH", f"/api/channels/{ids['c-restricted']}", "root",
                      json={"label": "CONFIDENTIAL"})
    assert r.status_code == 200 and r.json()["marking"] == "CONFIDENTIAL"
    # Lowering the operation below a channel in it is refused, and names the channel.
    r = await hub.api("PATCH", f"/api/operations/{hub.ops['A'].id}", "root",
                      json={"label": "RESTRICTED"})
    assert r.status_code == 400 and "would no longer fit" in r.json()["error"]["message"]
    records = [(r.action, r.details) async for r in hub.hub.engine.store.iter_audit()
               if r.action in ("channel.label", "operation.label", "user.clearance")]
    assert ("channel.label", {"from": "RESTRICTED", "to": "CONFIDENTIAL"}) in records
    assert ("operation.label", {"from": "UNCLASSIFIED", "to": "SECRET"}) in records
    assert ("user.clearance", {"from": "SECRET", "to": "RESTRICTED"}) in records


async def test_lowering_a_clearance_ends_the_sessions_that_held_it(
        running_hub: RunningHub) -> None:
    hub = running_hub
    ids = await _labelled(hub)
    bruno = await hub.client("bruno")
    await bruno.subscribe(ids["c-secret"])
    await hub.clear(bruno="RESTRICTED")
    await asyncio.wait_for(bruno.ws.wait_closed(), 15)
    r = await hub.api("GET", f"/api/channels/{ids['c-secret']}", "bruno")
    assert r.status_code == 404


async def test_a_message_narrower_than_its_channel_reaches_only_its_readers(
        running_hub: RunningHub) -> None:
    """In a SECRET channel both POLICE and ARMY read, a message released to POLICE only:
    not sent to ARMY live, nor in replay, nor in the history; its seq is passed over."""
    hub = running_hub
    ids = await _labelled(hub)
    secret = ids["c-secret"]
    alice, bruno = await hub.client("alice"), await hub.client("bruno")
    for c in (alice, bruno):
        await c.subscribe(secret)
    sent = await alice.publish(secret, "police only", label=SECRET_POLICE)
    assert sent["type"] == "ack", sent
    await alice.publish(secret, "for both")
    [first, second] = await alice.messages(2)
    assert (first["text"], first["label"]) == ("police only", SECRET_POLICE)
    assert second["text"] == "for both" and "label" not in second
    [seen] = await bruno.messages(1)
    assert seen["text"] == "for both"  # the POLICE-only message was passed over
    late = await hub.client("bruno")
    await late.subscribe(secret, since_seq=0)
    assert [m["text"] for m in await late.messages(1)] == ["for both"]
    for user, texts in (("alice", ["police only", "for both"]), ("bruno", ["for both"])):
        r = await hub.api("GET", f"/api/channels/{secret}/messages", user)
        assert [m["text"] for m in r.json()["messages"]] == texts, user
    # Wider than the channel, or above the sender: refused, naming the field.
    r = await hub.api("POST", f"/api/channels/{ids['c-restricted']}/messages", "alice",
                      json={"text": "x", "client_msg_id": "w1", "label": "SECRET"})
    assert r.status_code == 400 and "'label'" in r.json()["error"]["message"]
