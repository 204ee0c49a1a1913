"""Issue 25, item 3: an "every agency" acknowledgement can always finish (both engines).

Who must acknowledge is the agencies with someone who can read the item and may
acknowledge it; observers-only agencies are informed; the set follows membership
changes; the sender's agency counts as done; mentions skip bots and observers.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from hub.clock import ManualClock
from tests.conftest import PASSWORD, RunningHub

POLICY = {"id": "default", "steps": [{"notify": ["everyone"], "wait": "5m"},
                                     {"notify": ["everyone"]}]}


async def _ok(hub: RunningHub, method: str, path: str, user: str, **kw: Any) -> Any:
    r = await hub.api(method, path, user, **kw)
    assert r.status_code in (200, 201, 204), (path, r.text)
    return r.json() if r.content else None


async def _world(hub: RunningHub) -> dict[str, str]:
    """An operation of POLICE (alice coordinator), ARMY (bruno member), BORDER-GUARD
    (dmitri, only an observer) and a POLICE bot; RED-CROSS (chloe) takes part but
    has no member yet. Its ids by name."""
    uid = uuid.uuid4().hex[:6]
    for name, agency, bot in (("dmitri", "BORDER-GUARD", False), ("chloe", "RED-CROSS", False),
                              ("gauge", "POLICE", True)):
        if await hub.hub.engine.store.get_user_by_name(name) is None:
            await hub.hub.auth.create_user(username=name, display_name=name.title(),
                                           agency=agency, password=None if bot else PASSWORD,
                                           is_bot=bot, actor="test")
    op = (await _ok(hub, "POST", "/api/operations", "root", json={
        "code": f"ACK-{uid}", "name": f"Acks {uid}",
        "agencies": ["POLICE", "ARMY", "BORDER-GUARD", "RED-CROSS"]}))["id"]
    for user, role in (("alice", "coordinator"), ("bruno", "member"),
                       ("dmitri", "observer"), ("gauge", "member")):
        await _ok(hub, "PUT", f"/api/operations/{op}/members/{user}", "root",
                  json={"role": role})
    general = await _ok(hub, "POST", f"/api/operations/{op}/channels", "root",
                        json={"name": "general", "agencies": []})
    await _ok(hub, "POST", f"/api/operations/{op}/policies", "alice", json=POLICY)
    return {"op": op, "general": general["id"]}


async def _urgent(hub: RunningHub, ch: str, user: str, text: str) -> int:
    r = await _ok(hub, "POST", f"/api/channels/{ch}/messages", user, json={
        "text": text, "client_msg_id": uuid.uuid4().hex, "priority": "urgent",
        "ack": "each_agency"})
    return int(r["seq"])


async def _alert(hub: RunningHub, op: str, user: str = "alice") -> dict[str, Any]:
    await hub.settle()
    [alert] = (await _ok(hub, "GET", f"/api/operations/{op}/alerts", user))["alerts"]
    return alert  # type: ignore[no-any-return]


async def test_an_agency_of_observers_is_informed_and_does_not_block(
        running_hub: RunningHub) -> None:
    hub = running_hub
    w = await _world(hub)
    seq = await _urgent(hub, w["general"], "alice", "Bridge closed: reroute convoys")
    alert = await _alert(hub, w["op"])
    assert (alert["ack_agencies"], alert["informed_agencies"], alert["pending_agencies"]) \
        == (["ARMY", "POLICE"], ["BORDER-GUARD"], ["ARMY"])
    assert alert["raised_by"] == "alice"
    # dmitri reads it and is told, but may not acknowledge; nobody waits for him.
    r = await hub.api("POST", f"/api/channels/{w['general']}/messages/{seq}/ack", "dmitri")
    assert r.status_code == 403
    await _ok(hub, "POST", f"/api/channels/{w['general']}/messages/{seq}/ack", "bruno")
    alert = await _alert(hub, w["op"])
    assert (alert["state"], alert["acked_by"], alert["pending_agencies"]) == \
        ("acknowledged", "bruno", [])
    # The board shows the same sets.
    board = await _ok(hub, "GET", f"/api/operations/{w['op']}/board?at={int(time.time()) + 60}",
                      "dmitri")
    [row] = board["alerts"]
    assert (row["pending_agencies"], row["informed_agencies"]) == ([], ["BORDER-GUARD"])


async def test_a_restricted_channel_asks_only_its_agencies(running_hub: RunningHub) -> None:
    hub = running_hub
    w = await _world(hub)
    await _ok(hub, "PUT", f"/api/operations/{w['op']}/members/chloe", "root",
              json={"role": "member"})
    pa = await _ok(hub, "POST", f"/api/operations/{w['op']}/channels", "root",
                   json={"name": "police-army", "agencies": ["POLICE", "ARMY"]})
    await _urgent(hub, pa["id"], "bruno", "Ammunition moved to depot 4")
    alert = await _alert(hub, w["op"])
    assert (alert["ack_agencies"], alert["informed_agencies"], alert["pending_agencies"]) \
        == (["ARMY", "POLICE"], [], ["POLICE"])  # ARMY sent it: done


async def test_the_set_follows_agencies_joining_and_leaving(start_hub: Any,
                                                            hub_settings: Any) -> None:
    clock = ManualClock(1_800_000_000.0)
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    w = await _world(hub)
    op = w["op"]
    await _urgent(hub, w["general"], "alice", "Dam spillway opening at 14:00")
    alert = await _alert(hub, op)
    assert alert["pending_agencies"] == ["ARMY"]
    # RED-CROSS joins: it must acknowledge too, and is told at the next step.
    await _ok(hub, "PUT", f"/api/operations/{op}/members/chloe", "root", json={"role": "member"})
    alert = await _alert(hub, op)
    assert (alert["ack_agencies"], alert["pending_agencies"]) == \
        (["ARMY", "POLICE", "RED-CROSS"], ["ARMY", "RED-CROSS"])
    clock.advance(5 * 60)
    await hub.settle()
    events = (await _ok(hub, "GET", f"/api/operations/{op}/events?limit=500", "alice"))["events"]
    assert [e["notice"]["users"] for e in events if e.get("action") == "notified"][-1] == \
        ["bruno", "chloe"]
    [change] = [e for e in events if e.get("action") == "agencies"]
    assert (change["added"], change["dropped"], change["actor"]) == (["RED-CROSS"], [], "root")
    await _ok(hub, "POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "chloe")
    # ARMY's only member leaves before acknowledging: ARMY is dropped, audited, and the
    # alert, acknowledged by every agency still taking part, is done.
    await _ok(hub, "DELETE", f"/api/operations/{op}/members/bruno", "root")
    alert = await _alert(hub, op)
    assert (alert["state"], alert["ack_agencies"], alert["acked_by"]) == \
        ("acknowledged", ["POLICE", "RED-CROSS"], "chloe")
    audit = [a async for a in hub.hub.engine.store.iter_audit()
             if a.action == "alert.agencies" and a.operation_id == op]
    assert [(a.actor, a.target, a.details) for a in audit] == [
        ("root", alert["id"], {"added": ["RED-CROSS"], "dropped": []}),
        ("root", alert["id"], {"added": [], "dropped": ["ARMY"]})]


async def test_a_rule_alert_for_each_agency_skips_observers_and_mentions_no_bot(
        start_hub: Any, hub_settings: Any) -> None:
    clock = ManualClock(1_800_000_000.0)
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    w = await _world(hub)
    op = w["op"]
    await _ok(hub, "POST", f"/api/operations/{op}/rules", "alice", json={
        "id": f"crit-{uuid.uuid4().hex[:6]}", "when": 'severity == "critical"',
        "severity": "critical", "summary": "{title} is critical", "ack": "each_agency",
        "route": ["channel:general", "everyone"]})
    await _ok(hub, "POST", f"/api/operations/{op}/cases", "alice",
              json={"title": "Levee breach", "severity": "critical"})
    alert = await _alert(hub, op)
    assert (alert["ack_agencies"], alert["informed_agencies"]) == \
        (["ARMY", "POLICE"], ["BORDER-GUARD"])
    events = (await _ok(hub, "GET", f"/api/operations/{op}/events?limit=500", "alice"))["events"]
    [told] = [e["notice"]["users"] for e in events if e.get("action") == "notified"]
    assert told == ["alice", "bruno", "dmitri"]  # the observer is told, the bot is not
    notices = (await _ok(hub, "GET", f"/api/channels/{w['general']}/messages",
                         "alice"))["messages"]
    [text] = [m["text"] for m in notices if "Levee breach" in m["text"]]
    assert "@alice" in text and "@bruno" in text
    assert "@dmitri" not in text and "@gauge" not in text, text
