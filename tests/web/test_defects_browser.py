"""Desktop defects a crisis would expose (issue 11, item 5), one test each."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import PASSWORD, RunningHub
from tests.web.pages import login

RULE = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical"}


async def test_a_silenced_alert_leaves_the_banner_and_its_silence_names_it(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 2: it stayed in the red banner, and the silence list showed a raw id."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    bruno = await login(browser, hub, "bruno")
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Levee breach", "severity": "critical"})
    await bruno.wait_for_selector("#critical:not([hidden])", timeout=10_000)
    await bruno.click("#tab-alerts")
    row = "#alert-list li[data-state=firing]"
    await bruno.wait_for_selector(row)
    alert_id = await bruno.get_attribute(row, "data-alert")
    await bruno.click(f"{row} button.silence-open")  # the form shows when asked for
    await bruno.fill(f"{row} form.silence input[name=reason]", "crews on site")
    await bruno.click(f"{row} form.silence button[type=submit]")
    await bruno.wait_for_selector(f"#alert-list li[data-alert='{alert_id}'] .meta"
                                  ":has-text('silenced')", timeout=10_000)
    await bruno.wait_for_selector("#critical", state="hidden")
    silence = await bruno.text_content("#silence-list li")
    assert silence is not None and "Levee breach is critical" in silence
    assert str(alert_id) not in silence
    # The silence is marked as the alert it names (alerting/pipeline/silence_label.py).
    marking = await bruno.text_content("#silence-list li .marking")
    assert marking and marking == await bruno.text_content(
        f"#alert-list li[data-alert='{alert_id}'] .marking")


async def test_after_an_edit_conflict_the_form_shows_the_current_case_and_my_changes(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 3: the form kept showing the old values the other person had changed."""
    hub = page_hub
    op = hub.ops["A"].id
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Missing hiker", "severity": "minor"})).json()
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{case['id']}'] button.linkish")
    await bruno.click("#case-actions button:has-text('Edit')")
    await bruno.fill("#case-form input[name=place]", "Col de la Croix")
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "alice",
                      json={"version": case["version"], "severity": "major",
                            "status": "in_progress", "fields": {"casualties": 4}})
    assert r.status_code == 200
    await bruno.click("#case-form button[type=submit]")
    # The conflict's answer (not the live "alice just changed this case" note before it).
    await bruno.wait_for_selector("#case-form-msg:has-text('save again')")
    form = "#case-form"
    assert await bruno.input_value(f"{form} select[name=severity]") == "major"
    assert await bruno.input_value(f"{form} select[name=status]") == "in_progress"
    assert await bruno.input_value(f"{form} input[name=casualties]") == "4"
    assert await bruno.input_value(f"{form} input[name=place]") == "Col de la Croix"
    await bruno.click(f"{form} button[type=submit]")  # saves just the place on top of theirs
    async with asyncio.timeout(10):
        while True:
            now = (await hub.api("GET", f"/api/operations/{op}/cases/{case['id']}",
                                 "alice")).json()
            if (now.get("location") or {}).get("place") == "Col de la Croix":
                break
            await asyncio.sleep(0.05)
    assert (now["severity"], now["status"], now["fields"]["casualties"]) == \
        ("major", "in_progress", 4)


def _luminance(rgb: str) -> float:
    parts = [int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in parts)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


