"""Hub processes for tests that must kill -9 a hub: `python -m hub serve` subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import free_port


class HubProcess:
    def __init__(self, log: Path, *args: str, **settings: object) -> None:
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log = log
        self.env = {**os.environ, "LIAISON_PORT": str(self.port),
                    "LIAISON_PUBLISH_RATE": "100000", "LIAISON_PUBLISH_BURST": "100000"}
        for key, value in settings.items():
            self.env["LIAISON_" + key.upper()] = str(value)
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> HubProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "hub", "serve", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                assert self.proc.poll() is None, f"hub exited: {self.log.read_text()[-2000:]}"
                try:
                    if (await http.get(self.url + "/readyz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("hub never became ready")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
