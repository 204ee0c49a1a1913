"""Rules raise alerts from case changes and timers; dedup, acknowledgement, races, bots."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.bodies import chat_body
from hub.clock import ManualClock
from hub.models import ChannelId
from hub.principal import Principal
from tests.conftest import RunningHub

CRITICAL = {"id": "critical-case", "name": "Case became critical",
            "when": 'severity == "critical" and status != "closed"', "severity": "critical",
            "summary": "{title} is critical"}


async def _rule(hub: RunningHub, rule: dict[str, Any], user: str = "alice") -> None:
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/rules", user, json=rule)
    assert r.status_code in (200, 201), r.text


async def _case(hub: RunningHub, **fields: Any) -> dict[str, Any]:
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "bruno",
                      json={"title": "Bridge 4 collapse", "severity": "major", **fields})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _patch(hub: RunningHub, case: dict[str, Any], **fields: Any) -> dict[str, Any]:
    r = await hub.api("PATCH", f"/api/operations/{hub.ops['A'].id}/cases/{case['id']}",
                      "bruno", json={"version": case["version"], **fields})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _alerts(hub: RunningHub, state: str | None = None) -> list[dict[str, Any]]:
    await hub.settle()
    q = f"?state={state}" if state else ""
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts{q}", "olga")
    assert r.status_code == 200, r.text
    return r.json()["alerts"]  # type: ignore[no-any-return]


async def test_critical_case_raises_one_alert_live_and_resolves(running_hub: RunningHub) -> None:
    hub = running_hub
    await _rule(hub, CRITICAL)
    olga = await hub.client("olga")
    await olga.subscribe(f"ops:{hub.ops['A'].id}")
    case = await _case(hub)
    case = await _patch(hub, case, severity="critical")
    fired = None
    while fired is None:
        ev = await olga.recv_type("op_event")
        if ev["kind"] == "alert":
            fired = ev
    assert fired["action"] == "fired"
    assert fired["record"]["case_id"] == case["id"]
    assert fired["record"]["summary"] == "Bridge 4 collapse is critical"
    for i in range(3):  # still critical: no second alert
        case = await _patch(hub, case, fields={"casualties": i})
    assert len(await _alerts(hub)) == 1
    case = await _patch(hub, case, severity="major")
    [alert] = await _alerts(hub)
    assert alert["state"] == "resolved" and alert["resolution"] == "auto"
    timeline = (await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/cases/"
                              f"{case['id']}/timeline", "olga")).json()["timeline"]
    assert [(e["kind"], e["action"]) for e in timeline if e["kind"] == "alert"] == \
        [("alert", "fired"), ("alert", "notified"), ("alert", "resolved")]
    audited = [r.action async for r in hub.hub.engine.store.iter_audit()
               if r.action.startswith("alert.")]
    assert audited == ["alert.fired", "alert.notified", "alert.resolved"]


async def test_staleness_fires_from_a_timer(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    await _rule(hub, {"id": "stale", "when": 'severity == "critical" and since_update > 15m',
                      "summary": "{title}: no update for 15 minutes"})
    await _case(hub, severity="critical")
    clock.advance(15 * 60)
    await hub.services.evaluator.tick()
    assert await _alerts(hub) == []
    clock.advance(1)
    await hub.services.evaluator.tick()
    [alert] = await _alerts(hub)
    assert alert["summary"] == "Bridge 4 collapse: no update for 15 minutes"
    clock.advance(1800)
    await hub.services.evaluator.tick()
    assert len(await _alerts(hub)) == 1  # fired once


async def test_timers_survive_a_restart(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    first: RunningHub = await start_hub(hub_settings, clock=clock)
    await _rule(first, {"id": "held", "when": "fields.casualties >= 10", "for": "5m"})
    await _case(first, fields={"casualties": 14})
    assert await _alerts(first) == []
    clock.advance(120)
    await first.stop()
    # A new hub on the same data (same engine): the restart.
    second: RunningHub = await start_hub(hub_settings, clock=clock, seeded=False)
    second.ops, second.channels = first.ops, first.channels
    clock.advance(180)
    await second.services.evaluator.tick()
    [alert] = await _alerts(second)
    assert alert["state"] == "firing" and alert["rule_id"] == "held"


async def test_acknowledgement_racing_auto_resolve_ends_resolved(running_hub: RunningHub) -> None:
    hub = running_hub
    await _rule(hub, CRITICAL)
    op = hub.ops["A"].id
    for round_ in range(6):
        case = await _case(hub, title=f"race {round_}")
        case = await _patch(hub, case, severity="critical")
        [alert] = [a for a in await _alerts(hub, "firing") if a["case_id"] == case["id"]]
        ack = hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
        lower = _patch(hub, case, severity="minor")
        ack_r, _ = await asyncio.gather(ack, lower)
        [final] = [a for a in await _alerts(hub) if a["id"] == alert["id"]]
        assert final["state"] == "resolved"
        if ack_r.status_code == 200:
            assert final["acked_by"] == "alice"  # the ack landed first, then the resolution
        else:
            assert ack_r.status_code == 409 and final["acked_by"] is None
    events = (await hub.api("GET", f"/api/operations/{op}/events?limit=500",
                            "olga")).json()["events"]
    for alert_id in {e["id"] for e in events if e["kind"] == "alert"}:
        states = [e["record"]["state"] for e in events if e["id"] == alert_id]
        assert states[-1] == "resolved" and "firing" not in states[states.index("resolved"):]


async def test_bot_push_dedups_by_fingerprint_and_respects_scope(
        running_hub: RunningHub) -> None:
    hub = running_hub.hub
    bot = await hub.auth.create_user(username="gauge", display_name="Gauge", agency="POLICE",
                                     password=None, is_bot=True, actor="test")
    root = await hub.engine.store.get_user_by_name("root")
    admin = Principal(root, "t", "session", None, None)  # type: ignore[arg-type]
    for op in ("A", "B"):
        await running_hub.services.channels.set_member(admin, running_hub.ops[op].id, "gauge",
                                                       "member", "t")
    token, _ = await hub.auth.create_api_token(bot, name="g", scope=(running_hub.ops["A"].id,),
                                               actor="test")
    headers = {"Authorization": f"Bearer {token}"}
    http = running_hub.http
    assert http is not None
    body = {"summary": "River gauge 4 above 5 m", "severity": "critical",
            "fingerprint": "gauge-4-high", "labels": {"gauge": "4"}}
    url = f"/api/operations/{running_hub.ops['A'].id}/alerts"
    one = await http.post(url, json=body, headers=headers)
    two = await http.post(url, json=body, headers=headers)
    assert one.status_code == 201 and two.status_code == 200
    assert two.json()["id"] == one.json()["id"] and two.json()["occurrences"] == 2
    assert two.json()["duplicate"] is True and two.json()["source"] == "bot"
    outside = await http.post(f"/api/operations/{running_hub.ops['B'].id}/alerts", json=body,
                              headers=headers)
    assert outside.status_code == 404
    # Acknowledge, resolve, and the next push raises a new alert.
    r = await running_hub.api("POST", f"{url}/{one.json()['id']}/ack", "alice")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    r = await running_hub.api("POST", f"{url}/{one.json()['id']}/resolve", "alice")
    assert r.json()["state"] == "resolved" and r.json()["resolution"] == "manual"
    three = await http.post(url, json=body, headers=headers)
    assert three.status_code == 201 and three.json()["id"] != one.json()["id"]


async def test_rules_are_managed_by_coordinators_and_validated(running_hub: RunningHub) -> None:
    op = running_hub.ops["A"].id
    url = f"/api/operations/{op}/rules"
    r = await running_hub.api("POST", url, "bruno", json=CRITICAL)
    assert r.status_code == 403
    r = await running_hub.api("POST", url, "alice", json={"id": "x", "when": "sevrity > 2"})
    assert r.status_code == 400
    assert "rule 'x': when: unknown name 'sevrity' at column 1" in r.json()["error"]["message"]
    r = await running_hub.api("POST", url, "alice",
                              json={"id": "y", "kind": "rate", "window": "1h"})
    assert "threshold" in r.json()["error"]["message"]
    await _case(running_hub, severity="critical", title="A")
    await _case(running_hub, severity="minor", title="B")
    r = await running_hub.api("POST", f"{url}/dry-run", "olga",
                              json={"id": "try", "when": 'severity >= "major"'})
    assert r.status_code == 403  # dry-run needs the right to write rules
    r = await running_hub.api("POST", f"{url}/dry-run", "alice",
                              json={"id": "try", "when": 'severity >= "major"'})
    assert r.status_code == 200 and [m["summary"] for m in r.json()["matches"]] == ["try"]
    assert (await running_hub.api("GET", url, "xavier")).status_code == 404
    assert (await running_hub.api("GET", f"/api/operations/{op}/alerts",
                                  "xavier")).status_code == 404


async def test_new_rule_applies_to_open_cases(running_hub: RunningHub) -> None:
    await _case(running_hub, severity="critical", title="already critical")
    await _rule(running_hub, CRITICAL)
    [alert] = await _alerts(running_hub)
    assert alert["summary"] == "already critical is critical"


async def test_a_dry_run_sees_only_the_cases_its_caller_may_see(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 4: an ARMY coordinator's dry-run neither matches, renders nor
    counts a case released to POLICE only."""
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("PUT", f"/api/operations/{op}/members/bruno", "root",
                      json={"role": "coordinator"})
    assert r.status_code in (200, 201, 204), r.text
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "MARKER-source-9 moved", "severity": "critical",
                            "label": {"level": "UNCLASSIFIED",
                                      "categories": {"REL TO": ["POLICE"]}}})
    assert r.status_code == 201, r.text
    hidden = r.json()["id"]
    await _case(hub, severity="critical", title="Road closed")
    rule = {"id": "try", "when": 'severity >= "major"', "summary": "{title} at {severity}"}
    r = await hub.api("POST", f"/api/operations/{op}/rules/dry-run", "bruno", json=rule)
    assert r.status_code == 200, r.text
    assert [m["summary"] for m in r.json()["matches"]] == ["Road closed at critical"]
    assert "MARKER" not in r.text and hidden not in r.text
    r = await hub.api("POST", f"/api/operations/{op}/rules/dry-run", "alice", json=rule)
    assert len(r.json()["matches"]) == 2  # POLICE sees both
    rate = {"id": "burst", "kind": "rate", "window": "1h", "threshold": 1}
    r = await hub.api("POST", f"/api/operations/{op}/rules/dry-run", "bruno", json=rate)
    assert [m["count"] for m in r.json()["matches"]] == [1], r.text


