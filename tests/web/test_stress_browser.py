"""The person under stress (issue 25), in Chromium: one test per defect."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import RunningHub
from tests.web.pages import login


async def test_every_agency_acknowledgement_reads_the_same_everywhere_and_spares_its_sender(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 3: the chat listed every agency of the operation (the sender's own too)
    while the alert listed others, and the sender got a critical banner about her own
    message. Now the chat shows the alert's sets, and only others are interrupted."""
    hub = page_hub
    general = hub.ch("A/general")
    alice = await login(browser, hub, "alice")  # POLICE, sends it
    bruno = await login(browser, hub, "bruno")  # ARMY, must acknowledge
    r = await hub.api("POST", f"/api/channels/{general}/messages", "alice", json={
        "text": "Dyke 3 overtopping: evacuate sector B", "client_msg_id": "u1",
        "priority": "urgent", "ack": "each_agency"})
    assert r.status_code == 201, r.text
    line = "#messages li[data-urgent] .acks .to-ack"
    await alice.wait_for_selector(f"{line}:has-text('ARMY')", timeout=10_000)
    assert "POLICE" not in (await alice.text_content(line) or "")
    await bruno.wait_for_selector("#critical:not([hidden])", timeout=10_000)
    await bruno.wait_for_selector(f"{line}:has-text('ARMY')", timeout=10_000)
    assert await alice.is_hidden("#critical")
    # The Alerts panel says the same of who is still to acknowledge.
    await alice.click("#tab-alerts")
    meta = await alice.text_content("#alert-list li[data-state=firing] .meta") or ""
    assert "to acknowledge: ARMY" in meta and "POLICE" not in meta.split("to acknowledge:")[1]
    # bruno acknowledges in the chat: his banner goes, and both chats stop asking.
    await bruno.click("#messages li[data-urgent] button.ack-msg")
    await bruno.wait_for_selector("#critical", state="hidden", timeout=10_000)
    await alice.click("#tab-chat")
    await alice.wait_for_selector(line, state="detached", timeout=10_000)


RULE = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical"}


async def test_the_stack_never_hides_an_alert_and_reaches_across_operations(
        browser: Any, page_hub: RunningHub) -> None:
    """Defects 1 and 2: the banner showed the 3 oldest of 7 critical alerts, pinned over
    the page, and a critical alert of another operation showed nowhere."""
    hub = page_hub
    a, b = hub.ops["A"].id, hub.ops["B"].id
    r = await hub.api("PUT", f"/api/operations/{b}/members/bruno", "root",
                      json={"role": "member"})
    assert r.status_code == 200, r.text
    for op in (a, b):
        r = await hub.api("POST", f"/api/operations/{op}/rules", "root" if op == b else "alice",
                          json={**RULE, "id": f"crit-{op}"})  # rule ids are global today
        assert r.status_code == 201, r.text
    bruno = await login(browser, hub, "bruno")
    assert await bruno.input_value("#operations") == a
    for i in range(7):
        r = await hub.api("POST", f"/api/operations/{a}/cases", "alice",
                          json={"title": f"Levee {i}", "severity": "critical"})
        assert r.status_code == 201, r.text
        # one at a time, so each fires at its own moment and "newest" is well defined
        await bruno.wait_for_selector(f"#critical .stack-count:has-text('{i + 1} critical')",
                                      timeout=15_000)
    # Collapsed: one line, the newest first, and "+6 more".
    assert await bruno.text_content("#critical .stack-newest .stack-summary") == \
        "Levee 6 is critical"
    assert await bruno.text_content("#critical .stack-more") == "+6 more"
    height = await bruno.eval_on_selector("#critical", "e => e.getBoundingClientRect().height")
    line = await bruno.eval_on_selector("#critical .stack-head",
                                        "e => e.getBoundingClientRect().height")
    assert height <= line + 16, (height, line)
    # It pushes the page down, it covers nothing.
    assert await bruno.eval_on_selector("#critical", "e => getComputedStyle(e).position") \
        == "static"
    await bruno.click("#critical .stack-more")
    summaries = await bruno.eval_on_selector_all(
        "#stack-list .stack-summary", "els => els.map(e => e.textContent)")
    assert summaries == [f"Levee {i} is critical" for i in range(6, -1, -1)]
    # A critical alert in operation B: in the stack with its operation, and a badge.
    r = await hub.api("POST", f"/api/operations/{b}/cases", "xavier",
                      json={"title": "Bravo bridge", "severity": "critical"})
    assert r.status_code == 201, r.text
    await bruno.wait_for_selector("#critical .stack-count:has-text('8 critical')",
                                  timeout=15_000)
    assert await bruno.text_content("#critical .stack-newest .stack-op") == "OP-B"
    assert await bruno.text_content("#op-badge") == "1 in other operations"
    option = await bruno.eval_on_selector(f"#operations option[value='{b}']",
                                          "o => o.textContent")
    assert option.endswith("(1 active)"), option
    # One tap acknowledges it there, from here.
    await bruno.click("#critical .stack-newest button.ack")
    await bruno.wait_for_selector("#critical .stack-count:has-text('7 critical')",
                                  timeout=15_000)
    await bruno.wait_for_selector("#op-badge", state="hidden")
    r = await hub.api("GET", f"/api/operations/{b}/alerts", "xavier")
    assert [x["state"] for x in r.json()["alerts"]] == ["acknowledged"]