async def test_the_critical_banner_is_readable_in_both_themes(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 4: white on #ff6b6b in the dark theme was 2.8:1, below WCAG AA."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    bruno = await login(browser, hub, "bruno")
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Dam breach", "severity": "critical"})
    await bruno.wait_for_selector("#critical:not([hidden])", timeout=10_000)
    for theme in ("light", "dark"):
        await bruno.select_option("#theme", theme)
        colours = await bruno.evaluate("""() => {
            const s = getComputedStyle(document.querySelector('#critical strong'));
            const b = getComputedStyle(document.querySelector('#critical'));
            return [s.color, b.backgroundColor];
        }""")
        assert contrast(*colours) >= 4.5, (theme, colours)


async def test_the_timeline_shows_figures_as_words_and_numbers(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: figures showed as raw JSON ({"people_affected":120} -> {...})."""
    hub = page_hub
    op = hub.ops["A"].id
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Flooded school", "severity": "major",
                                "fields": {"people_affected": 120}})).json()
    await hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "alice",
                  json={"version": case["version"],
                        "fields": {"people_affected": 1500, "casualties": 2}})
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{case['id']}'] button.linkish")
    await bruno.wait_for_selector("#timeline li:nth-child(2)")
    line = await bruno.text_content("#timeline li:nth-child(2)") or ""
    assert "{" not in line and '"' not in line
    assert "People affected: 120 → 1,500" in line and "Casualties: — → 2" in line
    await bruno.evaluate("localStorage.setItem('liaison.lang', 'fr')")
    await bruno.reload()
    await bruno.wait_for_selector("#conn.live", timeout=10_000)
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{case['id']}'] button.linkish")
    await bruno.wait_for_selector("#timeline li:nth-child(2)")
    line = await bruno.text_content("#timeline li:nth-child(2)") or ""
    assert "Victimes : — → 2" in line or "Victimes: — → 2" in line
    assert "1\u202f500" in line or "1 500" in line or "1\xa0500" in line  # French digits


async def test_french_shows_french_dates_whatever_the_browser_locale(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: French kept English dates and times."""
    hub = page_hub
    await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "alice",
                  json={"title": "Road closed", "severity": "minor"})
    bruno = await login(browser, hub, "bruno", locale="en-US")
    await bruno.select_option("#lang", "fr")
    await bruno.wait_for_selector("html[lang=fr]")  # once its catalogue has come
    shown = await bruno.evaluate("""async () => {
        const d = await import('/dom.js');
        return d.fmtTime(Date.UTC(2026, 0, 15, 14, 5) / 1000);
    }""")
    assert "janv." in shown and "PM" not in shown


async def test_the_operation_opens_on_general_not_the_first_channel_by_name(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: #alerts sorts first, so it was the channel a new user landed in."""
    hub = page_hub
    await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/channels", "alice",
                  json={"name": "alerts"})
    bruno = await login(browser, hub, "bruno")
    opened = await bruno.text_content("#channels button[aria-current=true]") or ""
    assert "general" in opened and "alerts" not in opened


async def test_an_empty_channel_says_so_and_the_first_message_replaces_the_note(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: empty channels and lists showed nothing at all."""
    bruno = await login(browser, page_hub, "bruno")
    await bruno.wait_for_selector("#messages li.none")
    assert "No messages yet" in (await bruno.text_content("#messages li.none") or "")
    await bruno.fill("#text", "first!")
    await bruno.press("#text", "Enter")
    await bruno.wait_for_selector("#messages li[data-seq='1']")
    assert await bruno.locator("#messages li.none").count() == 0


async def test_an_observer_is_told_why_they_cannot_post(browser: Any,
                                                        page_hub: RunningHub) -> None:
    """Defect 6: the composer just was not there."""
    olga = await login(browser, page_hub, "olga")  # an observer in operation A
    assert await olga.is_hidden("#composer")
    assert await olga.is_visible("#observer-hint")
    assert "observer" in (await olga.text_content("#observer-hint") or "")
    bruno = await login(browser, page_hub, "bruno")
    assert await bruno.is_hidden("#observer-hint")


async def test_no_empty_message_bar_on_the_new_case_form_and_a_favicon(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: an empty yellow bar sat atop the new-case form; there was no favicon."""
    hub = page_hub
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-cases")
    await bruno.click("#new-case")
    await bruno.wait_for_selector("#case-form:not([hidden])")
    assert await bruno.is_hidden("#case-form-msg")
    for page in ("/", "/board.html"):
        r = await hub.http.get(page)  # type: ignore[union-attr]
        assert '<link rel="icon" href="/favicon.svg"' in r.text
    icon = await hub.http.get("/favicon.svg")  # type: ignore[union-attr]
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")


async def test_the_wall_boards_counts_fit_their_card_in_both_languages(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 5: at 1280 px the counts table overflowed its card, cutting off `closed`."""
    hub = page_hub
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    base = hub.url.replace("127.0.0.1", "localhost")
    await page.goto(base + "/")
    await page.fill("#login input[name=username]", "alice")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    for lang in ("en", "fr"):
        await page.evaluate(f"localStorage.setItem('liaison.lang', '{lang}')")
        await page.goto(f"{base}/board.html?op={hub.ops['A'].id}")
        await page.wait_for_selector("#board[data-version]", timeout=10_000)
        fits = await page.evaluate("""() => {
            const card = document.querySelector('#b-counts');
            const table = card.querySelector('table.counts');
            const last = table.querySelector('thead th:last-child').getBoundingClientRect();
            const box = card.getBoundingClientRect();
            return {table: table.scrollWidth, card: card.clientWidth,
                    lastRight: last.right, cardRight: box.right};
        }""")
        assert fits["table"] <= fits["card"], (lang, fits)
        assert fits["lastRight"] <= fits["cardRight"], (lang, fits)


async def test_empty_alert_lists_say_so(browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: empty lists showed nothing at all."""
    bruno = await login(browser, page_hub, "bruno")
    await bruno.click("#tab-alerts")
    for part in ("#alert-list", "#resolved-list", "#silence-list"):
        await bruno.wait_for_selector(f"{part} li.none")
    await bruno.click("#tab-cases")
    await bruno.wait_for_selector("#case-list li.none")
