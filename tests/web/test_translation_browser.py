"""Two people, two languages, in real Chromium with a real Apertium APy behind the hub:
each reads the other in their own language, marked as machine translated, with the
original one tap away; the Spanish reader's whole screen is in Spanish."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apertium import Apy, apy
from tests.conftest import PASSWORD, RunningHub, embedded_settings
from tests.web.pages import login


@pytest.fixture
def engine() -> Iterator[Apy]:
    yield from apy()


@pytest.fixture
async def hub(start_hub: Any, tmp_path: Path, engine: Apy) -> RunningHub:
    running: RunningHub = await start_hub(embedded_settings(tmp_path).replace(
        translation_engine=f"apertium+{engine.url}", translation_retry_seconds=0.5))
    r = await running.api("PUT", f"/api/operations/{running.ops['A'].id}/language-policy",
                          "alice", json={"translate": True, "languages": ["en", "es"]})
    assert r.status_code == 200, r.text
    return running


async def spanish_reader(browser: Any, hub: RunningHub, user: str) -> Any:
    """``user``'s page, switched to Spanish and live."""
    page = await login(browser, hub, user, locale="es-ES")
    await page.select_option("#lang", "es")
    await page.wait_for_selector("html[lang=es]")
    await page.wait_for_function("() => document.getElementById('conn').textContent === "
                                 "'en directo'")
    return page


async def _say(page: Any, text: str) -> None:
    await page.click("#tab-chat")
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_english_and_spanish_readers_each_read_the_other_in_their_own_language(
        browser: Any, hub: RunningHub, engine: Apy) -> None:
    alice = await login(browser, hub, "alice", locale="en-GB")
    bruno = await spanish_reader(browser, hub, "bruno")

    await _say(alice, "The bridge is closed")
    row = "#messages li:has-text('puente')"
    await bruno.wait_for_selector(row, timeout=30_000)
    assert "traducción automática del inglés" in (await bruno.text_content(row) or "")
    await bruno.click(f"{row} .mt button")  # the original, one tap away
    await bruno.wait_for_selector("#messages li:has-text('The bridge is closed')")
    assert await bruno.text_content("#messages li .mt button") == "ver la traducción"
    await bruno.click("#messages li .mt button")
    await bruno.wait_for_selector(row)

    await _say(bruno, "El puente está cerrado")
    answer = "#messages li:has-text('bridge'):has-text('machine translated from Spanish')"
    await alice.wait_for_selector(answer, timeout=30_000)
    assert await alice.query_selector("#messages li:has-text('El puente está cerrado')") is None
    await alice.click(f"{answer} .mt button")
    await alice.wait_for_selector("#messages li:has-text('El puente está cerrado')")

    # Read again later (history, not the live frame): the same, from what the hub kept.
    await bruno.reload()
    await bruno.wait_for_selector("#conn.live")
    await bruno.wait_for_selector(row, timeout=15_000)
    msgs = (await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages?lang=es",
                          "bruno")).json()["messages"]
    assert [m.get("lang") for m in msgs] == ["en", "es"]

    # The engine goes away: the message arrives at once in its original, the screen says
    # translation is unavailable, and the translation follows once the engine is back.
    engine.stop()
    try:
        await _say(alice, "The school is closed")
        waiting = "#messages li:has-text('The school is closed')"
        await bruno.wait_for_selector(waiting, timeout=15_000)
        await bruno.wait_for_selector(
            f"{waiting} .mt:has-text('traducción no disponible')", timeout=30_000)
    finally:
        engine.start()
    await bruno.wait_for_selector("#messages li:has-text('escuela')", timeout=30_000)


async def test_an_agreed_term_with_no_form_in_the_reader_s_language_is_flagged(
        browser: Any, hub: RunningHub) -> None:
    r = await hub.api("PUT", f"/api/operations/{hub.ops['A'].id}/glossary", "alice", json={
        "terms": [{"forms": {"en": "ford", "fr": "gué"}}]})
    assert r.status_code == 200, r.text
    bruno = await spanish_reader(browser, hub, "bruno")
    await bruno.click("#tab-chat")
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": "Cross the river at the ford", "client_msg_id": "f1",
                            "lang": "en"})
    assert r.status_code == 201, r.text
    row = "#messages li:has-text('río')"
    await bruno.wait_for_selector(row, timeout=30_000)
    line = await bruno.text_content(f"{row} .mt") or ""
    assert "sin traducción acordada de ford, se deja como está" in line, line


async def test_a_new_device_reads_in_the_person_s_chosen_language(
        browser: Any, hub: RunningHub) -> None:
    first = await login(browser, hub, "bruno", locale="en-GB")
    await first.select_option("#lang", "es")  # chosen once, on one device
    await first.wait_for_selector("html[lang=es]")
    async with asyncio.timeout(15):  # the page tells the hub in the background
        while (await hub.api("GET", "/api/me", "bruno")).json()["user"]["lang"] != "es":
            await asyncio.sleep(0.1)
    other = await (await browser.new_context(locale="en-GB")).new_page()
    await other.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await other.fill("#login input[name=username]", "bruno")
    await other.fill("#login input[name=password]", PASSWORD)
    await other.click("#login button[type=submit]")
    await other.wait_for_selector("html[lang=es]", timeout=15_000)
    await other.wait_for_function("() => document.getElementById('conn').textContent === "
                                  "'en directo'")


