"""The minimal chat page in a real headless Chromium."""

from __future__ import annotations

from typing import Any

from hub.errors import CloseCode
from tests.conftest import RunningHub
from tests.photos import exif_photo
from tests.web.pages import login, upload

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


async def test_a_message_s_photo_shows_as_its_thumbnail_and_nothing_bigger_is_fetched(
        browser: Any, running_hub: RunningHub) -> None:
    """A photo attached to a message (uploaded with tus, as a bot would): the reader's
    page shows its thumbnail, links its preview, and fetched no more than
    the thumbnail; a text file is a download named as sent."""
    hub = running_hub
    ch = hub.ch("A/general")
    photo = await _finished(hub, exif_photo(1600, 1200), ch, "levee.jpg")
    notes = await _finished(hub, b"sandbags: 400\n", ch, "stock.txt")
    posted = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "Levee at km 12", "client_msg_id": "ph1", "attach": [photo, notes]})
    assert posted.status_code == 201, posted.text
    bruno = await login(browser, hub, "bruno")
    img = await bruno.wait_for_selector("#messages li[data-seq='1'] .files img",
                                        timeout=10_000)
    assert img is not None
    await bruno.wait_for_function(
        "() => { const i = document.querySelector('#messages .files img');"
        " return i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
    assert await img.get_attribute("alt") == "levee.jpg"
    links = await bruno.eval_on_selector_all(
        "#messages li[data-seq='1'] .files a", "as => as.map(a => [a.className,"
        " a.getAttribute('href'), a.getAttribute('download'), a.textContent])")
    base = f"/api/channels/{ch}/messages/1/files"
    assert links[0][1] == f"{base}/0?variant=preview"
    assert links[1][1] == f"{base}/1" and links[1][2] == "stock.txt" and \
        links[1][3] == "stock.txt"
    fetched = await bruno.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/files/'))")
    assert [u.split("/files/")[1] for u in fetched] == ["0?variant=thumbnail"]


async def _finished(hub: RunningHub, data: bytes, channel: str, name: str) -> str:
    upload_id, sent = await upload(hub, "alice", data, channel=channel, name=name)
    assert sent.status_code == 204, sent.text
    return upload_id
