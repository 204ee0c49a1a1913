"""The web client on a phone (issue 11, item 1): no sideways scrolling, thumb-sized controls.

A 390x844 touch phone (and the 360x640 floor the issue sets), logged in as a
member: every tab fits the screen's width, and every control a responder can
reach is at least 44 px tall.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import PASSWORD, RunningHub

PHONES = {"390x844": {"width": 390, "height": 844}, "360x640": {"width": 360, "height": 640}}
TABS = ("mine", "chat", "cases", "alerts", "board")

SMALL_CONTROLS = """() => {
    const out = [];
    for (const e of document.querySelectorAll(
            'button, select, input, textarea, a[href], [role=tab], summary')) {
        const r = e.getBoundingClientRect();
        const style = getComputedStyle(e);
        if (!r.width || !r.height || style.visibility === 'hidden') continue;  // not shown
        if (r.right <= 0) continue;  // moved off screen until focused (the skip link)
        const target = e.type === 'checkbox' ? e.closest('label') || e : e;
        const h = target.getBoundingClientRect().height;
        const name = `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${e.name || ''}`;
        if (h < 44 - 0.5) out.push(`${name} ${Math.round(h)}px`);
    }
    return out;
}"""


async def phone(browser: Any, hub: RunningHub, username: str, size: str) -> Any:
    context = await browser.new_context(viewport=PHONES[size], is_mobile=True, has_touch=True,
                                        device_scale_factor=2)
    page = await context.new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", PASSWORD)
    await page.tap("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    return page


async def overflow(page: Any) -> int:
    return await page.evaluate(  # type: ignore[no-any-return]
        "document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("size", list(PHONES))
async def test_no_screen_scrolls_sideways_and_controls_are_thumb_sized(
        browser: Any, page_hub: RunningHub, size: str) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                  json={"id": "crit", "when": 'severity == "critical"',
                        "severity": "critical", "summary": "{title} is critical"})
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Levee breach at the lower village of Kerns",
                        "severity": "critical", "assignees": ["bruno"]})
    page = await phone(browser, hub, "bruno", size)
    await page.wait_for_selector("#critical:not([hidden])", timeout=10_000)
    for tab in TABS:
        await page.tap(f"#tab-{tab}")
        await page.wait_for_selector(f"#panel-{tab}:not([hidden])")
        assert await overflow(page) <= 0, (size, tab)
        assert await page.evaluate(SMALL_CONTROLS) == [], (size, tab)
    await page.tap("#tab-cases")
    await page.tap("#new-case")
    await page.wait_for_selector("#case-form:not([hidden])")
    assert await overflow(page) <= 0, (size, "new case")
    assert await page.evaluate(SMALL_CONTROLS) == [], (size, "new case")


async def test_the_message_box_is_on_the_first_screen(browser: Any,
                                                      page_hub: RunningHub) -> None:
    """It was almost two screens down, below the channel list and two banners."""
    page = await phone(browser, page_hub, "bruno", "390x844")
    tabs = await page.locator("#tab-chat").bounding_box()
    assert tabs is not None and tabs["y"] < 300
    await page.tap("#tab-chat")
    box = await page.locator("#text").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844
    await page.tap("#text")
    await page.fill("#text", "on my way")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#messages li[data-seq='1']")
    assert await overflow(page) <= 0


async def test_the_responder_acts_on_an_alert_and_reports_from_the_field(
        browser: Any, page_hub: RunningHub) -> None:
    """On a phone the first screen is what is for me: my alert, acknowledged with one tap
    (the alert, on the server: its escalation stops), my cases, and a report that takes
    its position from the device."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                  json={"id": "crit", "when": 'severity == "critical"', "severity": "critical",
                        "summary": "{title} is critical", "route": ["assignees"]})
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Dam breach", "severity": "critical", "assignees": ["bruno"]})
    context = await browser.new_context(viewport=PHONES["390x844"], is_mobile=True,
                                        has_touch=True, permissions=["geolocation"],
                                        geolocation={"latitude": 46.2044, "longitude": 6.1432})
    page = await context.new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.fill("#login input[name=username]", "bruno")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.tap("#login button[type=submit]")
    await page.wait_for_selector("#panel-mine:not([hidden])", timeout=10_000)  # first
    mine = "#my-alerts li[data-state=firing]"
    await page.wait_for_selector(mine, timeout=10_000)
    assert "Dam breach is critical" in (await page.text_content(mine) or "")
    assert "Dam breach" in (await page.text_content("#my-cases") or "")
    await page.tap(f"{mine} button.ack")
    async with asyncio.timeout(10):
        while True:
            [alert] = (await hub.api("GET", f"/api/operations/{op}/alerts",
                                     "alice")).json()["alerts"]
            if alert["state"] == "acknowledged":
                break
            await asyncio.sleep(0.05)
    assert alert["acked_by"] == "bruno" and alert["escalation"]["next_at"] is None
    await page.wait_for_selector("#my-alerts li[data-state=acknowledged]")

    await page.tap("#report")
    await page.wait_for_selector("#case-form:not([hidden])")
    await page.fill("#case-form input[name=title]", "Landslide on the Kerns road")
    await page.tap("#locate")
    async with asyncio.timeout(10):
        while not await page.input_value("#case-form input[name=lat]"):
            await asyncio.sleep(0.05)
    await page.tap("#case-form button[type=submit]")
    async with asyncio.timeout(10):
        while True:
            cases = (await hub.api("GET", f"/api/operations/{op}/cases",
                                   "alice")).json()["cases"]
            found = [c for c in cases if c["title"] == "Landslide on the Kerns road"]
            if found:
                break
            await asyncio.sleep(0.05)
    assert found[0]["location"]["lat"] == 46.2044 and found[0]["location"]["lon"] == 6.1432
    assert found[0]["created_by"] == "bruno"
    assert await overflow(page) <= 0


