"""The browser's view of the protocol's words is the hub's (alerting/vocabulary.py and
hub/vocabulary.py)."""

from __future__ import annotations

from typing import Any

from alerting import vocabulary
from hub import vocabulary as core
from hub.labels import marking_of
from tests.conftest import RunningHub


async def test_the_module_the_browser_loads_has_the_hubs_values(
        browser: Any, running_hub: RunningHub) -> None:
    page = await (await browser.new_context()).new_page()
    await page.goto(running_hub.url + "/")
    loaded = await page.evaluate("""async () => {
        const v = await import("/vocabulary.js");
        const m = await import("/board-model.js");
        return {...Object.fromEntries(Object.entries(v)), BOARD: m.BOARD_SEVERITIES};
    }""")
    for name in ("SEVERITIES", "CASE_STATUSES", "OPEN_CASE_STATUSES", "ALERT_STATES",
                 "CASE_CATEGORIES"):
        assert loaded[name] == list(getattr(vocabulary, name)), name
    for name in ("OPERATION_STATUSES", "CLOSE_RETRY", "CLOSE_TERMINAL"):
        assert loaded[name] == list(getattr(core, name)), name
    assert loaded["SEVERITY_RANK"] == vocabulary.SEVERITY_RANK
    assert loaded["BOARD"] == list(reversed(vocabulary.SEVERITIES))


async def test_the_browser_writes_a_records_marking_as_the_hub_does(
        browser: Any, running_hub: RunningHub) -> None:
    labels = [None, "SECRET", {"level": "RESTRICTED"},
              {"level": "SECRET", "categories": {"REL TO": ["POLICE", "ARMY", "POLICE"]}},
              {"level": "CONFIDENTIAL", "categories": {"REL TO": ["UN"], "CAVEAT": ["A"]}}]
    page = await (await browser.new_context()).new_page()
    await page.goto(running_hub.url + "/")
    shown = await page.evaluate("""async (labels) => {
        const m = await import("/board-model.js");
        return labels.map((l) => m.markingOf(l));
    }""", labels)
    assert shown == [marking_of(label) for label in labels]
    assert shown[3] == "SECRET REL TO ARMY, POLICE"
