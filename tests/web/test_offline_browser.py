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
from tests.web.pages import login

KEPT = """async () => {
    const names = await caches.keys();
    const out = {};
    for (const name of names) {
        const c = await caches.open(name);
        out[name] = (await c.keys()).map((r) => new URL(r.url).pathname);
    }
    return out;
}"""


async def until(page: Any, script: str, arg: Any = None, timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            value = await page.evaluate(script, arg)
            if value:
                return value
            await asyncio.sleep(0.1)


async def test_a_reload_without_network_shows_the_app_and_the_last_state(
        browser: Any, running_hub: RunningHub) -> None:
    hub = running_hub
    op = hub.ops["A"].id
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Shelter at the school is full",
                                "severity": "major"})).json()
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
        const data = kept['liaison-data-v1'] || [];
        return ['/api/me', '/api/operations', '/api/operations/{op}/channels'].every(
            (p) => data.includes(p)) && data.some((p) => p.endsWith('/messages'));
    }}""")
    shell = (await page.evaluate(KEPT))["liaison-shell-v1"]
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


async def test_logging_out_forgets_what_the_device_kept(browser: Any,
                                                        running_hub: RunningHub) -> None:
    hub = running_hub
    page = await login(browser, hub, "bruno")
    await until(page, "() => !!navigator.serviceWorker.controller")
    await until(page, """async () => {
        const m = await import('/offline-store.js');
        return !!(await m.loadBoard('bruno', document.querySelector('#operations').value));
    }""")
    await page.click("#logout")
    await page.wait_for_selector("#login:not([hidden])")
    assert (await page.evaluate(KEPT)).get("liaison-data-v1", []) == []  # no answer kept
    assert await page.evaluate("""async () => {
        const m = await import('/offline-store.js');
        return await m.loadBoard('bruno', document.querySelector('#operations').value);
    }""") is None
