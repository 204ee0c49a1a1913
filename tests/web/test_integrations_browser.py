"""The Integrations tab (issue 12) in a real Chromium: a coordinator makes an incoming
webhook whose URL, shown once, posts into the channel; subscribes an outgoing webhook
and reads its delivery log; members do not see the tab; axe finds nothing serious."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import STRICT, RunningHub, embedded_settings
from tests.functional.test_outgoing_functional import LOOPBACK, Receiver, receiver  # noqa: F401
from tests.web.pages import login
from tests.web.test_a11y_browser import AXE, HINT, scan


async def _until(page: Any, selector: str, text: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while text not in (await page.text_content(selector) or ""):
            await asyncio.sleep(0.05)


async def test_a_coordinator_wires_webhooks_in_and_out_from_the_client(
        browser: Any, start_hub: Any, tmp_path: Path, receiver: Receiver) -> None:  # noqa: F811
    if not AXE.exists():
        if STRICT:
            pytest.fail(HINT)
        pytest.skip(HINT)
    hub: RunningHub = await start_hub(
        embedded_settings(tmp_path).replace(webhook_allow_networks=LOOPBACK))
    bruno = await login(browser, hub, "bruno")
    assert await bruno.is_hidden("#tab-integrations")  # a member: no such tab

    page = await login(browser, hub, "alice", bypass_csp=True)
    await page.click("#tab-integrations")
    await page.wait_for_selector("#hook-list li")
    await page.fill("#hook-form input[name=name]", "River gauges")
    await page.select_option("#hook-channel", hub.ch("A/general"))
    await page.click("#hook-form button[type=submit]")
    await page.wait_for_selector("#hook-once:not([hidden]) input.once")
    url = await page.input_value("#hook-once input.once")
    assert "/hooks/" in url
    await _until(page, "#hook-list", "River gauges")
    async with httpx.AsyncClient() as http:
        r = await http.post(url.replace("localhost", "127.0.0.1"),
                            json={"text": "Gauge 7 at 4.2 m", "username": "gauge-7"})
    assert r.status_code == 200 and r.text == "ok"

    await page.fill("#out-form input[name=url]", receiver.url)
    await page.fill("#out-form input[name=name]", "pager")
    await page.uncheck("#out-events input[value='alert.fired']")
    await page.check("#out-events input[value='case.created']")
    await page.click("#out-form button[type=submit]")
    await page.wait_for_selector("#out-once:not([hidden]) input.once")
    assert (await page.input_value("#out-once input.once")).startswith("whsec_")
    await _until(page, "#out-list", "pager")
    assert await scan(page) == []  # the panel with both secrets shown

    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/cases", "alice",
                      json={"title": "Levee breach", "severity": "major"})
    assert r.status_code == 201
    await receiver.wait_for(1)
    async with asyncio.timeout(10):
        while True:
            await page.click("#out-list li[data-outgoing] button:has-text('Delivery log')")
            await page.wait_for_selector("#delivery-log:not([hidden])")
            if await page.locator("#delivery-table tr[data-state=delivered]").count():
                break
            await asyncio.sleep(0.2)
    row = await page.text_content("#delivery-table tr[data-state=delivered]")
    assert "case.created" in (row or "") and "200" in (row or "")

    await page.click("#tab-chat")
    await page.wait_for_selector("#messages li:has-text('Gauge 7 at 4.2 m')")
    assert "gauge-7 via River gauges" in (await page.text_content(
        "#messages li:has-text('Gauge 7 at 4.2 m')") or "")