#: Where the active tab's panel starts, and the share of the screen left below it for
#: content; the header's and the collapsed alert stack's heights.
FIRST_SCREEN = """(tab) => {
    scrollTo(0, 0);
    const top = document.getElementById(`panel-${tab}`).getBoundingClientRect().top;
    const height = (sel) => document.querySelector(sel).getBoundingClientRect().height;
    return { share: (innerHeight - Math.max(0, top)) / innerHeight,
             header: height('header'), stack: height('#critical') };
}"""
#: Controls of the header, the alert stack and the tab row that the screen's edge cuts,
#: or that another control covers (the stack's buttons once overlapped).
CUT_OFF = """() => {
    const out = [];
    const shown = [...document.querySelectorAll(
        'header button, header select, #critical button, [role=tab]')]
        .filter((e) => e.getBoundingClientRect().width > 0);
    for (const e of shown) {
        const r = e.getBoundingClientRect();
        if (r.left < -0.5 || r.right > innerWidth + 0.5) out.push(`${e.id || e.className} cut`);
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (r.top >= 0 && hit && !e.contains(hit)) out.push(`${e.id || e.className} covered`);
    }
    return out;
}"""
LONG_WORD = "Hochwasserschutzmaßnahmenkoordinationsstelle" * 2


async def test_a_phones_first_screen_is_for_content(browser: Any, page_hub: RunningHub) -> None:
    """Issue 25, defect 5: at 360x640 the header took five rows and every panel started at
    y~575 of 640; long words and long label chips pushed the page sideways. Now the header
    is one row (settings behind a menu), the alert stack one line, and at least 60 % of the
    first screen is the active tab's, on every tab, with every control thumb-sized."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                  json={"id": "crit-phone", "when": 'severity == "critical"',
                        "severity": "critical", "summary": "{title} is critical"})
    label = {"level": "UNCLASSIFIED", "categories": {"REL TO": ["ARMY", "POLICE"]}}
    for title in ("Levee breach at the lower village of Kerns", LONG_WORD):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": title, "severity": "critical", "label": label,
                                "assignees": ["bruno"], "location": {"place": LONG_WORD}})
        assert r.status_code == 201, r.text
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": f"{LONG_WORD} https://example.org/{LONG_WORD}",
                            "client_msg_id": "long-word"})
    assert r.status_code in (200, 201), r.text
    page = await phone(browser, hub, "bruno", "360x640")
    await page.wait_for_selector("#critical .stack-more", timeout=10_000)  # two alerts
    for tab in TABS:
        await page.tap(f"#tab-{tab}")
        await page.wait_for_selector(f"#panel-{tab}:not([hidden])")
        if tab == "chat":
            await page.wait_for_selector("#messages li[data-seq]")
        seen = await page.evaluate(FIRST_SCREEN, tab)
        assert seen["header"] <= 60, (tab, seen)  # one row of 44-pixel controls
        assert seen["stack"] <= 60, (tab, seen)   # collapsed: one line
        assert seen["share"] >= 0.6, (tab, seen)
        assert await overflow(page) <= 0, tab
        assert await page.evaluate(SMALL_CONTROLS) == [], tab
        assert await page.evaluate(CUT_OFF) == [], tab
    # The settings are one tap away, and thumb-sized too.
    await page.tap("#menu-toggle")
    await page.wait_for_selector("#lang", state="visible")
    assert await page.evaluate(SMALL_CONTROLS) == []
    assert await overflow(page) <= 0
    await page.select_option("#lang", "fr")
    await page.wait_for_selector("html[lang=fr]")
