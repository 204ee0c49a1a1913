"""The browser client in a real headless Chromium: chat across agencies, a hub restart
mid-send, alerts on the board in two browsers, safe rendering, the French catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.engine.port import RecordWrite
from hub.models import OperationId
from tests.conftest import PASSWORD, RunningHub
from tests.web.pages import bot_token, login

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
CRITICAL = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical", "route": ["channel:alerts", "coordinators"]}


async def send(page: Any, text: str, priority: str = "normal") -> None:
    await page.select_option("#priority", priority)
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def texts(page: Any) -> list[str]:
    return await page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#messages li[data-seq] .text", "els => els.map(e => e.textContent)")


async def test_two_agencies_chat_and_an_outsider_sees_nothing(browser: Any,
                                                              running_hub: RunningHub) -> None:
    r = await running_hub.api("POST", f"/api/operations/{running_hub.ops['A'].id}/channels",
                              "alice", json={"name": "logistics"})
    logistics = r.json()["id"]
    alice = await login(browser, running_hub, "alice")
    bruno = await login(browser, running_hub, "bruno")
    # Elsewhere than the open channel: an unread count and a mention badge.
    for text in ("Fuel truck at 16:00", "@bruno can the army escort it?"):
        r = await running_hub.api("POST", f"/api/channels/{logistics}/messages", "alice",
                                  json={"text": text, "client_msg_id": text[:10]})
        assert r.status_code == 201
    badge = f"#channels button[data-channel='{logistics}']"
    await bruno.wait_for_selector(f"{badge} .badge.unread:has-text('2')", timeout=5000)
    await bruno.wait_for_selector(f"{badge} .badge.mention:has-text('@1')")
    await bruno.click(badge)
    await bruno.wait_for_selector(f"{badge} .badge", state="detached")
    await bruno.click("#channels button:has-text('general')")
    xavier = await login(browser, running_hub, "xavier")
    await send(alice, "Roadblock at the north bridge, @ARMY please confirm")
    await bruno.wait_for_selector("#messages li.mention", timeout=5000)
    await send(bruno, "Confirmed, two vehicles on site", "urgent-each")
    await alice.wait_for_selector("#messages li.urgent button.ack-msg", timeout=5000)
    # Every agency that can read it must acknowledge; ARMY sent it, so POLICE is asked
    # (the alert's own set, the same the Alerts panel shows).
    pending = "#messages li.urgent .acks .to-ack"
    await alice.wait_for_selector(pending, timeout=10_000)
    assert (await alice.text_content(pending) or "").endswith(": POLICE")
    await alice.click("#messages li.urgent button.ack-msg")
    await bruno.wait_for_selector("#messages li.urgent .acks:has-text('Alice')", timeout=5000)
    await bruno.wait_for_selector(pending, state="detached", timeout=10_000)
    assert await texts(alice) == await texts(bruno) == [
        "Roadblock at the north bridge, @ARMY please confirm",
        "Confirmed, two vehicles on site"]
    # xavier is in operation B only: no OP-A anywhere, nothing of its messages.
    options = await xavier.eval_on_selector_all("#operations option", "os => os.map(o => o.text)")
    assert options == ["OP-B — Bravo"]
    assert "Roadblock" not in await xavier.inner_text("body")
    r = await running_hub.api("GET", f"/api/channels/{running_hub.ch('A/general')}/messages",
                              "xavier")
    assert r.status_code == 404


async def test_a_message_sent_while_the_hub_restarts_arrives_exactly_once(
        browser: Any, start_hub: Any, tmp_path: Path) -> None:
    from hub.config import Settings

    settings = Settings(data_dir=tmp_path / "data", publish_rate=10_000.0,
                        publish_burst=10_000, revocation_poll_seconds=0.2)
    hub: RunningHub = await start_hub(settings)
    port = int(hub.url.rsplit(":", 1)[1])
    bruno = await login(browser, hub, "bruno")
    await send(bruno, "before the restart")
    await bruno.wait_for_selector("#messages li[data-seq='1']")
    await hub.stop()
    await bruno.wait_for_selector("#conn.reconnecting", timeout=10_000)
    await bruno.fill("#text", "typed while the hub was down")
    await bruno.press("#text", "Enter")
    await bruno.wait_for_selector("#messages li.pending:has-text('typed while')")
    again: RunningHub = await start_hub(settings, seeded=False, port=port)
    again.ops, again.channels = hub.ops, hub.channels
    r = await again.api("POST", f"/api/channels/{hub.ch('A/general')}/messages", "alice",
                        json={"text": "posted by alice meanwhile", "client_msg_id": "a1"})
    assert r.status_code == 201
    await bruno.wait_for_selector("#conn.live", timeout=20_000)
    await bruno.wait_for_selector("#messages li[data-seq='3']", timeout=10_000)
    await bruno.wait_for_selector("#messages li.pending", state="detached", timeout=10_000)
    stored = (await again.api("GET", f"/api/channels/{hub.ch('A/general')}/messages",
                              "alice")).json()["messages"]
    assert sorted(m["text"] for m in stored) == sorted(
        ["before the restart", "typed while the hub was down", "posted by alice meanwhile"])
    seqs = await bruno.eval_on_selector_all("#messages li[data-seq]",
                                            "els => els.map(e => Number(e.dataset.seq))")
    assert seqs == [1, 2, 3]  # nothing missing, nothing twice
    assert await bruno.evaluate("localStorage.getItem('liaison.outbox.bruno')") == "[]"


async def test_a_bot_critical_case_alerts_both_browsers_and_the_ack_shows_live(
        browser: Any, running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    assert (await hub.api("POST", f"/api/operations/{op}/channels", "alice",
                          json={"name": "alerts"})).status_code == 201
    assert (await hub.api("POST", f"/api/operations/{op}/rules", "alice",
                          json=CRITICAL)).status_code == 201
    token = await bot_token(hub)
    alice = await login(browser, hub, "alice")
    bruno = await login(browser, hub, "bruno")
    for page in (alice, bruno):
        await page.click("#tab-board")
    assert hub.http is not None
    r = await hub.http.post(f"/api/operations/{op}/cases",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"title": "Dam breach at Kerns", "severity": "critical",
                                  "assignees": ["bruno"], "location": {"place": "Kerns dam"},
                                  "fields": {"casualties": 3}})
    assert r.status_code == 201, r.text
    for page in (alice, bruno):
        await page.wait_for_selector("#board li.alert-row[data-state=firing]", timeout=2000)
        await page.wait_for_selector("#critical:not([hidden])")  # stays until acknowledged
    await bruno.click("#tab-alerts")
    await bruno.click("#alert-list li[data-state=firing] button.ack")
    await alice.wait_for_selector("#board li.alert-row[data-state=acknowledged]", timeout=2000)
    assert "bruno" in (await alice.text_content("#board li.alert-row") or "")
    await alice.wait_for_selector("#critical", state="hidden")
    # The case detail shows the alert on its timeline.
    await alice.click("#tab-cases")
    await alice.click("#case-list li button.linkish")
    await alice.wait_for_selector("#timeline li.alert")


async def test_editing_a_case_someone_else_changed_is_not_lost(browser: Any,
                                                               running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    r = await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                      json={"title": "Missing hiker", "severity": "minor"})
    case = r.json()
    bruno = await login(browser, hub, "bruno")
    await bruno.click("#tab-cases")
    await bruno.click(f"#case-list li[data-case='{case['id']}'] button.linkish")
    await bruno.click("#case-actions button:has-text('Edit')")
    await bruno.fill("#case-form input[name=place]", "Col de la Croix")
    r = await hub.api("PATCH", f"/api/operations/{op}/cases/{case['id']}", "alice",
                      json={"version": case["version"], "severity": "major"})
    assert r.status_code == 200
    await bruno.click("#case-form button[type=submit]")
    await bruno.wait_for_selector("#case-form-msg:has-text('changed this case')")
    assert await bruno.input_value("#case-form input[name=place]") == "Col de la Croix"
    await bruno.click("#case-form button[type=submit]")  # saved knowingly, on top of theirs
    await bruno.wait_for_selector("#case-form", state="hidden")
    final = (await hub.api("GET", f"/api/operations/{op}/cases/{case['id']}", "alice")).json()
    assert final["severity"] == "major" and final["location"]["place"] == "Col de la Croix"


async def test_html_and_script_render_as_text_everywhere(browser: Any,
                                                         running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": XSS, "severity": "major", "description": XSS})
    await hub.api("POST", f"/api/operations/{op}/alerts", "alice",
                  json={"summary": XSS, "severity": "critical"})
    bruno = await login(browser, hub, "bruno")
    await send(bruno, XSS + " see https://example.org/a?b=1 and javascript:alert(1)")
    await bruno.wait_for_selector("#messages li[data-seq]")
    for tab in ("cases", "alerts", "board"):
        await bruno.click(f"#tab-{tab}")
    await bruno.click("#tab-cases")
    await bruno.click("#case-list li button.linkish")
    await bruno.wait_for_selector("#case-description")
    assert await bruno.evaluate("window.__pwned") is None
    assert await bruno.locator("img, script:not([src])").count() == 0
    links = await bruno.eval_on_selector_all("#messages a", "as => as.map(a => a.href)")
    assert links == ["https://example.org/a?b=1"]  # http(s) only
    assert XSS in (await bruno.text_content("#case-title") or "")


async def test_the_french_catalogue_switches_every_visible_string(
        browser: Any, running_hub: RunningHub) -> None:
    hub = running_hub
    await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "alice",
                  json={"title": "Flooded cellar", "severity": "critical"})
    page = await login(browser, hub, "alice")
    await page.select_option("#lang", "fr")
    await page.wait_for_selector("html[lang=fr]")
    catalogues = await page.evaluate(
        "import('/i18n.js').then(m => m.CATALOGUES)")
    en, fr = catalogues["en"], catalogues["fr"]
    assert set(en) == set(fr)  # every key in both languages
    spanish = await page.evaluate("import('/i18n-es.js').then(m => m.default)")
    assert set(spanish) == set(en) and all(spanish[k] for k in en)
    english_only = {v for k, v in en.items() if " " in v and v != fr[k] and "{" not in v}
    for tab in ("mine", "chat", "cases", "alerts", "board"):
        await page.click(f"#tab-{tab}")
        if tab == "cases":
            await page.click("#new-case")
        shown = await page.inner_text("body")
        left = sorted(v for v in english_only if v in shown)
        assert left == [], f"English left on the {tab} screen: {left}"
        keyed = await page.eval_on_selector_all(
            "[data-i18n]", "els => els.map(e => [e.dataset.i18n, e.textContent])")
        assert all(text == fr[key] for key, text in keyed), keyed
    # A new language reconnects once (its translations come to that connection): live again.
    await page.wait_for_function("t => document.getElementById('conn').textContent === t",
                                 arg=fr["conn.live"])


async def test_air_gapped_keyboard_usable_and_readable_at_200_percent(
        browser: Any, running_hub: RunningHub) -> None:
    # 200% zoom of a 1280-pixel window is a 640-pixel layout.
    context = await browser.new_context(viewport={"width": 640, "height": 720})
    page = await context.new_page()
    origins: set[str] = set()
    page.on("request", lambda req: origins.add(req.url.split("/", 3)[2]))
    base = running_hub.url.replace("127.0.0.1", "localhost")
    await page.goto(base + "/")
    await page.fill("#login input[name=username]", "alice")
    await page.fill("#login input[name=password]", PASSWORD)
    await page.press("#login input[name=password]", "Enter")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    for tab in ("mine", "chat", "cases", "alerts", "board"):
        await page.click(f"#tab-{tab}")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the {tab} screen scrolls sideways at 200%"
    assert origins == {base.split("/", 3)[2]}  # nothing from anywhere else: no CDN, no fonts
    # Keyboard: the tabs follow the arrow keys (the last wraps to the first; a
    # coordinator's last is Integrations), and focus is visible.
    await page.focus("#tab-board")
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate("document.activeElement.id") == "tab-integrations"
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate("document.activeElement.id") == "tab-mine"
    assert not await page.is_hidden("#panel-mine")
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate("document.activeElement.id") == "tab-chat"
    assert not await page.is_hidden("#panel-chat")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


async def test_coordinators_see_rules_that_are_not_working(browser: Any,
                                                           running_hub: RunningHub) -> None:
    """A rule stored under older, looser checks is not evaluated: the coordinator is told
    in the Alerts panel (and the member is not bothered with it)."""
    hub = running_hub
    op = hub.ops["A"].id
    old = {"id": "old-stale", "name": "Stale critical (old format)", "when": "true",
           "for": 300, "summary": "{casualties} casualties"}
    await hub.hub.engine.store.write_record(RecordWrite(
        OperationId(op), "rule", "old-stale", old, None, "created", "alice", 1.0, {}))
    alice = await login(browser, hub, "alice")
    bruno = await login(browser, hub, "bruno")
    for page in (alice, bruno):
        await page.click("#tab-alerts")
    row = alice.locator("#rule-health-list li[data-rule=old-stale]")
    await row.wait_for(timeout=5000)
    text = await row.text_content() or ""
    assert "Stale critical (old format)" in text and "not evaluated" in text
    assert "for: 300 is not a duration" in text
    assert await bruno.is_hidden("#rule-health")
