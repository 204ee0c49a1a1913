"""The full-screen board page in a real headless Chromium: live alerts, acknowledgement."""

from __future__ import annotations

import time
from typing import Any

from channels.bodies import chat_body
from hub.clock import ManualClock
from hub.models import ChannelId
from tests.conftest import PASSWORD, RunningHub, embedded_settings
from tests.web.pages import bot_token, login

CRITICAL = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical", "route": ["channel:alerts", "coordinators"]}


async def _board_page(browser: Any, hub: RunningHub, username: str) -> Any:
    page = await (await browser.new_context()).new_page()
    base = hub.url.replace("127.0.0.1", "localhost")
    await page.goto(base + "/")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.goto(f"{base}/board.html?op={hub.ops['A'].id}")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.wait_for_selector("#board[data-version]", timeout=5000)
    return page


async def test_a_bot_raised_critical_case_shows_on_the_board_and_its_ack_live(
        browser: Any, running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/channels", "alice", json={"name": "alerts"})
    assert r.status_code == 201
    alerts_channel = ChannelId(r.json()["id"])
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=CRITICAL)).status_code == 201
    token = await bot_token(hub)
    olga, alice = await _board_page(browser, hub, "olga"), await _board_page(browser, hub,
                                                                              "alice")
    assert hub.http is not None
    r = await hub.http.post(f"/api/operations/{op}/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"title": "Dam breach at Kerns", "severity": "critical",
                                  "location": {"place": "Kerns dam"}})
    assert r.status_code == 201, r.text
    started = time.monotonic()
    for page in (olga, alice):
        await page.wait_for_selector("#b-alerts li[data-state=firing]", timeout=1000)
    shown_within = time.monotonic() - started
    assert shown_within < 1.0
    text = await olga.text_content("#b-alerts li[data-state=firing]")
    assert "Dam breach at Kerns is critical" in (text or "")
    assert await olga.text_content("#b-counts tr[data-severity=critical] td[data-status=open]") \
        == "1"
    assert "Dam breach at Kerns" in (await olga.text_content("#b-cases") or "")
    [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    r = await hub.api("POST", f"/api/operations/{op}/alerts/{alert['id']}/ack", "alice")
    assert r.status_code == 200
    for page in (olga, alice):
        await page.wait_for_selector("#b-alerts li[data-state=acknowledged]", timeout=2000)
    assert "alice" in (await olga.text_content("#b-alerts li[data-state=acknowledged]") or "")
    messages = await hub.hub.engine.store.read_messages(alerts_channel, after_seq=0, limit=10)
    assert [m.sender for m in messages] == ["hub"]
    assert chat_body(messages[0]).text.startswith("CRITICAL alert: Dam breach at Kerns is critical")


async def test_the_board_of_someone_elses_operation_is_refused(browser: Any,
                                                               running_hub: RunningHub) -> None:
    page = await (await browser.new_context()).new_page()
    base = running_hub.url.replace("127.0.0.1", "localhost")
    await page.goto(base + "/")
    await page.fill("#login input[name=username]", "xavier")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    await page.goto(f"{base}/board.html?op={running_hub.ops['A'].id}")
    await page.wait_for_selector("#board-message:not([hidden])", timeout=5000)
    assert await page.locator("#board li").count() == 0


async def test_the_replay_slider_shows_the_board_as_it_stood_then(
        browser: Any, start_hub: Any, tmp_path: Any) -> None:
    """The slider runs from the operation's start to now. The hub's clock is set far back
    (the operation began in 2001), so the middle of the slider falls between two cases."""
    start = 1_000_000_000.0
    clock = ManualClock(start)
    hub: RunningHub = await start_hub(embedded_settings(tmp_path), clock=clock)
    op = hub.ops["A"].id
    lifetime = time.time() - start
    for share, title in ((0.3, "Early flood"), (0.7, "Late landslide")):
        clock.advance(start + share * lifetime - clock.now())
        hub._tokens.pop("alice", None)  # years have passed: log in again
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": title, "severity": "major"})
        assert r.status_code == 201, r.text
    clock.advance(time.time() - clock.now())
    page = await login(browser, hub, "alice")
    await page.click("#tab-board")
    await page.wait_for_selector("#board :text('Late landslide')")
    await page.evaluate("""() => { const s = document.getElementById("replay-at");
                                   s.value = "500"; s.dispatchEvent(new Event("input")); }""")
    await page.wait_for_selector("#replay-live:not([hidden])")
    await page.wait_for_function(
        "() => !document.getElementById('board').textContent.includes('Late landslide')")
    assert "Early flood" in (await page.text_content("#board") or "")
    assert (await page.text_content("#replay-when") or "live") != "live"  # the moment shown
    await page.click("#replay-live")
    await page.wait_for_selector("#board :text('Late landslide')")
    assert await page.text_content("#replay-when") == "live"


async def test_an_exercise_shows_its_banner_and_a_real_event_in_it_says_real_world(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    assert (await hub.api("PATCH", f"/api/operations/{op}", "root",
                          json={"exercise": True})).status_code == 200
    for title, flags in (("Drill casualty", {}), ("Real fire", {"real_world": True})):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": title, "severity": "major", **flags})
        assert r.status_code == 201, r.text
    page = await login(browser, hub, "alice")
    assert await page.is_visible("#exercise-banner")
    assert await page.text_content("#exercise-banner") == "EXERCISE"
    # In an exercise, a message can be marked as a real event, and shows it.
    await page.check("#real-world")
    await page.fill("#text", "A real injury at gate 2")
    await page.press("#text", "Enter")
    badge = await page.wait_for_selector(
        "#messages li[data-seq]:has-text('A real injury') .real-world")
    assert await badge.text_content() == "REAL WORLD"
    await page.click("#tab-board")
    real = await page.wait_for_selector("#board li:has-text('Real fire') .real-world")
    assert await real.text_content() == "REAL WORLD"
    drill = await page.wait_for_selector("#board li:has-text('Drill casualty') .exercise")
    assert await drill.text_content() == "EXERCISE"
    assert await page.query_selector("#board li:has-text('Drill casualty') .real-world") is None
