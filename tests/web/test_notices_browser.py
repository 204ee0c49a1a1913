"""The hub's alert notices in a channel are about the alert (issue 11, desktop defect 1).

Acknowledging from the notice acknowledges the alert on the server (its
escalation stops), and the notice shows the alert's live state whoever
acknowledged it and wherever.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import RunningHub
from tests.web.pages import login

RULE = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "route": ["channel:alerts", "assignees"]}


async def alert_states(hub: RunningHub) -> dict[str, str]:
    r = await hub.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "alice")
    return {a["summary"]: a["state"] for a in r.json()["alerts"]}


async def wait_state(hub: RunningHub, summary: str, state: str) -> None:
    async with asyncio.timeout(10):
        while (await alert_states(hub)).get(summary) != state:
            await asyncio.sleep(0.05)


async def test_acknowledging_a_notice_acknowledges_its_alert(browser: Any,
                                                             page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    assert (await hub.api("POST", f"/api/operations/{op}/channels", "alice",
                          json={"name": "alerts"})).status_code == 201
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=RULE)).status_code == 201
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#channels button:has-text('alerts')")
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Dam breach", "severity": "critical",
                            "assignees": ["bruno"]})
    assert r.status_code == 201
    notice = "#messages li[data-alert]"
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=firing]", timeout=10_000)
    assert await bruno.locator(f"{notice} button.ack-msg").count() == 0  # not the message
    await bruno.click(f"{notice} button.ack-alert")
    await wait_state(hub, "Dam breach is critical", "acknowledged")
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=acknowledged]")
    assert "bruno" in (await bruno.text_content(f"{notice} .alert-state") or "")
    assert await bruno.locator(f"{notice} button.ack-alert").count() == 0
    await bruno.wait_for_selector("#critical", state="hidden")  # the banner goes too
    # No message-level acknowledgement was stored in the channel.
    channels = (await hub.api("GET", f"/api/operations/{op}/channels", "alice")).json()
    alerts_ch = next(c for c in channels["channels"] if c["name"] == "alerts")
    msgs = (await hub.api("GET", f"/api/channels/{alerts_ch['id']}/messages",
                          "alice")).json()["messages"]
    assert all("ack_of" not in m for m in msgs)


async def test_a_notice_follows_its_alert_acknowledged_elsewhere(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/channels", "alice", json={"name": "alerts"})
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#channels button:has-text('alerts')")
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Bridge down", "severity": "critical", "assignees": ["bruno"]})
    notice = "#messages li[data-alert]"
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=firing]", timeout=10_000)
    alert_id = await bruno.get_attribute(notice, "data-alert")
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert_id}/ack", "alice", json={})
    assert r.status_code == 200, r.text
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=acknowledged]")
    assert "alice" in (await bruno.text_content(f"{notice} .alert-state") or "")
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert_id}/resolve", "alice",
                      json={})
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=resolved]")


async def test_every_surface_gives_the_same_instruction_and_the_same_button(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 25, defect 4: the #alerts topic said "acknowledge them on the board" (which
    has no button), the notice "in the alerts panel", and the notice's own button
    "Acknowledge the alert". Now the topic and the notice say the same thing, and the
    notice, the alert stack, For me and the Alerts list offer one button, worded alike."""
    from liaison.demo import DEMO_CHANNELS

    [topic] = [c["topic"] for c in DEMO_CHANNELS if c["name"] == "alerts"]
    hub = page_hub
    op = hub.ops["A"].id
    assert (await hub.api("POST", f"/api/operations/{op}/channels", "alice",
                          json={"name": "alerts", "topic": topic})).status_code == 201
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=RULE)).status_code == 201
    bruno = await login(browser, hub, "bruno")
    await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Dam breach", "severity": "critical", "assignees": ["bruno"]})
    await bruno.click("#channels button:has-text('alerts')")
    notice = "#messages li[data-alert]"
    await bruno.wait_for_selector(f"{notice} button.ack-alert", timeout=10_000)
    text = await bruno.text_content(f"{notice} .text") or ""
    instruction = "Acknowledge it with its button, here or in the Alerts tab."
    assert text.endswith(instruction)
    assert "acknowledge each with its button, here or in the Alerts tab" in topic
    assert "board" not in topic and "panel" not in text
    buttons = {"notice": f"{notice} button.ack-alert", "stack": "#critical button.ack"}
    await bruno.click("#tab-mine")
    buttons["for me"] = "#my-alerts button.ack"
    words = {where: (await bruno.text_content(sel) or "").strip()
             for where, sel in list(buttons.items())[1:]}
    await bruno.click("#tab-alerts")
    words["alerts"] = (await bruno.text_content("#alert-list button.ack") or "").strip()
    await bruno.click("#tab-chat")
    words["notice"] = (await bruno.text_content(buttons["notice"]) or "").strip()
    assert set(words.values()) == {"Acknowledge"}, words