async def test_a_case_opens_in_the_reader_s_language_with_its_original_a_tap_away(
        browser: Any, hub: RunningHub) -> None:
    op = hub.ops["A"].id
    made = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "The bridge is closed", "description": "The school is open",
        "severity": "major"})
    assert made.status_code == 201, made.text
    await hub.services.case_translations.settled()
    r = await hub.api("GET", f"/api/operations/{op}/cases/{made.json()['id']}?lang=es", "bruno")
    assert r.json()["translation"]["title"] == "El puente está cerrado"
    bruno = await login(browser, hub, "bruno", locale="es-ES")
    await bruno.select_option("#lang", "es")
    await bruno.wait_for_selector("html[lang=es]")
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{made.json()['id']}'] button.linkish")
    await bruno.wait_for_selector("#case-title:has-text('El puente está cerrado')")
    # The title may come first from the board; the description with the case itself.
    await bruno.wait_for_selector("#case-description:has-text('La escuela es abierta')")
    await bruno.click("#case-description .mt button")
    await bruno.wait_for_selector("#case-title:has-text('The bridge is closed')")
    assert await bruno.text_content("#case-description .mt button") == "ver la traducción"

    # The list and the board show the title in Spanish too, marked, the original in its
    # tooltip; a case reported while the page is open turns Spanish live.
    row = f"#case-list li[data-case='{made.json()['id']}'] strong.mt-t"
    await bruno.click("#case-back")
    later = await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "The school is closed", "severity": "critical", "lang": "en"})
    assert later.status_code == 201, later.text
    await bruno.click("#tab-board")
    live = f".case-row[data-case='{later.json()['id']}'] strong.mt-t"
    await bruno.wait_for_selector(f"{live}:has-text('La escuela está cerrada')",
                                  timeout=30_000)
    tip = await bruno.get_attribute(live, "title")
    assert tip == "traducción automática del inglés: The school is closed", tip
    await bruno.click("#tab-cases")
    await bruno.wait_for_selector(f"{row}:has-text('El puente está cerrado')")


async def test_a_bot_s_alert_reads_in_the_reader_s_language_on_the_board_and_the_stack(
        browser: Any, hub: RunningHub) -> None:
    op = hub.ops["A"].id
    bruno = await spanish_reader(browser, hub, "bruno")
    # Pushed while the page is open: it shows at once as written, then in Spanish, live.
    r = await hub.api("POST", f"/api/operations/{op}/alerts", "alice", json={
        "summary": "The school is closed", "severity": "critical", "lang": "en"})
    assert r.status_code == 201, r.text
    alert_id = r.json()["id"]
    stack = f"#critical [data-alert='{alert_id}'] .stack-summary.mt-t"
    await bruno.wait_for_selector(f"{stack}:has-text('La escuela está cerrada')",
                                  timeout=30_000)
    tip = await bruno.get_attribute(stack, "title")
    assert tip == "traducción automática del inglés: The school is closed", tip
    await bruno.click("#tab-board")
    row = f".alert-row[data-alert='{alert_id}'] strong.summary.mt-t"
    await bruno.wait_for_selector(f"{row}:has-text('La escuela está cerrada')")
    await bruno.click("#tab-alerts")
    listed = f"#alert-list li[data-alert='{alert_id}'] strong.mt-t"
    await bruno.wait_for_selector(f"{listed}:has-text('La escuela está cerrada')")
    # Its English reader reads it as written, unmarked.
    alice = await login(browser, hub, "alice", locale="en-GB")
    plain = f"#critical [data-alert='{alert_id}'] .stack-summary"
    await alice.wait_for_selector(f"{plain}:has-text('The school is closed')", timeout=30_000)
    assert "mt-t" not in (await alice.get_attribute(plain, "class") or "")


async def test_a_translator_corrects_a_message_in_place_and_every_reader_reads_it(
        browser: Any, hub: RunningHub) -> None:
    op = hub.ops["A"].id
    r = await hub.api("PUT", f"/api/operations/{op}/language-policy", "alice", json={
        "translate": True, "languages": ["en", "es"], "translators": ["bruno"]})
    assert r.status_code == 200, r.text
    pages = {}
    for user in ("bruno", "olga"):  # a translator and a reader who is not one
        pages[user] = await spanish_reader(browser, hub, user)
        await pages[user].click("#tab-chat")
    r = await hub.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                      json={"text": "Evacuate the north bank now", "client_msg_id": "b1",
                            "lang": "en"})
    assert r.status_code == 201, r.text
    row = f"#messages li[data-seq='{r.json()['seq']}']"
    bruno, olga = pages["bruno"], pages["olga"]
    await olga.wait_for_selector(f"{row}:has-text('banco')", timeout=30_000)
    assert await olga.query_selector(f"{row} .mt-fix") is None  # not a translator
    await bruno.wait_for_selector(f"{row}:has-text('banco')", timeout=30_000)
    await bruno.click(f"{row} .mt-fix")
    await bruno.fill(f"{row} .mt-editor textarea", "Evacuen ya la orilla norte")
    await bruno.click(f"{row} .mt-editor button.primary")
    for page in (bruno, olga):  # the correction, live, marked reviewed
        await page.wait_for_selector(f"{row}:has-text('Evacuen ya la orilla norte')",
                                     timeout=30_000)
        assert "revisado por bruno" in (await page.text_content(f"{row} .mt") or "")
    assert await bruno.query_selector(f"{row} .mt-editor") is None
