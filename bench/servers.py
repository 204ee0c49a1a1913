"""The servers bench/compare.py runs side by side, each alone on its own cores.

* ``websockets``: a bare ``websockets`` broadcast (bench/baselines/ws_broadcast.py);
* ``starlette``: a bare Starlette ``send_text`` loop on uvicorn
  (bench/baselines/starlette_loop.py);
* ``hub``: ``liaison serve`` on the embedded engine;
* ``hub-redis``, ``hub-redis-2``: ``liaison serve`` on the Redis engine, one
  process or two (``--workers 2``; the kernel spreads the connections), for
  issue 13's scale-out figure. Redis' own CPU is not counted.

A server of K processes is pinned to CPUs 0..K-1 and the load generator to CPU K;
:func:`start` refuses a server this machine has too few cores to keep apart.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from websockets.asyncio.client import connect

from bench.common import PASSWORD, free_port, process_tree
from bench.fanout import seed
from hub.config import Settings

__all__ = ["SERVERS", "Server", "TooFewCores", "cpu_seconds", "pinned", "start"]

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
#: name -> number of server processes
SERVERS = {"websockets": 1, "starlette": 1, "hub": 1, "hub-redis": 1, "hub-redis-2": 2}


class TooFewCores(RuntimeError):
    """The server's processes and the load generator cannot have a core each."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children, in seconds."""
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            pass
    return total


def pinned(cpus: set[int]) -> Callable[[], None]:
    """A ``preexec_fn`` keeping a child process (and the workers it forks) on ``cpus``."""
    def pin() -> None:
        have = os.cpu_count() or 1
        if hasattr(os, "sched_setaffinity") and all(c < have for c in cpus):
            os.sched_setaffinity(0, cpus)
    return pin


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    ws_url: str
    channel: str
    tokens: dict[str, str] = field(default_factory=dict)
    tmp: Path | None = None
    #: The CPU the load generator runs on (the server has the ones below it).
    loader_cpu: int = 1
    redis: tuple[str, str] | None = None  # (url, key prefix) to delete at the end

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.redis is not None:
            url, prefix = self.redis
            client = redis.Redis.from_url(url)
            for key in client.scan_iter(match=f"{prefix}*", count=1000):
                client.delete(key)
            client.close()


async def _ready(port: int, path: str = "/readyz", ws: bool = False) -> None:
    for _ in range(400):
        try:
            if ws:
                async with connect(f"ws://127.0.0.1:{port}/ws",
                                   subprotocols=["liaison.v1.json"]):  # type: ignore[list-item]
                    return
            async with httpx.AsyncClient() as http:
                if (await http.get(f"http://127.0.0.1:{port}{path}")).status_code == 200:
                    return
        except Exception:  # not up yet
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"server on {port} never came up")


async def start(name: str, connections: int,
                redis_url: str = "redis://127.0.0.1:6379/0") -> Server:
    processes = SERVERS[name]
    have = os.cpu_count() or 1
    if processes > 1 and have < processes + 1:
        raise TooFewCores(f"{name} needs {processes + 1} cores ({processes} for the server, "
                          f"one for the load generator); this machine has {have}")
    cpus = set(range(processes))
    port = free_port()
    if name in ("websockets", "starlette"):
        script = ROOT / "bench" / "baselines" / ("ws_broadcast.py" if name == "websockets"
                                                 else "starlette_loop.py")
        proc = subprocess.Popen([sys.executable, str(script), str(port)],  # noqa: ASYNC220
                                preexec_fn=pinned(cpus), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        await _ready(port, ws=True)
        return Server(name, proc, f"ws://127.0.0.1:{port}/ws", "c0",
                      {"reader": "-", "writer": "-"})
    tmp = Path(tempfile.mkdtemp(prefix="liaison-compare-"))
    on_redis = name.startswith("hub-redis")
    prefix = f"liaison-compare:{uuid.uuid4().hex[:8]}:"
    engine = redis_url if on_redis else "embedded"
    [channel] = await seed(Settings(data_dir=tmp / "data", engine=engine,
                                    redis_prefix=prefix), 1)
    env = {**os.environ, "LIAISON_DATA_DIR": str(tmp / "data"), "LIAISON_PORT": str(port),
           "LIAISON_ENGINE": engine, "LIAISON_REDIS_PREFIX": prefix,
           "LIAISON_MAX_CONNECTIONS_PER_USER": str(connections + 100),
           "LIAISON_PUBLISH_RATE": "1000000", "LIAISON_PUBLISH_BURST": "1000000",
           "LIAISON_SEND_QUEUE_FRAMES": "10000", "LIAISON_LOG_LEVEL": "WARNING"}
    cmd = [str(Path(sys.executable).parent / "liaison"), "serve"]
    if processes > 1:
        cmd += ["--workers", str(processes)]
    proc = subprocess.Popen(cmd, env=env, preexec_fn=pinned(cpus),  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(name, proc, f"ws://127.0.0.1:{port}/ws", channel, {}, tmp,
                    loader_cpu=processes, redis=(redis_url, prefix) if on_redis else None)
    try:
        await _ready(port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for user in ("reader", "writer"):
                r = await http.post("/api/auth/login", json={
                    "username": user, "password": PASSWORD, "bearer": True})
                server.tokens[user] = r.json()["token"]
    except BaseException:
        server.stop()
        raise
    return server
