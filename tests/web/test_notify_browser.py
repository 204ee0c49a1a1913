"""Alerts reach the responder (issue 11, item 4): an alert naming the user raises a
system notification through the service worker while the app is not in front, and
its Acknowledge action acknowledges the alert on the hub.

A headless browser has no notification centre to click, so the test asks the worker
for the notifications it shows and runs the worker's own click handler on the one it
finds, as the system would.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import RunningHub
from tests.web.pages import login

RULE = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "route": ["assignees"]}

SHOWN = """() => self.registration.getNotifications().then((ns) => ns.map((n) => (
    {title: n.title, body: n.body, tag: n.tag, data: n.data,
     actions: n.actions.map((a) => a.action), sticky: n.requireInteraction})))"""


async def background(browser: Any, hub: RunningHub, username: str) -> tuple[Any, Any]:
    """A logged-in page behind another tab, and its service worker: another tab in
    front, and no focus emulation (Playwright otherwise tells every page it has the
    focus)."""
    page = await login(browser, hub, username, permissions=["notifications"])
    async with asyncio.timeout(10):
        while not await page.evaluate("!!navigator.serviceWorker.controller"):
            await asyncio.sleep(0.1)
    [worker] = page.context.service_workers
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    other = await page.context.new_page()
    await other.goto("about:blank")
    await other.bring_to_front()
    return page, worker


async def test_a_notification_for_my_alert_acknowledges_it(browser: Any,
                                                           page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    page, worker = await background(browser, hub, "bruno")
    assert await page.evaluate("document.hasFocus()") is False

    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Dam breach", "severity": "critical",
                            "assignees": ["bruno"]})
    assert r.status_code == 201
    async with asyncio.timeout(10):
        while not (shown := [n for n in await worker.evaluate(SHOWN)
                             if n["tag"].startswith("alert:")]):
            await asyncio.sleep(0.1)
    [note] = shown[:1]
    alert_id = note["data"]["alert"]
    assert note["data"]["op"] == op and note["actions"] == ["ack"] and note["sticky"]
    assert note["body"] == "Dam breach is critical"  # one per alert: the newest step replaces

    await worker.evaluate("""(tag) => self.registration.getNotifications({tag})
        .then(([n]) => handleNotificationClick(n, 'ack'))""", note["tag"])
    alert = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    assert [(a["id"], a["state"], a["acked_by"]) for a in alert] == \
        [(alert_id, "acknowledged", "bruno")]
    # Gone from the system, and a step notified before the acknowledgement that was
    # still on its way does not bring it back: the page withdraws it when the
    # acknowledgement reaches it.
    async with asyncio.timeout(10):
        while [n for n in await worker.evaluate(SHOWN) if n["tag"] == note["tag"]]:
            await asyncio.sleep(0.1)


async def test_a_storm_gives_one_system_notification_not_one_per_alert(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 25, item 2: ten critical alerts in a few seconds were ten notifications
    on the phone; past three in a minute, one "N alerts need you" is updated instead."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    _page, worker = await background(browser, hub, "bruno")
    for i in range(10):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
            "title": f"House {i} flooded", "severity": "critical", "assignees": ["bruno"]})
        assert r.status_code == 201
    async with asyncio.timeout(15):
        while not [n for n in await worker.evaluate(SHOWN)
                   if n["tag"] == "alerts:many" and n["title"] == "10 alerts need you"]:
            await asyncio.sleep(0.1)
    shown = await worker.evaluate(SHOWN)
    assert len([n for n in shown if n["tag"].startswith("alert:")]) <= 3, shown
    assert len(shown) <= 4


async def test_no_system_notification_while_the_app_is_in_front(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    page = await login(browser, hub, "bruno", permissions=["notifications"])
    async with asyncio.timeout(10):
        while not await page.evaluate("!!navigator.serviceWorker.controller"):
            await asyncio.sleep(0.1)
    await page.bring_to_front()
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Bridge down", "severity": "critical", "assignees": ["bruno"]})
    await page.wait_for_selector("#critical:not([hidden])", timeout=10_000)  # it shows here
    [worker] = page.context.service_workers
    assert await worker.evaluate(SHOWN) == []
