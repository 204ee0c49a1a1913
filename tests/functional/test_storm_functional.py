"""A storm (issue 25, item 2): 1,000 cases turn critical within 60 s on a real hub.

Every alert is raised once and is on the board; `#alerts` gets a handful of grouped
notices instead of 1,000 (the bound the default grouping gives is asserted); the
escalation and the acknowledgements stay per alert. The hub's clock is injected, so
the 60 s and the escalation's minutes pass without waiting for them.
"""

from __future__ import annotations

import math
import os
from typing import Any

from alerting.pipeline.grouping import DEFAULT
from hub.clock import ManualClock
from hub.models import ChannelId
from tests.conftest import RunningHub

CASES = int(os.environ.get("LIAISON_STORM_CASES", "1000"))
SPAN = 60.0  # seconds over which the cases turn critical
POLICY = {"id": "storm", "steps": [
    {"notify": ["assignees", "channel:alerts"], "wait": "5m"},
    {"notify": ["coordinators", "channel:alerts"]}]}
RULE = {"id": "storm-critical", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "escalation": "storm"}


async def _messages(hub: RunningHub, channel: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    before = None
    while True:
        q = f"?limit=100&before_seq={before}" if before else "?limit=100"
        r = await hub.api("GET", f"/api/channels/{channel}/messages{q}", "alice")
        assert r.status_code == 200, r.text
        page = r.json()["messages"]
        out = page + out
        if len(page) < 100:
            return out
        before = page[0]["seq"]


async def _alert_events(hub: RunningHub) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/events"
                                 f"?after_seq={after}&limit=500", "alice")
        assert r.status_code == 200, r.text
        page = r.json()["events"]
        events += [e for e in page if e["kind"] == "alert"]
        if len(page) < 500:
            return events
        after = page[-1]["seq"]


async def test_a_thousand_critical_cases_in_a_minute_give_a_few_grouped_notices(
        start_hub: Any, hub_settings: Any) -> None:
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings, clock=clock)
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/channels", "alice", json={"name": "alerts"})
    assert r.status_code == 201, r.text
    alerts_channel = ChannelId(r.json()["id"])
    for path, body in (("policies", POLICY), ("rules", RULE)):
        r = await hub.api("POST", f"/api/operations/{op}/{path}", "alice", json=body)
        assert r.status_code == 201, r.text

    start = clock.now()
    for i in range(CASES):
        clock.advance(start + SPAN * i / CASES - clock.now())
        r = await hub.api("POST", f"/api/operations/{op}/cases", "bruno", json={
            "title": f"House {i} flooded", "severity": "critical", "assignees": ["bruno"]})
        assert r.status_code == 201, r.text
        if i % 50 == 0:
            await hub.settle()  # the pipeline keeps up as it would in real time
    clock.advance(start + SPAN - clock.now())
    await hub.settle()
    clock.advance(DEFAULT.interval)  # the last group notice of the storm falls due
    await hub.settle()

    # Every alert raised exactly once, and on the board.
    fired = [e for e in await _alert_events(hub) if e["action"] == "fired"]
    assert len(fired) == len({e["id"] for e in fired}) == CASES
    board = (await hub.api("GET", f"/api/operations/{op}/board?at={clock.now()}",
                           "alice")).json()
    assert len([a for a in board["alerts"] if a["state"] == "firing"]) == CASES

    # #alerts: grouped. Default grouping (wait 0 s, interval 30 s), one group (rule,
    # severity, channel): the first notice at once, then at most one per interval
    # over the storm, and one for what came after the last.
    bound = 2 + math.ceil(SPAN / DEFAULT.interval)
    notices = await _messages(hub, alerts_channel)
    assert 2 <= len(notices) <= bound, [n["text"][:80] for n in notices]
    counted = 0
    for n in notices:
        assert n["sender"] == "hub" and n["priority"] == "urgent"
        if n["client_msg_id"].startswith("group-"):
            assert n["text"].startswith("CRITICAL: ") and "@bruno" in n["text"]
            counted += int(n["text"].split()[1])
        else:  # a group of one is posted as its alert's own notice
            counted += 1
    assert counted == CASES  # each alert's first step announced exactly once

    # Escalation and acknowledgement stay per alert: ten acknowledged, then step 1
    # tells the coordinators of the other 990 in one notice.
    alerts = board["alerts"][:10]
    for a in alerts:
        r = await hub.api("POST", f"/api/operations/{op}/alerts/{a['id']}/ack", "bruno")
        assert r.status_code == 200, r.text
    clock.advance(300)
    await hub.settle()
    clock.advance(DEFAULT.interval)
    await hub.settle()
    steps = [e for e in await _alert_events(hub) if e["action"] == "notified"
             and e["notice"]["step"] == 1]
    acked = {a["id"] for a in alerts}
    assert len(steps) == CASES - 10 and not acked & {e["id"] for e in steps}
    after = (await _messages(hub, alerts_channel))[len(notices):]
    assert len(after) == 1, [n["text"][:80] for n in after]
    assert after[0]["text"].startswith(f"CRITICAL: {CASES - 10} alerts ({CASES - 10} escalated)")
    assert "@alice" in after[0]["text"] and "@bruno" not in after[0]["text"]
