"""Files sent from the browser (issue 28, items 3 and 7): smaller before they leave the
phone, kept on the device while offline, uploaded resumably, published once.

The sender's browser here is a Chromium of its own with a profile on disk, so that
"restart the browser" is a real one: the process ends and a new one opens the same
profile (its IndexedDB, service worker and cookies), as a phone's browser does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from channels.uploads import UploadDoc, Uploads
from tests.conftest import PASSWORD, RunningHub
from tests.photos import HOSTILE, bomb_png, exif_photo, field_photo, polyglot_jpeg
from tests.web.conftest import CHROMIUM_ARGS, chromium_path
from tests.web.pages import drop_network, login, upload

THUMBNAIL_SHOWN = """() => { const i = document.querySelector('#messages .files img');
    return !!i && i.complete && i.naturalWidth > 0; }"""


class Watched:
    """The hub's uploads as they are created and completed, with the time of each."""

    def __init__(self, uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
        self.created: list[UploadDoc] = []
        self.completed: list[tuple[float, UploadDoc]] = []
        create, complete = uploads.create, uploads._complete

        async def counted_create(*args: Any, **kwargs: Any) -> UploadDoc:
            doc = await create(*args, **kwargs)
            self.created.append(doc)
            return doc

        async def timed_complete(*args: Any, **kwargs: Any) -> UploadDoc:
            doc = await complete(*args, **kwargs)
            self.completed.append((asyncio.get_running_loop().time(), doc))
            return doc

        monkeypatch.setattr(uploads, "create", counted_create)
        monkeypatch.setattr(uploads, "_complete", timed_complete)


async def phone_browser(p: Any, profile: Path, **options: Any) -> Any:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found: install it with 'apt-get install chromium'")
    return await p.chromium.launch_persistent_context(
        str(profile), executable_path=path, headless=True, args=CHROMIUM_ARGS, **options)


async def test_a_photo_chosen_offline_is_sent_once_after_a_browser_restart(
        browser: Any, page_hub: RunningHub, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Chosen with no network, the browser closed and opened again, then the network
    back: one upload (of a copy no longer than 1600 px), one message, and its thumbnail
    on another agency's screen within 5 s of the upload completing."""
    from playwright.async_api import async_playwright

    hub = page_hub
    ch = hub.ch("A/general")
    watched = Watched(hub.services.uploads, monkeypatch)
    photo = tmp_path / "levee.jpg"
    photo.write_bytes(exif_photo(3200, 2400))
    alice = await login(browser, hub, "alice")
    profile = tmp_path / "profile"
    url = hub.url.replace("127.0.0.1", "localhost") + "/"
    async with async_playwright() as p:
        context = await phone_browser(p, profile)
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(url)
        await page.fill("#login input[name=username]", "bruno")
        await page.fill("#login input[name=password]", PASSWORD)
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("#conn.live", timeout=10_000)
        await page.wait_for_function("() => navigator.serviceWorker.controller !== null",
                                     timeout=10_000)
        await drop_network(page, hub, "bruno")
        await page.click("#tab-chat")
        await page.set_input_files("#file", str(photo))
        await page.fill("#text", "Levee breached at km 12")
        await page.press("#text", "Enter")
        await page.wait_for_selector("#messages li.pending:has-text('Levee breached')",
                                     timeout=10_000)
        await context.close()  # the browser ends with the photo on the device
        assert watched.created == []

        context = await phone_browser(p, profile, offline=True)
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(url)  # from the service worker: the network is still away
        await page.wait_for_selector("#messages li.pending:has-text('Levee breached')",
                                     state="attached", timeout=15_000)
        await context.set_offline(False)
        await alice.wait_for_function(THUMBNAIL_SHOWN, timeout=30_000)
        shown = asyncio.get_running_loop().time()
        await page.wait_for_selector("#messages li.pending", state="detached",
                                     timeout=10_000)
        await context.close()

    assert len(watched.created) == 1 and len(watched.completed) == 1
    completed_at, upload = watched.completed[0]
    assert shown - completed_at < 5.0, shown - completed_at
    assert upload["file"]["width"] == 1600 and upload["file"]["height"] == 1200
    msgs = (await hub.api("GET", f"/api/channels/{ch}/messages", "alice")).json()["messages"]
    assert [(m["text"], len(m["files"])) for m in msgs] == [("Levee breached at km 12", 1)]
    assert await alice.get_attribute("#messages .files img", "alt") == "levee.jpg"


#: A PDF that asks its viewer to run a script when opened.
SCRIPTED_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript"
                b"/JS(app.alert('pwned'))>>>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
                b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
#: A spreadsheet row that runs a formula where a spreadsheet opens it.
FORMULA_CSV = b'name,link\nlevee,"=HYPERLINK(""http://example.invalid/pwned"",""x"")"\n'


async def test_hostile_files_are_refused_or_served_inertly_and_nothing_runs(
        browser: Any, page_hub: RunningHub) -> None:
    """Markup passed off as a photo, an archive, a program, a decompression bomb and a
    truncated photo are refused. What is accepted from hostile bytes (a polyglot
    JPEG/HTML, a PDF with a script, a CSV with a formula) opens in Chromium as an image
    or as a download, under headers that keep it inert: no dialog, no request it asks
    for, no document of ours that runs it."""
    hub = page_hub
    ch = hub.ch("A/general")
    for name, data in {**HOSTILE, "decompression bomb": bomb_png(),
                       "truncated photo": exif_photo()[:20_000]}.items():
        _, sent = await upload(hub, "alice", data, channel=ch, name="photo.jpg")
        assert sent.status_code == 415, (name, sent.text)
    files = {"photo.jpg": polyglot_jpeg(), "report.pdf": SCRIPTED_PDF, "levee.csv": FORMULA_CSV}
    ids = []
    for name, data in files.items():
        upload_id, sent = await upload(hub, "alice", data, channel=ch, name=name)
        assert sent.status_code == 204, (name, sent.text)
        ids.append(upload_id)
    posted = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "What the post found", "client_msg_id": "h1", "attach": ids})
    assert posted.status_code == 201, posted.text

    page = await login(browser, hub, "bruno", accept_downloads=True)
    ran: list[str] = []

    async def dialog(d: Any) -> None:
        ran.append(f"dialog {d.message}")
        await d.dismiss()

    page.on("dialog", dialog)
    page.context.on("request", lambda r: ran.append(r.url) if "pwned" in r.url else None)
    await page.wait_for_function(THUMBNAIL_SHOWN, timeout=10_000)
    base = f"{hub.url.replace('127.0.0.1', 'localhost')}/api/channels/{ch}/messages/1/files"
    for variant in ("", "?variant=preview", "?variant=thumbnail"):
        opened = await page.goto(f"{base}/0{variant}")
        assert opened is not None and opened.status == 200
        headers = opened.headers
        assert headers["content-type"] == "image/jpeg", variant
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
        assert await page.evaluate("document.contentType") == "image/jpeg"
        assert await page.evaluate("document.scripts.length") == 0
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + "/")
    await page.wait_for_selector("#conn.live", timeout=10_000)
    for index, name in ((1, "report.pdf"), (2, "levee.csv")):
        link = f"#messages li[data-seq='1'] .files a[href$='/files/{index}']"
        async with page.expect_download() as pending:
            await page.click(link)
        download = await pending.value
        assert download.suggested_filename == name
        assert Path(await download.path()).read_bytes() == files[name]
        assert page.url.endswith("/")  # still the app: the file was saved, not shown
        headers = (await page.request.get(f"{base}/{index}")).headers
        assert headers["content-disposition"].startswith("attachment"), name
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
    assert ran == []


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
THUMBNAILS_SHOWN = """() => [...document.querySelectorAll('#messages .files img')]
    .filter((i) => i.complete && i.naturalWidth > 0).length"""