async def test_a_new_device_opens_the_operation_that_needs_me(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 9: a new device opened the alphabetically first operation, not the one
    with my alerts; without any, it still opens the last one used."""
    hub = page_hub
    a, b = hub.ops["A"].id, hub.ops["B"].id
    r = await hub.api("PUT", f"/api/operations/{b}/members/bruno", "root",
                      json={"role": "member"})
    assert r.status_code == 200, r.text
    first = await login(browser, hub, "bruno")
    assert await first.input_value("#operations") == a  # nothing anywhere: the first
    r = await hub.api("POST", f"/api/operations/{b}/alerts", "xavier", json={
        "summary": "Bravo bridge down", "severity": "critical", "fingerprint": "bb"})
    assert r.status_code == 201, r.text
    phone = await login(browser, hub, "bruno")  # a new device
    assert await phone.input_value("#operations") == b
    await phone.wait_for_selector("#critical .stack-count:has-text('1 critical')")


async def test_offline_a_case_never_opened_says_so_and_shows_no_other_case(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: offline, tapping a case not kept showed the last case opened, with its
    Edit button, and saving queued a change to that wrong case."""
    hub = page_hub
    op = hub.ops["A"].id
    ids = {}
    for title in ("Old case", "Never opened"):
        r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": title, "assignees": ["bruno"]})
        assert r.status_code == 201, r.text
        ids[title] = r.json()["id"]
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{ids['Old case']}'] button.linkish")
    await bruno.wait_for_selector("#case-actions button:has-text('Edit')")
    await bruno.click("#tab-mine")
    await bruno.context.set_offline(True)
    await bruno.click(f"#my-cases li[data-case='{ids['Never opened']}'] button.linkish")
    await bruno.wait_for_selector("#case-detail-msg:has-text('not kept on this device')",
                                  timeout=10_000)
    assert await bruno.text_content("#case-title") == "Never opened"
    assert await bruno.query_selector_all("#case-actions button") == []
    assert await bruno.text_content("#case-facts") == ""
    # Back online, it opens.
    await bruno.context.set_offline(False)
    await bruno.click("#case-back")
    await bruno.click(f"#case-list li[data-case='{ids['Never opened']}'] button.linkish")
    await bruno.wait_for_selector("#case-actions button:has-text('Edit')", timeout=10_000)
    assert await bruno.is_hidden("#case-detail-msg")


async def test_an_acknowledgement_made_offline_says_it_waits_then_lands(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 6: acknowledged offline in For me, the alert still read "firing" with its
    button; nothing said the acknowledgement was waiting."""
    hub = page_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/rules", "alice", json={
        **RULE, "route": ["assignees"]})
    assert r.status_code == 201, r.text
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-mine")
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Levee breach", "severity": "critical", "assignees": ["bruno"]})
    assert r.status_code == 201, r.text
    row = "#my-alerts li[data-state=firing]"
    await bruno.wait_for_selector(f"{row} button.ack", timeout=15_000)
    await bruno.context.set_offline(True)
    await bruno.click(f"{row} button.ack")
    await bruno.wait_for_selector(f"{row} .waiting:has-text('waiting to send')",
                                  timeout=10_000)
    assert await bruno.query_selector(f"{row} button.ack") is None
    assert await bruno.text_content("#critical .stack-newest .waiting") == \
        "acknowledgement waiting to send"
    await bruno.context.set_offline(False)
    await bruno.wait_for_selector("#my-alerts li[data-state=acknowledged]", timeout=20_000)
    assert await bruno.query_selector("#my-alerts .waiting") is None


async def test_figures_read_in_words_and_the_counts_never_break_a_word(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 7: a case's figures showed raw keys (people_affected: 120) and the board's
    counts table broke words ("in progr ess")."""
    hub = page_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Camp flooded", "fields": {"people_affected": 1200}})
    assert r.status_code == 201, r.text
    for lang, figure in (("en", "People affected: 1,200"), ("fr", "Personnes touchées")):
        page = await login(browser, hub, "bruno", viewport={"width": 360, "height": 640},
                           locale="en-US")
        if lang == "fr":
            await page.click("#menu-toggle")  # a phone's settings are behind the menu
            await page.select_option("#lang", "fr")
            await page.wait_for_selector("html[lang=fr]")
        await page.click("#tab-cases")
        await page.click(f"#case-list li[data-case='{r.json()['id']}'] button.linkish")
        await page.wait_for_selector(f"#case-facts:has-text('{figure}')", timeout=10_000)
        assert "people_affected" not in (await page.text_content("#case-facts") or "")
        await page.click("#tab-board")
        await page.wait_for_selector("#b-counts table")
        cut = await page.eval_on_selector_all("#b-counts th, #b-counts td", """cells =>
            cells.filter(c => c.scrollWidth > c.clientWidth + 1
                || getComputedStyle(c).overflowWrap !== 'normal').map(c => c.textContent)""")
        assert cut == [], (lang, cut)


async def test_every_screen_has_exactly_one_h1(browser: Any, page_hub: RunningHub) -> None:
    """Defect 9: no screen after login had an h1 (axe "page-has-heading-one")."""
    hub = page_hub
    page = await (await browser.new_context()).new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.wait_for_selector("#login:not([hidden])")
    visible_h1 = "els => els.filter(e => e.offsetParent !== null).map(e => e.textContent)"
    assert await page.eval_on_selector_all("h1", visible_h1) == ["Liaison Hub"]
    bruno = await login(browser, hub, "bruno")
    for tab in ("mine", "chat", "cases", "alerts", "board"):
        await bruno.click(f"#tab-{tab}")
        assert await bruno.eval_on_selector_all("h1", visible_h1) == ["Liaison Hub"], tab
    wall = await bruno.context.new_page()
    await wall.goto(hub.url.replace("127.0.0.1", "localhost")
                    + f"/board.html?op={hub.ops['A'].id}")
    await wall.wait_for_selector("#conn.live", timeout=10_000)
    assert await wall.eval_on_selector_all("h1", visible_h1) == ["Situation board"]


async def test_times_follow_the_locale_and_timelines_keep_seconds(
        browser: Any, page_hub: RunningHub) -> None:
    """Defect 7: times were US 12-hour in every locale, the board clock stayed English
    in French, and the replay slider and timelines showed minutes only."""
    hub = page_hub
    at = "Date.UTC(2026, 0, 15, 14, 5, 9) / 1000"
    show = f"""async () => {{
        const d = await import('/dom.js');
        return [d.fmtTime({at}), d.fmtTime({at}, {{ seconds: true }}),
                d.clock(new Date({at} * 1000))];
    }}"""
    seen = {}
    for browser_locale, lang in (("en-US", "en"), ("en-GB", "en"), ("en-US", "fr")):
        page = await login(browser, hub, "bruno", locale=browser_locale, timezone_id="UTC")
        if lang == "fr":
            await page.select_option("#lang", "fr")
            await page.wait_for_selector("html[lang=fr]")
        seen[(browser_locale, lang)] = await page.evaluate(show)
    us, gb, fr = seen[("en-US", "en")], seen[("en-GB", "en")], seen[("en-US", "fr")]
    assert all("PM" in x for x in us), us  # the user's own English keeps its clock
    assert not any("PM" in x for x in gb + fr), (gb, fr)
    assert "14:05" in gb[0] and "14:05:09" in gb[1] and gb[2] == "14:05:09"
    assert "janv." in fr[0] and "14:05:09" in fr[1] and fr[2] == "14:05:09"
    assert ":09" in us[1] and ":09" not in us[0]


async def test_notices_and_timelines_read_in_each_readers_language(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 25, item 6: the hub's own texts were English only. The same notice, group
    notice and timeline, read in English and in French, with 24-hour times in French."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/policies", "alice", json={
        "id": "words", "steps": [{"notify": ["assignees", "channel:general"]}],
        "group_wait": "2s", "group_interval": "1s"})
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json={
        "id": "crit-words", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "escalation": "words"})
    first = (await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Dam breach", "severity": "critical", "assignees": ["bruno"]})).json()
    await hub.settle()
    notice = "#messages li[data-alert]"
    pages = {}
    for lang, locale in (("en", "en-US"), ("fr", "en-US")):
        page = await login(browser, hub, "bruno", locale=locale, timezone_id="UTC")
        if lang == "fr":
            await page.select_option("#lang", "fr")
            await page.wait_for_selector("html[lang=fr]")
        await page.click("#tab-chat")
        await page.wait_for_selector(notice, timeout=15_000)
        pages[lang] = page
    for i in range(3):  # a burst: one group notice
        await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
            "title": f"House {i} flooded", "severity": "critical", "assignees": ["bruno"]})
    group = "#messages li:has(button.group-open)"
    texts = {}
    for lang, page in pages.items():
        await page.wait_for_selector(group, timeout=15_000)
        texts[lang] = (await page.text_content(f"{notice} .text") or "",
                       await page.text_content(f"{group} .text") or "")
    en, fr = texts["en"], texts["fr"]
    assert en[0].startswith("CRITICAL alert: Dam breach is critical @bruno")
    assert en[0].endswith("Acknowledge it with its button, here or in the Alerts tab.")
    assert fr[0].startswith("Alerte CRITIQUE : Dam breach is critical @bruno")
    assert fr[0].endswith("Acquittez-la avec son bouton, ici ou dans l'onglet Alertes.")
    assert en[1].startswith("CRITICAL: 3 alerts (3 new): House")
    assert fr[1].startswith("CRITIQUE : 3 alertes (3 nouvelles) : House")
    assert fr[1].endswith("Acquittez chacune dans l'onglet Alertes.")
    # The case's timeline: its lines in each language, times to the second, 24-hour in French.
    lines = {}
    for lang, page in pages.items():
        await page.click("#tab-cases")
        await page.click(f"#case-list li[data-case='{first['id']}'] button.linkish")
        await page.wait_for_selector("#timeline li", timeout=10_000)
        lines[lang] = await page.eval_on_selector_all(
            "#timeline li", "els => els.map((e) => e.textContent)")
    assert any("created" in x.lower() for x in lines["en"]), lines["en"]
    assert not any("created" in x.lower() for x in lines["fr"]), lines["fr"]
    assert all(re.search(r"\b\d{2}:\d{2}:\d{2}\b", x) for x in lines["fr"])
    assert not any(re.search(r"\b(AM|PM)\b", x) for x in lines["fr"])
    assert all(re.search(r"\b(AM|PM)\b", x) for x in lines["en"])  # the reader's own clock
    # A summary the hub composes (an urgent message's alert), in each language.
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice", json={
        "text": "Evacuate the lower village", "priority": "urgent", "ack": "each_agency",
        "client_msg_id": "urgent-words"})
    assert r.status_code in (200, 201), r.text
    for lang, words in (("en", "Urgent message in #general from Alice (POLICE): Evacuate"),
                        ("fr", "Message urgent dans #general de Alice (POLICE) : Evacuate")):
        await pages[lang].click("#tab-alerts")
        await pages[lang].wait_for_selector(f"#alert-list li:has-text('{words}')",
                                            timeout=10_000)
