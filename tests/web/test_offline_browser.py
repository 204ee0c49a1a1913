"""Offline first (issue 11, item 2): the client opens with no network, reload included.

The service worker keeps the app shell and the last answers of a few reads; the
page keeps the last board in IndexedDB. Offline here means the browser context
is offline *and* the hub is gone, so nothing can come from the network whatever
path a request takes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import RunningHub
from tests.web.pages import drop_network, login

KEPT = """async () => {
    const names = await caches.keys();
    const out = {};
    for (const name of names) {
        const c = await caches.open(name);
        out[name] = (await c.keys()).map((r) => new URL(r.url).pathname);
    }
    return out;
}"""


#: What localStorage holds of a session (preferences, which stay, left out).
LOCAL = """() => Object.keys(localStorage).filter((k) => k.startsWith('liaison.')
    && !['liaison.lang', 'liaison.theme', 'liaison.sound'].includes(k)).sort()"""


async def until(page: Any, script: str, arg: Any = None, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await page.evaluate(script, arg)
            if value:
                return value
            await asyncio.sleep(0.1)


async def test_a_reload_without_network_shows_the_app_and_the_last_state(
        browser: Any, page_hub: RunningHub) -> None:
    hub = page_hub
    op = hub.ops["A"].id
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Shelter at the school is full",
                                "severity": "major",
                                "location": {"lat": 46.9, "lon": 8.25}})).json()
    alice = await hub.client("alice")
    await alice.publish(hub.ch("A/general"), "Bus 7 takes the overflow to the gym.")
    page = await login(browser, hub, "bruno")
    await page.wait_for_selector("#messages li:has-text('Bus 7 takes the overflow')")
    await until(page, "() => !!navigator.serviceWorker.controller")
    kept = await until(page, """async (op) => {
        const m = await import('/offline-store.js');
        const b = await m.loadBoard('bruno', op);
        return b && b.frame.cases.length ? b : null;
    }""", op)
    assert kept["frame"]["cases"][0]["id"] == case["id"]
    await until(page, f"""async () => {{
        const kept = await ({KEPT})();
        const data = Object.entries(kept).filter(([k]) => k.startsWith('liaison-data-'))
            .flatMap(([, v]) => v);
        return ['/api/me', '/api/operations', '/api/operations/{op}/channels'].every(
            (p) => data.includes(p)) && data.some((p) => p.endsWith('/messages'));
    }}""")
    await page.click("#tab-board")  # the map, fetched once, is kept for offline too
    await page.wait_for_selector(f"#map-host .marker[data-case='{case['id']}']")
    await until(page, f"""async () => {{
        const kept = Object.values(await ({KEPT})()).flat();
        return ['/map.js', '/map-geo.js', '/basemap/countries-110m.json', '/api/map'].every(
            (p) => kept.includes(p));
    }}""")
    await page.click("#tab-chat")
    kept_now = await page.evaluate(KEPT)
    [shell] = [v for k, v in kept_now.items() if k.startswith("liaison-shell-")]
    assert {"/", "/app.js", "/protocol.js", "/style.css"} <= set(shell)

    await page.context.set_offline(True)
    await hub.stop()
    await page.reload()
    await page.wait_for_selector("#app:not([hidden])", timeout=10_000)
    assert await page.is_hidden("#login")
    assert await page.get_attribute("#conn", "data-state") != "live"
    await page.wait_for_selector("#synced:not([hidden])")
    assert "last synced" in (await page.text_content("#synced") or "")
    await page.wait_for_selector("#messages li:has-text('Bus 7 takes the overflow')")
    await page.click("#tab-cases")
    await page.wait_for_selector(f"#case-list li[data-case='{case['id']}']")
    await page.click("#tab-alerts")  # every tab opens
    await page.click("#tab-board")
    await page.wait_for_selector("#board[data-version]")
    await page.wait_for_selector(f"#map-host .marker[data-case='{case['id']}']")
    assert await page.locator("#map-host .land path").count() > 100


async def test_logging_out_forgets_what_the_device_kept(browser: Any,
                                                        page_hub: RunningHub) -> None:
    hub = page_hub
    page = await login(browser, hub, "bruno")
    await until(page, "() => !!navigator.serviceWorker.controller")
    await until(page, """async () => {
        const m = await import('/offline-store.js');
        return !!(await m.loadBoard('bruno', document.querySelector('#operations').value));
    }""")
    await page.fill("#text", "a draft that must not outlive the session")
    assert await page.evaluate(LOCAL)
    await page.click("#logout")
    await page.wait_for_selector("#login:not([hidden])")
    assert not [k for k in await page.evaluate(KEPT) if k.startswith("liaison-data-")]
    assert await page.evaluate(LOCAL) == []  # drafts, the chat outbox, read marks
    assert await page.evaluate("""async () => {
        const m = await import('/offline-store.js');
        return await m.loadBoard('bruno', document.querySelector('#operations').value);
    }""") is None


RULE = {"id": "crit", "when": 'severity == "critical"', "severity": "critical",
        "summary": "{title} is critical", "route": ["assignees"]}


async def test_writes_made_offline_are_sent_once_in_order_after_a_browser_restart(
        browser: Any, page_hub: RunningHub) -> None:
    """An alert acknowledgement, a case report and a message made with no network are
    kept on the device, survive a restart of the browser context (IndexedDB and
    localStorage carried over), and each arrives exactly once when the network is back."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/rules", "alice", json=RULE)
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Dam breach", "severity": "critical", "assignees": ["bruno"]})
    page = await login(browser, hub, "bruno")
    await page.click("#tab-alerts")
    row = "#alert-list li[data-state=firing]"
    await page.wait_for_selector(row, timeout=10_000)

    context = page.context
    await drop_network(page, hub, "bruno")
    await page.click(f"{row} button.ack")
    await page.wait_for_selector("#alert-msg:has-text('Kept on this device')")
    await page.click("#tab-cases")
    await page.click("#new-case")
    await page.fill("#case-form input[name=title]", "Road to Kerns cut by the water")
    await page.select_option("#case-form select[name=severity]", "major")
    await page.click("#case-form button[type=submit]")
    await page.wait_for_selector("#case-msg:has-text('Kept on this device')")
    await page.click("#tab-chat")
    await page.fill("#text", "Water over the road at km 12")
    await page.press("#text", "Enter")
    await page.wait_for_selector("#outbox[data-count='2']")
    # Nothing reached the hub.
    alerts = (await hub.api("GET", f"/api/operations/{op}/alerts", "alice")).json()["alerts"]
    assert [a["state"] for a in alerts] == ["firing"]

    storage = await context.storage_state(indexed_db=True)
    await context.close()  # the browser goes away with the writes on the device

    async with asyncio.timeout(30):
        context = await browser.new_context(storage_state=storage)
        page = await context.new_page()
        started = asyncio.get_running_loop().time()
        await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
        await page.wait_for_selector("#conn.live", timeout=10_000)
        await page.wait_for_selector("#outbox", state="hidden", timeout=10_000)
        while True:
            alerts = (await hub.api("GET", f"/api/operations/{op}/alerts",
                                    "alice")).json()["alerts"]
            cases = (await hub.api("GET", f"/api/operations/{op}/cases",
                                   "alice")).json()["cases"]
            msgs = (await hub.api("GET", f"/api/channels/{hub.ch('A/general')}/messages",
                                  "alice")).json()["messages"]
            if alerts[0]["state"] == "acknowledged" and len(cases) == 2 and msgs:
                break
            await asyncio.sleep(0.05)
        caught_up = asyncio.get_running_loop().time() - started
    assert caught_up < 5.0, caught_up
    assert alerts[0]["acked_by"] == "bruno"
    assert [c["title"] for c in cases].count("Road to Kerns cut by the water") == 1
    assert [m["text"] for m in msgs] == ["Water over the road at km 12"]
    # Queued in this order: the acknowledgement, then the report.
    events = (await hub.api("GET", f"/api/operations/{op}/events?after_seq=0",
                            "alice")).json()["events"]
    mine = [(e["kind"], e["action"]) for e in events if e["actor"] == "bruno"]
    assert mine == [("alert", "acknowledged"), ("case", "created")]