async def test_a_chat_of_20_photos_costs_a_phone_thumbnails_only(
        browser: Any, page_hub: RunningHub) -> None:
    """Issue 28's byte figure: a phone opening a channel of 20 photo messages fetches
    each photo's thumbnail (at most 15 KB) and nothing bigger, also once scrolled
    through all of them (docs/performance.md, "Photos in a chat")."""
    hub = page_hub
    ch = hub.ch("A/general")
    for i in range(20):
        upload_id, sent = await upload(hub, "alice", field_photo(i, 960, 720), channel=ch,
                                       name=f"site-{i}.jpg")
        assert sent.status_code == 204, sent.text
        posted = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
            "text": f"Site {i}", "client_msg_id": f"p{i}", "attach": [upload_id]})
        assert posted.status_code == 201, posted.text
    page = await login(browser, hub, "bruno", **PHONE)
    fetched: dict[str, int] = {}  # what crossed the network: headers and body, as sent

    async def count(request: Any) -> None:
        if "/files/" in request.url:
            sizes = await request.sizes()
            name = request.url.split("/messages/")[1]
            # the page's request answered by the service worker counts nothing; the
            # worker's own, to the hub, counts what was sent
            fetched[name] = max(fetched.get(name, 0),
                                sizes["responseHeadersSize"] + sizes["responseBodySize"])

    page.context.on("requestfinished", count)
    await page.tap("#tab-chat")
    await page.wait_for_function(f"() => ({THUMBNAILS_SHOWN})() > 0", timeout=10_000)
    at_open = dict(fetched)
    for _ in range(40):  # scroll up to the oldest, letting each lazy image come in
        if await page.evaluate(THUMBNAILS_SHOWN) == 20:
            break
        await page.evaluate("document.querySelector('#messages').scrollTop -= 600")
        await asyncio.sleep(0.1)
    await page.wait_for_function(f"() => ({THUMBNAILS_SHOWN})() === 20", timeout=10_000)
    async with asyncio.timeout(10):
        while len(fetched) < 20 or not all(fetched.values()):  # sizes come in last
            await asyncio.sleep(0.05)
    assert len(fetched) == 20 and all(name.endswith("?variant=thumbnail") for name in fetched)
    assert max(fetched.values()) <= 15_000 + 1_000, fetched  # a thumbnail and its headers
    print(f"\nphotos: {len(at_open)} thumbnails at open ({sum(at_open.values())} B), "
          f"{len(fetched)} after scrolling ({sum(fetched.values())} B; each "
          f"{min(fetched.values())}-{max(fetched.values())} B)")


