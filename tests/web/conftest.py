"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import STRICT, embedded_settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("LIAISON_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One headless Chromium for the whole session (starting one per test cost a
    minute of the suite); each test connects to it and works in contexts of its own,
    which share no storage, cookies, service workers or permissions."""
    path = chromium_path()
    if path is None:
        reason = ("Chromium not found: install it with 'apt-get install chromium' "
                  "or set LIAISON_CHROMIUM to its path")
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium")
    proc = subprocess.Popen(
        [path, "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--no-default-browser-check", *CHROMIUM_ARGS, "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    endpoint = None
    deadline = time.monotonic() + 60
    while endpoint is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            endpoint = found.group(1)
    if endpoint is None:
        proc.kill()
        pytest.fail(f"Chromium did not start: {proc.stderr.read()[-2000:]}")
    # keep reading its stderr, so a chatty Chromium never blocks on a full pipe
    reader = threading.Thread(target=proc.stderr.read, daemon=True)
    reader.start()
    yield endpoint
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    reader.join(timeout=15)
    proc.stderr.close()


@pytest.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.connect_over_cdp(chromium_endpoint)
        default = b.contexts[:1]
        yield b
        for context in b.contexts:
            if context not in default:
                await context.close()


@pytest.fixture
async def page_hub(start_hub: Any, tmp_path: Any) -> Any:
    """A real hub on the embedded engine, for tests whose subject is the page itself
    (layout, accessibility, the codec, the service worker, offline queues).

    The engine behind the hub changes nothing these tests look at: that both engines
    store, publish and recover alike is what the engine contract and the functional
    tests check, on both. Running these once keeps the suite inside its time budget.
    """
    return await start_hub(embedded_settings(tmp_path))
