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
