"""The minimal chat page in a real headless Chromium."""

from __future__ import annotations

from typing import Any

from hub.errors import CloseCode
from tests.conftest import RunningHub
from tests.web.pages import login

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


async def test_two_agencies_chat_in_the_browser(browser: Any, running_hub: RunningHub) -> None:
    alice = await login(browser, running_hub, "alice")
    bruno = await login(browser, running_hub, "bruno")
    assert await alice.text_content("#classification") == "UNCLASSIFIED"
    # The banner and the channel's marking wear the label policy's colour for the level.
    colour = "getComputedStyle(document.getElementById('{}')).backgroundColor"
    assert await alice.evaluate(colour.format("classification")) == "rgb(31, 111, 58)"
    assert await alice.text_content("#channel-marking") == "UNCLASSIFIED"
    assert await alice.evaluate(colour.format("channel-marking")) == "rgb(31, 111, 58)"

    await alice.fill("#text", "Convoy leaves at 14:00")
    await alice.press("#text", "Enter")
    await bruno.wait_for_selector("#messages li[data-seq='1']")
    assert "Convoy leaves at 14:00" in (await bruno.text_content("#messages li[data-seq='1']"))

    # Hostile text shows as text and runs nothing.
    await bruno.fill("#text", XSS)
    await bruno.press("#text", "Enter")
    await alice.wait_for_selector("#messages li[data-seq='2']")
    shown = await alice.text_content("#messages li[data-seq='2'] .text")
    assert shown == XSS
    assert await alice.evaluate("window.__pwned") is None
    assert await alice.locator("#messages img").count() == 0


async def test_page_recovers_after_the_hub_drops_it(browser: Any,
                                                    running_hub: RunningHub) -> None:
    ch = running_hub.ch("A/general")
    bruno = await login(browser, running_hub, "bruno")
    await bruno.wait_for_selector("#conn.live", timeout=10_000)  # its socket is open
    # Every state the page shows, recorded as it changes: the reconnect may take only
    # a few milliseconds (its first delay is random), too short to catch by polling.
    await bruno.evaluate("""() => {
        const conn = document.querySelector('#conn');
        window.__states = [];
        new MutationObserver(() => window.__states.push(conn.dataset.state))
            .observe(conn, {attributes: true, attributeFilter: ['data-state']});
    }""")
    for conn in list(running_hub.hub.node.connections):
        conn.close(CloseCode.GOING_AWAY, "test restart")
    for i in range(5):  # published while bruno's page is away
        r = await running_hub.api("POST", f"/api/channels/{ch}/messages", "alice",
                                  json={"text": f"missed {i}", "client_msg_id": f"m{i}"})
        assert r.status_code == 201
    await bruno.wait_for_selector("#messages li[data-seq='5']", timeout=10_000)
    await bruno.wait_for_selector("#conn.live", timeout=10_000)
    assert "reconnecting" in await bruno.evaluate("window.__states")  # it did drop
    seqs = await bruno.eval_on_selector_all("#messages li[data-seq]",
                                            "els => els.map(e => Number(e.dataset.seq))")
    assert seqs == [1, 2, 3, 4, 5]


async def test_a_reply_names_what_it_answers_for_everyone(browser: Any,
                                                          running_hub: RunningHub) -> None:
    """reply_to end to end in the web client: Reply on a message, send, and both pages
    show which message the new one answers; the hub stored it as a reply."""
    ch = running_hub.ch("A/general")
    alice = await login(browser, running_hub, "alice")
    bruno = await login(browser, running_hub, "bruno")
    await alice.fill("#text", "Is bridge 4 open?")
    await alice.press("#text", "Enter")
    await bruno.wait_for_selector("#messages li[data-seq='1'] button.reply", timeout=10_000)
    await bruno.click("#messages li[data-seq='1'] button.reply")
    assert "#1" in (await bruno.text_content("#replying") or "")
    await bruno.fill("#text", "No, closed since 06:00")
    await bruno.press("#text", "Enter")
    for page in (alice, bruno):
        line = await page.wait_for_selector("#messages li[data-seq='2'] .reply-to",
                                            timeout=10_000)
        assert line is not None
        shown = await line.text_content() or ""
        assert "#1" in shown and "Is bridge 4 open?" in shown, shown
    assert await bruno.locator("#replying").count() == 0  # the composer is plain again
    r = await running_hub.api("GET", f"/api/channels/{ch}/messages", "alice")
    assert [m.get("reply_to") for m in r.json()["messages"]] == [None, 1]