async def test_a_session_the_hub_ends_takes_what_the_device_kept_to_read(
        browser: Any, page_hub: RunningHub) -> None:
    """A lowered clearance ends the user's sessions: the page stops showing the board
    and the device forgets the boards and answers it kept, which may hold more than the
    next session may see (issue 14's need-to-know, on the device)."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Convoy route through the pass", "severity": "major"})
    page = await login(browser, hub, "bruno")
    await until(page, "() => !!navigator.serviceWorker.controller")
    await until(page, """async (op) => {
        const m = await import('/offline-store.js');
        const b = await m.loadBoard('bruno', op);
        return b && b.frame.cases.length ? b : null;
    }""", op)
    await until(page, f"async () => Object.keys(await ({KEPT})()).some("
                      "(k) => k.startsWith('liaison-data-'))")
    assert await page.is_visible("#app")

    await hub.clear(bruno="UNCLASSIFIED")  # the administrator lowers his clearance
    await page.wait_for_selector("#session-msg:not([hidden])", timeout=10_000)
    assert await page.is_hidden("#app")
    await until(page, """async (op) => {
        const m = await import('/offline-store.js');
        return (await m.loadBoard('bruno', op)) === undefined;
    }""", op)
    await until(page, f"async () => !Object.keys(await ({KEPT})()).some("
                      "(k) => k.startsWith('liaison-data-'))")





async def test_a_session_ended_while_the_page_was_closed_leaves_nothing_readable(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 24, finding 8: bruno's password is changed while his tab is closed. The app
    opened online meets a 401 and forgets everything the device kept (the worker's
    copies, boards, drafts, the chat outbox); opened offline afterwards, it shows the
    login, not his channels."""
    hub = page_hub
    op = hub.ops["A"].id
    await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                  json={"title": "Convoy route through the pass", "severity": "major"})
    page = await login(browser, hub, "bruno")
    await until(page, "() => !!navigator.serviceWorker.controller")
    await until(page, """async (op) => {
        const m = await import('/offline-store.js');
        const b = await m.loadBoard('bruno', op);
        return b && b.frame.cases.length ? b : null;
    }""", op)
    await page.reload()  # the worker, in control now, keeps this session's answers
    await page.wait_for_selector("#conn.live", timeout=10_000)
    names = await until(page, f"""async () => {{
        const kept = await ({KEPT})();
        const data = Object.keys(kept).filter((k) => k.startsWith('liaison-data-'));
        return data.length && kept[data[0]].includes('/api/me') ? data : null;
    }}""")
    session = (await hub.api("GET", "/api/me", "alice")).json()  # another session's id
    assert len(names) == 1 and session["session_id"] not in names[0]  # keyed by session
    await page.fill("#text", "draft: the informant's name is")
    await page.evaluate("""() => localStorage.setItem('liaison.outbox.bruno',
        JSON.stringify([{client_msg_id: 'c1', text: 'unsent'}]))""")
    local = await page.evaluate(LOCAL)
    assert any(k.startswith("liaison.draft.bruno.") for k in local), local
    context = page.context
    await page.close()

    bruno = await hub.hub.engine.store.get_user_by_name("bruno")
    assert bruno is not None
    await hub.hub.auth.set_password(bruno, "a new passphrase for bruno", actor="root")

    page = await context.new_page()
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    await until(page, f"""async () => !Object.keys(await ({KEPT})()).some(
        (k) => k.startsWith('liaison-data-'))""")
    assert await page.evaluate(LOCAL) == []
    assert await page.evaluate("""async (op) => {
        const m = await import('/offline-store.js');
        return (await m.loadBoard('bruno', op)) ?? null;
    }""", op) is None

    await context.set_offline(True)
    await hub.stop()
    await page.reload()
    await page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    assert await page.is_hidden("#app")
    assert "Bruno" not in (await page.text_content("#whoami") or "")
