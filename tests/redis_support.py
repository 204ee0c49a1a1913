"""Finding (or starting) a real Redis for the tests, and cleaning up after them.

Order: ``LIAISON_TEST_REDIS_URL`` if set; else the server on 127.0.0.1:6379 if
it answers; else a ``redis-server`` started from PATH on a free port. With
none of these the Redis tests skip with a hint, or fail when
``LIAISON_TEST_STRICT=1`` (as in CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis

STRICT = os.environ.get("LIAISON_TEST_STRICT") == "1"
INSTALL_HINT = ("no Redis: set LIAISON_TEST_REDIS_URL, run one on 127.0.0.1:6379, or "
                "install redis-server ('apt-get install redis-server')")


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server process of our own, for tests that kill or restart it."""

    def __init__(self, *, appendonly: bool = True, fsync: str = "always") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if STRICT:
                pytest.fail(INSTALL_HINT)
            pytest.skip(INSTALL_HINT)
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liaison-redis-"))
        self.args = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--dir", str(self.dir), "--save", "",
                     "--appendonly", "yes" if appendonly else "no",
                     "--appendfsync", fsync]
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(200):
            if _answers(self.url):
                return self
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: RedisServer | None = None


def redis_url() -> str:
    """A Redis to use for tests that do not need to kill it."""
    global _shared
    url = os.environ.get("LIAISON_TEST_REDIS_URL")
    if url:
        return url
    if _answers("redis://127.0.0.1:6379/0"):
        return "redis://127.0.0.1:6379/0"
    if _shared is None:
        _shared = RedisServer(appendonly=False).start()
    return _shared.url


def new_prefix() -> str:
    return f"liaison-test:{uuid.uuid4().hex[:12]}:"


def cleanup(url: str, prefix: str) -> None:
    r = redis.Redis.from_url(url)
    try:
        for key in r.scan_iter(match=prefix.replace("[", "\\[") + "*", count=1000):
            r.delete(key)
    except redis.RedisError:
        pass
    finally:
        r.close()
