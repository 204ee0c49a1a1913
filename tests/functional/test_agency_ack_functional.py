"""Acknowledgement by each agency (both engines, injected clock): escalation stops for an
agency once one of its members acknowledges and goes on for the others; the alert is
acknowledged when the last agency has; the ledger shows each agency's times."""

from __future__ import annotations

import time
from typing import Any

from hub.clock import ManualClock
from tests.conftest import RunningHub

POLICY = {"id": "default", "steps": [{"notify": ["everyone"], "wait": "5m"},
                                     {"notify": ["everyone"]}], "repeat_every": "10m"}
RULE = {"id": "critical", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "ack": "each_agency"}


async def _alert(hub: RunningHub) -> dict[str, Any]:
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "olga")
    [alert] = r.json()["alerts"]
    return alert  # type: ignore[no-any-return]


async def _notified(hub: RunningHub) -> list[list[str]]:
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/events?limit=500", "olga")
    assert r.status_code == 200, r.text
    return [e["notice"]["users"] for e in r.json()["events"]
            if e["kind"] == "alert" and e["action"] == "notified"]


async def test_each_agency_acknowledges_for_itself_and_the_ledger_says_when(
        start_hub: Any, hub_settings: Any) -> None:
    clock = ManualClock(1_800_000_000.0)
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    op = hub.ops["A"].id  # agencies POLICE (alice, olga) and ARMY (bruno)
    for path, body in (("policies", POLICY), ("rules", RULE)):
        r = await hub.api("POST", f"/api/operations/{op}/{path}", "alice", json=body)
        assert r.status_code == 201, r.text
    told_at = clock.now()
    r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno",
                      json={"title": "Levee breach", "severity": "critical"})
    assert r.status_code == 201, r.text
    alert = await _alert(hub)
    assert alert["ack_agencies"] == ["ARMY", "POLICE"]
    assert alert["pending_agencies"] == ["ARMY", "POLICE"]
    assert await _notified(hub) == [["alice", "bruno", "olga"]]

    clock.advance(90)  # POLICE acknowledges: the alert fires on for ARMY
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
    assert r.status_code == 200, r.text
    alert = await _alert(hub)
    assert (alert["state"], alert["pending_agencies"]) == ("firing", ["ARMY"])
    clock.advance(5)
    again = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
    assert again.status_code == 200  # again for POLICE: the first acknowledgement stands
    assert (await _alert(hub))["acks"]["POLICE"] == {"by": "alice", "at": told_at + 90}
    clock.advance(-5)

    clock.advance(5 * 60)  # the next step reaches only the agency still to acknowledge
    await hub.settle()
    assert (await _notified(hub))[-1] == ["bruno"]
    texts = [m["text"] for m in (await hub.api(
        "GET", f"/api/channels/{hub.ch('A/general')}/messages", "olga")).json()["messages"]]
    assert not texts or all("POLICE" not in t.split("still to:")[-1] for t in texts)

    clock.advance(30)  # ARMY acknowledges last: acknowledged, escalation over
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "bruno")
    assert r.status_code == 200, r.text
    alert = await _alert(hub)
    assert (alert["state"], alert["acked_by"], alert["pending_agencies"]) == \
        ("acknowledged", "bruno", [])
    ledger = {row["agency"]: row for row in alert["ledger"]}
    assert ledger["POLICE"] == {"agency": "POLICE", "told_at": told_at,
                                "acked_at": told_at + 90, "acked_by": "alice", "seconds": 90}
    assert ledger["ARMY"] == {"agency": "ARMY", "told_at": told_at,
                              "acked_at": told_at + 420, "acked_by": "bruno", "seconds": 420}
    clock.advance(60 * 60)
    hub._tokens.clear()  # an hour idle: log in again
    await hub.settle()
    assert len(await _notified(hub)) == 2  # nobody is told again


async def test_an_urgent_message_each_agency_must_acknowledge(start_hub: Any,
                                                              hub_settings: Any) -> None:
    """The sender's agency counts as told; the others are told and reminded by the
    escalation until one of each acknowledges the message; the ledger says when."""
    clock = ManualClock(1_800_000_000.0)
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    op, general = hub.ops["A"].id, hub.ch("A/general")
    r = await hub.api("POST", f"/api/operations/{op}/policies", "alice", json=POLICY)
    assert r.status_code == 201, r.text
    bad = await hub.api("POST", f"/api/channels/{general}/messages", "bruno",
                        json={"text": "x", "client_msg_id": "n1", "ack": "each_agency"})
    assert bad.status_code == 400 and "urgent" in bad.json()["error"]["message"]
    bruno = await hub.client("bruno")
    sent = await bruno.publish(general, "Dyke 3 is overtopping: evacuate", priority="urgent",
                               ack="each_agency")
    assert sent["type"] == "ack", sent
    alert = await _alert(hub)
    assert (alert["source"], alert["ack_agencies"], alert["pending_agencies"]) == \
        ("message", ["ARMY", "POLICE"], ["POLICE"])  # ARMY sent it
    assert await _notified(hub) == [["alice", "olga"]]  # only the agency still to ack
    clock.advance(120)
    r = await hub.api("POST", f"/api/channels/{general}/messages/{sent['seq']}/ack", "alice")
    assert r.status_code in (200, 201), r.text
    alert = await _alert(hub)
    assert (alert["state"], alert["acked_by"]) == ("acknowledged", "alice")
    ledger = {row["agency"]: row for row in alert["ledger"]}
    assert (ledger["POLICE"]["acked_by"], ledger["POLICE"]["seconds"]) == ("alice", 120)
    assert (ledger["ARMY"]["acked_by"], ledger["ARMY"]["seconds"]) == ("bruno", 0)


async def test_an_urgent_message_in_a_restricted_channel_stays_with_its_agencies(
        start_hub: Any, hub_settings: Any) -> None:
    """Issue 24, finding 1: the alert about an urgent message takes the message's
    effective label (its channel's, when it has none of its own) and needs only the
    agencies that may read it; another agency's members find nothing of it, in any
    body, while the channel's own agency does."""
    hub: RunningHub = await start_hub(hub_settings)
    op, police = hub.ops["A"].id, hub.ch("A/police")
    marker = "MARKER-informant-7f3"
    olga = await hub.client("olga")
    await olga.subscribe(police)
    alice = await hub.client("alice")
    sent = await alice.publish(police, f"{marker}: move the informant now",
                               priority="urgent", ack="each_agency")
    assert sent["type"] == "ack", sent
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{op}/alerts", "olga")
    [alert] = [a for a in r.json()["alerts"] if a["source"] == "message"]
    assert alert["label"]["categories"] == {"REL TO": ["POLICE"]}, alert["label"]
    assert alert["ack_agencies"] == ["POLICE"]
    for path in (f"/api/operations/{op}/alerts", f"/api/operations/{op}/events?limit=500",
                 f"/api/operations/{op}/alerts/{alert['id']}",
                 f"/api/operations/{op}/board?at={time.time()}"):
        r = await hub.api("GET", path, "bruno")
        assert marker not in r.text and alert["id"] not in r.text, (path, r.text[:400])