async def test_a_push_cannot_reach_an_alert_another_credential_raised(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 2: bruno (ARMY) pushing the fingerprint of a POLICE-only alert
    alice pushed neither reads it nor rewrites it; Alertmanager's resolved notice from
    him leaves it too. Each credential's fingerprints are its own."""
    hub = running_hub
    op = hub.ops["A"].id
    police_only = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["POLICE"]}}
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "alice",
                      json={"summary": "MARKER-informant seen at the docks",
                            "details": "MARKER-details", "fingerprint": "informant-1",
                            "severity": "critical", "label": police_only})
    assert r.status_code == 201, r.text
    hidden = r.json()
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                      json={"summary": "All clear - stand down", "fingerprint": "informant-1",
                            "severity": "info"})
    assert r.status_code == 201, r.text  # a new alert of bruno's own, not a duplicate
    assert r.json()["duplicate"] is False and r.json()["id"] != hidden["id"]
    assert "MARKER" not in r.text
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                      json={"summary": "All clear - stand down", "fingerprint": "informant-1",
                            "severity": "info"})
    assert r.status_code == 200 and r.json()["duplicate"] is True  # his own dedups
    # Alertmanager's fingerprint is as much the sender's own.
    r = await hub.api("POST", f"/api/operations/{op}/receivers/alertmanager", "alice",
                      json={"version": "4", "status": "firing", "alerts": [
                          {"status": "firing", "fingerprint": "abc123",
                           "labels": {"alertname": "MARKER-am", "severity": "critical"},
                           "annotations": {"summary": "MARKER-am"}}]})
    assert r.status_code == 200, r.text
    r = await hub.api("POST", f"/api/operations/{op}/receivers/alertmanager", "bruno",
                      json={"version": "4", "status": "resolved", "alerts": [
                          {"status": "resolved", "fingerprint": "abc123",
                           "labels": {"alertname": "x"}}]})
    assert r.status_code == 200, r.text
    assert r.json()["alerts"][0]["action"] == "ignored" and "MARKER" not in r.text
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{op}/alerts", "alice")
    mine = {a["id"]: a for a in r.json()["alerts"]}
    assert mine[hidden["id"]]["summary"] == "MARKER-informant seen at the docks"
    assert mine[hidden["id"]]["severity"] == "critical"
    assert mine[hidden["id"]]["state"] == "firing"
    assert [a["state"] for a in mine.values() if a["summary"] == "MARKER-am"] == ["firing"]


