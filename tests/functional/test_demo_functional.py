"""The demo path from README.md: a bot raises a case to critical, the alert shows on the
board and in #alerts at once, escalates while nobody acknowledges, and stops when someone does."""

from __future__ import annotations

import time
from pathlib import Path

from alerting.pipeline.escalation import parse_policy
from alerting.rules.engine import parse_rule
from hub.clock import ManualClock
from liaison.demo import DEMO_POLICIES, DEMO_RULES, seed_demo
from tests.conftest import RunningHub


def test_demo_rules_and_policies_are_valid() -> None:
    assert [parse_rule(r).id for r in DEMO_RULES]
    assert [parse_policy(p).id for p in DEMO_POLICIES]


async def test_the_demo_alert_path(start_hub, hub_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock(time.time())
    hub: RunningHub = await start_hub(hub_settings, clock=clock, seeded=False)
    creds = await seed_demo(hub.services, tmp_path)
    assert await seed_demo(hub.services, tmp_path) == creds  # idempotent
    passwords = {u: p for u, p, _ in creds}
    token = (tmp_path / "demo-bot-token.txt").read_text().strip()
    assert (tmp_path / "demo-bot-token.txt").stat().st_mode & 0o077 == 0
    await hub.services.evaluator.tick()  # the running hub notices the seeded rules

    for user in ("alice", "chloe"):  # the demo's passwords, not the test seed's
        await hub.login(user, passwords[user])
    wall = await hub.client("chloe")
    await wall.send({"type": "subscribe", "channel": "ops:OP-DELTA", "board": True})
    assert (await wall.recv_type("subscribed"))["channel"].startswith("ops:op_")
    board = await wall.recv_type("board")
    channels = (await hub.api("GET", "/api/operations/OP-DELTA/channels",
                              "chloe")).json()["channels"]
    alerts_ch = next(c["id"] for c in channels if c["name"] == "alerts")
    watcher = await hub.client("chloe")
    await watcher.subscribe(alerts_ch)

    # The README's bot command (curl with the demo token), here through httpx.
    assert hub.http is not None
    started = time.monotonic()
    r = await hub.http.post("/api/operations/OP-DELTA/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"title": "Levee breach at Kerns", "severity": "critical",
                                  "category": "incident", "assignees": ["bruno"],
                                  "location": {"place": "Kerns levee"}})
    assert r.status_code == 201, r.text
    fired = None
    while fired is None:
        ev = await wall.recv_type("op_event", timeout=1.0)
        if ev["kind"] == "alert" and ev["action"] == "fired":
            fired = ev
    notice = await watcher.recv_type("message", timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert fired["seq"] > board["version"]
    assert notice["sender"] == "hub" and "Levee breach at Kerns is critical" in notice["text"]
    assert "@bruno" in notice["text"] and "@alice" in notice["text"]  # assignee + coordinators

    clock.advance(120)  # nobody acknowledged: step 2
    await hub.services.evaluator.tick()
    step2 = await watcher.recv_type("message", timeout=1.0)
    assert "escalation step 2" in step2["text"] and "@alice" in step2["text"]

    case_id = r.json()["id"]
    timeline = (await hub.api("GET", f"/api/operations/OP-DELTA/cases/{case_id}/timeline",
                              "alice")).json()["timeline"]  # addressed by code, as bots do
    assert [(e["kind"], e["action"]) for e in timeline][:3] == \
        [("case", "created"), ("alert", "fired"), ("alert", "notified")]
    op = (await hub.api("GET", "/api/operations/OP-DELTA", "alice")).json()["id"]
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts?state=firing",
                             "alice")).json()["alerts"]
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
    assert r.status_code == 200
    clock.advance(1800)  # steps 3 and reminders would be due by now
    await hub.services.evaluator.tick()
    r = await hub.api("GET", f"/api/channels/{alerts_ch}/messages", "chloe")
    texts = [m["text"] for m in r.json()["messages"]]
    assert len([t for t in texts if "Kerns is critical" in t]) == 2  # no step 3 after the ack
    assert any("no update for 15 minutes" in t for t in texts)  # the staleness rule, meanwhile
