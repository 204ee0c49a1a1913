"""Wire compatibility (issue 27): the browser client of the release before envelopes,
served by today's hub, in a real Chromium: chat live and after a reload (replayed from
the hub), over the wire format that client speaks, and a critical case's alert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import liaison.app
from hub.config import Settings
from tests.previous import previous_tree
from tests.web.pages import login

CRITICAL = {"id": "critical-case", "when": 'severity == "critical"', "severity": "critical",
            "summary": "{title} is critical", "route": ["channel:general"]}


async def test_the_previous_browser_client_chats_replays_and_shows_alerts(
        browser: Any, start_hub: Callable[..., Any], hub_settings: Settings,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = previous_tree(tmp_path / "previous", "web") / "web"
    monkeypatch.setattr(liaison.app, "WEB_DIR", old)  # what the hub serves at /
    running = await start_hub(hub_settings)
    op = running.ops["A"].id
    assert (await running.api("POST", f"/api/operations/{op}/rules", "alice",
                              json=CRITICAL)).status_code == 201
    served = (await running.api("GET", "/chat.js")).text
    assert "renderMessage" in served and "replyLine" not in served  # the old client
    alice = await login(browser, running, "alice")
    bruno = await login(browser, running, "bruno")
    await alice.fill("#text", "Convoy leaves at 14:00")
    await alice.press("#text", "Enter")
    await bruno.wait_for_selector("#messages li[data-seq='1']", timeout=10_000)
    assert "Convoy leaves at 14:00" in (await bruno.text_content("#messages li[data-seq='1']")
                                        or "")
    await bruno.reload()
    await bruno.wait_for_selector("#messages li[data-seq='1']", timeout=10_000)
    assert "Convoy leaves at 14:00" in (await bruno.text_content("#messages li[data-seq='1']")
                                        or "")
    r = await running.api("POST", f"/api/operations/{op}/cases", "alice",
                          json={"title": "Dam breach at Kerns", "severity": "critical"})
    assert r.status_code == 201
    await bruno.click("#tab-alerts")
    await bruno.wait_for_selector("#alert-list li[data-state=firing]", timeout=10_000)
    assert "Dam breach at Kerns" in (await bruno.text_content("#alert-list") or "")