async def test_a_push_cannot_reach_its_own_alert_once_relabelled_past_it(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 2: once bruno's alert follows its case to POLICE-only, pushing
    its fingerprint again answers as for an alert that is not, and changes nothing."""
    hub = running_hub
    op = hub.ops["A"].id
    case = await _case(hub, title="Checkpoint 7")
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                      json={"summary": "Checkpoint 7 overrun", "fingerprint": "cp-7",
                            "case": case["id"], "severity": "critical"})
    assert r.status_code == 201, r.text
    alert_id = r.json()["id"]
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "alice",
                      json={"version": case["version"], "title": "MARKER-informant",
                            "label": {"level": "UNCLASSIFIED",
                                      "categories": {"REL TO": ["POLICE"]}}})
    assert r.status_code == 200, r.text
    await hub.settle()
    r = await hub.api("GET", f"/api/operations/{op}/alerts", "bruno")
    assert alert_id not in r.text  # the alert followed its case
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "bruno",
                      json={"summary": "stand down", "fingerprint": "cp-7",
                            "severity": "info"})
    assert r.status_code == 404, r.text
    assert alert_id not in r.text and "MARKER" not in r.text
    r = await hub.api("GET", f"/api/operations/{op}/alerts", "alice")
    [alert] = [a for a in r.json()["alerts"] if a["id"] == alert_id]
    assert (alert["summary"], alert["severity"]) == ("Checkpoint 7 overrun", "critical")


async def test_a_refused_route_is_audited_with_the_callers_address(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 14: the authz.denied record of a route check says where the
    request came from, like every other refusal."""
    hub = running_hub
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/alerts", "bruno",
                      json={"summary": "x", "route": ["channel:police"]})
    assert r.status_code == 400, r.text
    denied = [a.as_dict() async for a in hub.hub.engine.store.iter_audit()
              if a.action == "authz.denied" and a.actor == "bruno"]
    assert denied and all(a["client"] for a in denied), denied


