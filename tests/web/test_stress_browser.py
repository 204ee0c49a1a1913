"""The person under stress (issue 25), in Chromium: one test per defect."""

from __future__ import annotations

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
    line = "#messages li[data-urgent] .acks .pending"
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
