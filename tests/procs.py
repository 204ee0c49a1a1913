"""Hub processes for tests that must kill -9 a hub: `python -m liaison serve` subprocesses."""

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
    """``python -m liaison serve ARGS`` with ``settings`` as LIAISON_* variables.

    ``release``: the tree of another release of the hub to run instead of this
    checkout's (tests/functional/test_upgrade_functional.py); the process then runs
    from the log's folder, so the checkout is not on its path, and as that release
    started (``python -m hub`` before the command line moved to ``liaison``).
    """

    def __init__(self, log: Path, *args: str, release: Path | None = None,
                 **settings: object) -> None:
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log = log
        self.cwd = log.parent if release else None
        self.module = "liaison" if release is None or (release / "liaison").is_dir() else "hub"
        self.env = {**os.environ, "LIAISON_PORT": str(self.port),
                    "LIAISON_PUBLISH_RATE": "100000", "LIAISON_PUBLISH_BURST": "100000"}
        if release is not None:
            self.env = {k: v for k, v in self.env.items()
                        if not k.startswith("LIAISON_") or k in ("LIAISON_PORT",
                                                                 "LIAISON_PUBLISH_RATE",
                                                                 "LIAISON_PUBLISH_BURST")}
            self.env["PYTHONPATH"] = str(release)
        for key, value in settings.items():
            self.env["LIAISON_" + key.upper()] = str(value)
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """``python -m liaison ARGS`` of the same release and settings; its output."""
        done = subprocess.run([sys.executable, "-m", self.module, *args], cwd=self.cwd,
                              env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    async def start(self) -> HubProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", self.module, "serve",
                                          *self.args],
                                         cwd=self.cwd, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        async with httpx.AsyncClient() as http:
            deadline = asyncio.get_running_loop().time() + 120  # a busy machine is slow
            while asyncio.get_running_loop().time() < deadline:
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
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
