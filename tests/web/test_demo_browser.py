"""The README's walkthrough on the seeded demo, in a browser.

It follows what a newcomer does after `liaison demo`: two agencies chat in
#general, one sends an urgent message the other acknowledges, the river-gauge
bot reports a critical case, the alert reaches the board and #alerts, and the
case detail shows it. With LIAISON_SCREENSHOTS=1 it also writes the README's
screenshots (docs/screenshots), so they always show the demo as it is.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from hub.clock import ManualClock
from hub.config import Settings
from liaison.demo import DEMO_OPERATION, seed_demo
from tests.conftest import RunningHub
from tests.web.pages import login

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def shot(page: Any, name: str) -> None:
    if os.environ.get("LIAISON_SCREENSHOTS") == "1":
        await page.screenshot(path=str(SHOTS / name), full_page=False)


async def send(page: Any, text: str, priority: str = "normal") -> None:
    await page.select_option("#priority", priority)
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_the_readme_walkthrough_on_the_demo(browser: Any, start_hub: Any,
                                                  tmp_path: Path) -> None:
    hub: RunningHub = await start_hub(Settings(data_dir=tmp_path / "data"),
                                      clock=ManualClock(time.time()), seeded=False)
    creds = {u: p for u, p, _ in await seed_demo(hub.services, tmp_path)}
    await hub.services.evaluator.tick()  # the running hub takes in the seeded rules
    desktop = {"width": 1280, "height": 800}
    alice = await login(browser, hub, "alice", password=creds["alice"], viewport=desktop)
    bruno = await login(browser, hub, "bruno", password=creds["bruno"], viewport=desktop)
    assert await alice.text_content("#classification") == DEMO_OPERATION["label"]["level"]
    assert "OP-DELTA" in (await alice.text_content("#operations option") or "")
    assert "general" in (await alice.text_content("#channels button[aria-current=true]") or "")

    await send(alice, "Boats 3 and 4 leave the depot for Kerns at 14:00.")
    await send(bruno, "Levee at Kerns is failing: evacuate the lower village now.", "urgent")
    await alice.wait_for_selector("#messages li.urgent button.ack-msg")
    await alice.click("#messages li.urgent button.ack-msg")
    await bruno.wait_for_selector("#messages li.urgent .acks:has-text('Alice')")
    await send(bruno, "@alice two platoons are on their way to the levee.")
    await alice.wait_for_selector("#messages li.mention")
    await shot(alice, "chat.png")

    # The README's bot command: the river gauge reports a critical case.
    token = (tmp_path / "demo-bot-token.txt").read_text().strip()
    assert hub.http is not None
    r = await hub.http.post("/api/operations/OP-DELTA/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"title": "Levee breach at Kerns", "severity": "critical",
                                  "assignees": ["bruno"], "fields": {"casualties": 2},
                                  "location": {"place": "Kerns levee", "lat": 47.05,
                                               "lon": 8.31}})
    assert r.status_code == 201, r.text
    await alice.click("#tab-board")
    await alice.wait_for_selector("#board li.alert-row[data-state=firing]", timeout=10_000)
    await alice.wait_for_selector("#critical:not([hidden])")
    await alice.wait_for_selector("#map-host .marker.sev-critical", timeout=10_000)
    await shot(alice, "board.png")

    await alice.click("#tab-cases")
    await alice.click("#case-list li button.linkish")
    await alice.wait_for_selector("#timeline li.alert")
    await shot(alice, "case-detail.png")

    await bruno.click("#channels button:has-text('alerts')")
    notice = "#messages li[data-alert]"
    await bruno.wait_for_selector(f"{notice} .alert-state[data-state=firing]", timeout=10_000)
    assert "@bruno" in (await bruno.text_content(notice) or "")
    await bruno.click(f"{notice} button.ack-alert")
    await alice.wait_for_selector("#critical", state="hidden", timeout=10_000)