async def test_a_rate_alert_is_as_hidden_as_the_cases_it_counts(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 6: a rate rule counting a POLICE-only case raises an alert only
    POLICE sees: the count would otherwise tell ARMY the hidden case exists."""
    hub = running_hub
    op = hub.ops["A"].id
    await _rule(hub, {"id": "burst", "kind": "rate", "window": "1h", "threshold": 2,
                      "severity": "major", "summary": "{count} new cases"})
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "MARKER-hidden", "severity": "minor",
                            "label": {"level": "UNCLASSIFIED",
                                      "categories": {"REL TO": ["POLICE"]}}})
    assert r.status_code == 201, r.text
    await _case(hub, title="Road closed")
    await hub.settle()
    seen = {user: [a for a in (await hub.api("GET", f"/api/operations/{op}/alerts", user)
                                ).json()["alerts"] if a["rule_id"] == "burst"]
            for user in ("alice", "bruno")}
    assert [a["summary"] for a in seen["alice"]] == ["2 new cases"]
    assert seen["bruno"] == []
    r = await hub.api("GET", f"/api/operations/{op}/events", "bruno")
    assert seen["alice"][0]["id"] not in r.text


async def test_a_rule_routed_to_a_restricted_channel_does_not_name_it_to_others(
        running_hub: RunningHub) -> None:
    """Issue 24, finding 6: a rule (every member reads rules) routing into #police keeps
    the channel by an opaque ref: bruno (ARMY) reads neither its name nor its id in the
    rule, the alert or the log; the notice still reaches #police."""
    hub = running_hub
    op = hub.ops["A"].id
    await _rule(hub, {**CRITICAL, "route": ["channel:police"]})
    case = await _case(hub, severity="critical")
    await hub.settle()
    police = hub.ch("A/police")
    for path in ("rules", "alerts", "events", f"cases/{case['id']}/timeline"):
        r = await hub.api("GET", f"/api/operations/{op}/{path}", "bruno")
        assert r.status_code == 200, r.text
        assert "channel:police" not in r.text and police not in r.text, path
    [notice] = await hub.hub.engine.store.read_messages(ChannelId(police), after_seq=0,
                                                        limit=10)
    assert notice.sender == "hub" and "Bridge 4 collapse" in chat_body(notice).text
