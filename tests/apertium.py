"""A real Apertium APy for tests: Debian's ``apertium-apy`` with the installed pairs
(``apertium-eng-spa``, ``apertium-fr-es``), started on a free loopback port, stoppable
and startable again (the engine going away mid-conversation). Nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import STRICT, free_port

__all__ = ["Apy", "CountingTransport", "apy"]

PAIRS_DIR = Path("/usr/share/apertium")
INSTALL_HINT = ("apertium-apy not found: install it with 'apt-get install apertium-apy "
                "apertium-eng-spa apertium-fr-es' (Debian)")


def require_apy() -> str:
    found = shutil.which("apertium-apy")
    if found is None or not (PAIRS_DIR / "modes").is_dir():
        if STRICT:
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return found


class Apy:
    """One APy process on ``port``; :meth:`stop` kills it, :meth:`start` brings it back
    on the same port."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.command, "-p", str(self.port), str(PAIRS_DIR)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apertium-apy exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/listPairs", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)  # polling a starting process: the bound is the deadline
        raise RuntimeError("apertium-apy did not answer in 90 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its pipelines are its children
            self.proc.wait(30)
        self.proc = None


def apy() -> Iterator[Apy]:
    """A started APy (the body of the tests' fixtures)."""
    server = Apy(require_apy())
    server.start()
    try:
        yield server
    finally:
        server.stop()


class CountingTransport(httpx.AsyncBaseTransport):
    """The hub's HTTP transport to the engine, counting the translations it asks for."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.translations = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/translate"):
            self.translations += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
