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
from hub.errors import CloseCode
from tests.conftest import PASSWORD, RunningHub
from tests.photos import exif_photo
from tests.web.conftest import CHROMIUM_ARGS, chromium_path
from tests.web.pages import login

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
        await context.set_offline(True)
        for conn in list(hub.hub.node.connections):
            if conn.principal.username == "bruno":  # the network drop closes its socket
                conn.close(CloseCode.GOING_AWAY, "network gone")
        await page.wait_for_selector("#conn:not(.live)", timeout=10_000)
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