async def test_send_original_keeps_the_photo_s_size_and_the_upload_code_comes_only_then(
        browser: Any, page_hub: RunningHub, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """"send original" uploads the photo as chosen (the hub still re-encodes it, its
    metadata gone); the upload code is fetched when the first file is sent, not before."""
    hub = page_hub
    watched = Watched(hub.services.uploads, monkeypatch)
    photo = tmp_path / "bridge.jpg"
    photo.write_bytes(exif_photo(3200, 2400))
    page = await login(browser, hub, "bruno")
    scripts = "() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)"
    assert not {"/attach.js", "/vendor/tus.min.js"} & set(await page.evaluate(scripts))
    await page.click("#tab-chat")
    await page.click("#attach")  # opens the chooser; the test sets the file directly
    await page.set_input_files("#file", str(photo))
    await page.check("#original")
    await page.fill("#text", "Bridge at Kerns, full size")
    await page.press("#text", "Enter")
    await page.wait_for_function(THUMBNAIL_SHOWN, timeout=30_000)
    assert {"/attach.js", "/vendor/tus.min.js"} <= set(await page.evaluate(scripts))
    assert [(d["file"]["width"], d["file"]["height"]) for _, d in watched.completed] == \
        [(3200, 2400)]
    assert not await page.is_checked("#original")  # the next file is shrunk again


async def test_a_case_s_photo_shows_in_its_detail_as_its_thumbnail(
        browser: Any, page_hub: RunningHub) -> None:
    """A case's files show in its detail as a message's do (a photo's thumbnail linking
    its preview), and the wall board's card of the case shows its first photo."""
    hub = page_hub
    op = hub.ops["A"].id
    upload_id, sent = await upload(hub, "alice", field_photo(3, 480, 360), name="breach.jpg",
                                   operation=op)
    assert sent.status_code == 204, sent.text
    case = (await hub.api("POST", f"/api/operations/{op}/cases", "alice", json={
        "title": "Breach at km 12", "attach": [upload_id],
        "location": {"place": "Kerns", "lat": 46.9, "lon": 8.25}})).json()
    page = await login(browser, hub, "bruno")
    await page.click("#tab-cases")
    await page.click(f"#case-list li[data-case='{case['id']}'] button.linkish")
    await page.wait_for_function(
        "() => { const i = document.querySelector('#case-description .files img');"
        " return !!i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
    link = await page.get_attribute("#case-description .files a", "href")
    assert link == f"/api/operations/{op}/cases/{case['id']}/files/0?variant=preview"
    assert await page.get_attribute("#case-description .files img", "alt") == "breach.jpg"
    # The wall board: the case's card beside the map shows the photo's thumbnail.
    await page.goto(hub.url.replace("127.0.0.1", "localhost") + f"/board.html?op={op}")
    await page.click(f"#map-host .marker[data-case='{case['id']}']", timeout=10_000)
    await page.wait_for_function(
        "() => { const i = document.querySelector('#map-case-photo');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; }", timeout=10_000)
    assert await page.get_attribute("#map-case-photo", "src") == \
        f"/api/operations/{op}/cases/{case['id']}/files/0?variant=thumbnail"


async def test_a_message_its_sender_removes_leaves_every_screen_with_its_photo(
        browser: Any, page_hub: RunningHub) -> None:
    """The sender removes a message with a photo (asked for a reason): another agency's
    screen drops its text and thumbnail at once and says who removed it."""
    hub = page_hub
    ch = hub.ch("A/general")
    upload_id, sent = await upload(hub, "alice", field_photo(5, 480, 360), name="x.jpg",
                                   channel=ch)
    assert sent.status_code == 204, sent.text
    posted = await hub.api("POST", f"/api/channels/{ch}/messages", "alice", json={
        "text": "Informant's house", "client_msg_id": "r1", "attach": [upload_id]})
    assert posted.status_code == 201, posted.text
    alice, bruno = await login(browser, hub, "alice"), await login(browser, hub, "bruno")
    await bruno.wait_for_function(THUMBNAIL_SHOWN, timeout=10_000)
    await alice.click("#tab-chat")
    row = "#messages li[data-seq='1']"
    assert await bruno.locator(f"{row} button.redact").count() == 0  # not bruno's to remove

    async def reason(dialog: Any) -> None:
        await dialog.accept("posted to the wrong channel")

    alice.once("dialog", reason)
    await alice.click(f"{row} button.redact")
    await bruno.wait_for_selector(f"{row} .text:has-text('Removed by alice')", timeout=10_000)
    assert await bruno.locator(f"{row} .files").count() == 0
    assert "Informant" not in await bruno.inner_text("#messages")
    audited = [a async for a in hub.hub.engine.store.iter_audit()
               if a.action == "message.redact"]
    assert [a.details["reason"] for a in audited] == ["posted to the wrong channel"]
