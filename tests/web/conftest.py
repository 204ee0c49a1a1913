"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import STRICT, embedded_settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("LIAISON_CHROMIUM") or shutil.which("chromium") or \
        shutil.which("chromium-browser")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    path = chromium_path()
    if path is None:
        reason = ("Chromium not found: install it with 'apt-get install chromium' "
                  "or set LIAISON_CHROMIUM to its path")
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def page_hub(start_hub: Any, tmp_path: Any) -> Any:
    """A real hub on the embedded engine, for tests whose subject is the page itself
    (layout, accessibility, the codec, the service worker, offline queues).

    The engine behind the hub changes nothing these tests look at: that both engines
    store, publish and recover alike is what the engine contract and the functional
    tests check, on both. Running these once keeps the suite inside its time budget.
    """
    return await start_hub(embedded_settings(tmp_path))
