"""The hub against bare fan-out servers, under the same load, in one run (issue 13).

Servers: a bare ``websockets`` broadcast (bench/baselines/ws_broadcast.py), a
bare Starlette ``send_text`` loop on uvicorn (bench/baselines/starlette_loop.py)
and the hub (``liaison serve``, embedded engine, with its authentication,
storage and seq). Each runs alone, pinned to CPU 0; this load generator pins
itself to CPU 1. For each scenario N x R (N subscribers of one channel, one
publisher sending R 100-byte messages a second for D seconds) it reports:

* deliveries per server-CPU-second (messages delivered to subscribers, over
  the user + system CPU time the server process used while publishing);
* p50 / p99 publish-to-delivery latency;
* KiB of server memory per idle subscribed connection (RSS growth while the
  N connections were opened, over N);

and the hub's ratios to each baseline. Usage (the runs we keep are in
docs/performance.md):

    .venv/bin/python bench/compare.py --scenarios 200x50,1000x50,200x400 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.common import PASSWORD, free_port
from bench.fanout import rss_kib, seed
from hub.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children, in seconds."""
    total = 0.0
    pids = [pid] + [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                    if _parent(p) == pid]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            pass
    return total


def _parent(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _pinned(cpu: int) -> Any:
    def pin() -> None:
        if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})
    return pin


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    ws_url: str
    channel: str
    tokens: dict[str, str] = field(default_factory=dict)
    tmp: Path | None = None

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


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


async def start(name: str, connections: int) -> Server:
    port = free_port()
    if name in ("websockets", "starlette"):
        script = ROOT / "bench" / "baselines" / ("ws_broadcast.py" if name == "websockets"
                                                 else "starlette_loop.py")
        proc = subprocess.Popen([sys.executable, str(script), str(port)],  # noqa: ASYNC220
                                preexec_fn=_pinned(0), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        await _ready(port, ws=True)
        return Server(name, proc, f"ws://127.0.0.1:{port}/ws", "c0",
                      {"reader": "-", "writer": "-"})
    tmp = Path(tempfile.mkdtemp(prefix="liaison-compare-"))
    [channel] = await seed(Settings(data_dir=tmp / "data"), 1)
    env = {**os.environ, "LIAISON_DATA_DIR": str(tmp / "data"), "LIAISON_PORT": str(port),
           "LIAISON_MAX_CONNECTIONS_PER_USER": str(connections + 100),
           "LIAISON_PUBLISH_RATE": "1000000", "LIAISON_PUBLISH_BURST": "1000000",
           "LIAISON_SEND_QUEUE_FRAMES": "10000", "LIAISON_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "liaison"), "serve"],  # noqa: ASYNC220
                            env=env, preexec_fn=_pinned(0), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    await _ready(port)
    tokens = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for user in ("reader", "writer"):
            r = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD,
                                                         "bearer": True})
            tokens[user] = r.json()["token"]
    return Server(name, proc, f"ws://127.0.0.1:{port}/ws", channel, tokens, tmp)


async def _open(server: Server, who: str) -> ClientConnection:
    ws = await connect(server.ws_url, subprotocols=["liaison.v1.json"],  # type: ignore[list-item]
                       max_queue=None, compression=None)
    await ws.send(json.dumps({"type": "hello", "token": server.tokens[who]}))
    await ws.recv()
    return ws


async def measure(server: Server, n: int, rate: float, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    sockets: list[ClientConnection] = []

    async def subscriber() -> None:
        ws = await _open(server, "reader")
        sockets.append(ws)
        await ws.send(json.dumps({"type": "subscribe", "channel": server.channel}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass

    async def read(ws: ClientConnection) -> None:
        # Only the send time is read out of each frame (no JSON parse), so the load
        # generator's one core keeps up with the fastest server.
        try:
            async for raw in ws:
                now = time.time()
                at = raw.find('"text":') if isinstance(raw, str) else -1
                if at >= 0 and '"message"' in raw[:40]:
                    start = raw.index('"', at + 7) + 1
                    latencies.append(now - float(raw[start:start + 20]))
        except Exception:
            pass

    await asyncio.sleep(0.5)
    rss0 = rss_kib(server.proc.pid)
    for i in range(0, n, 100):
        await asyncio.gather(*(subscriber() for _ in range(min(100, n - i))))
    await asyncio.sleep(1.0)
    idle_kib = (rss_kib(server.proc.pid) - rss0) / n
    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    writer = await _open(server, "writer")
    acks = asyncio.create_task(_drain(writer))
    padding = "x" * (100 - 21)
    cpu0 = cpu_seconds(server.proc.pid)
    begin = time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - begin) < duration:
        while sent < int(elapsed * rate):
            await writer.send(json.dumps({"type": "publish", "channel": server.channel,
                                          "text": f"{time.time():<20.6f} {padding}",
                                          "client_msg_id": uuid.uuid4().hex}))
            sent += 1
        await asyncio.sleep(min(0.005, 0.5 / rate))
    last, quiet = -1, 0.0
    for _ in range(200):  # drain: nothing moved for 1 s, or 20 s at most
        quiet = quiet + 0.1 if len(latencies) == last else 0.0
        if quiet >= 1.0:
            break
        last = len(latencies)
        await asyncio.sleep(0.1)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    for task in (*readers, acks):
        task.cancel()
    for ws in (*sockets, writer):
        await ws.close()
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) \
            if latencies else float("nan")

    return {"server": server.name, "n": n, "rate": rate, "sent": sent,
            "delivered": len(latencies), "expected": sent * n,
            "server_cpu_s": round(cpu, 2),
            "deliveries_per_cpu_s": round(len(latencies) / cpu) if cpu > 0 else None,
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "kib_per_idle_conn": round(idle_kib, 1)}


LOADER = ROOT / "bench" / "loader"


def node_loader_missing() -> str | None:
    """Why ``--loader node`` cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (Debian: apt-get install nodejs)"
    if not (LOADER / "node_modules" / "ws").is_dir():
        return f"its packages are not installed: cd {LOADER} && npm ci"
    return None


async def measure_node(server: Server, n: int, rate: float, duration: float) -> dict[str, Any]:
    """:func:`measure` with the load generated by bench/loader/load.mjs (Node.js), which
    keeps up with the 1000 x 50/s row on its one core where this process does not."""
    cfg = {"url": server.ws_url, "protocol": "liaison.v1.json", "channel": server.channel,
           "n": n, "rate": rate, "duration": duration,
           "tokens": {"reader": server.tokens["reader"], "writer": server.tokens["writer"]}}
    await asyncio.sleep(0.5)
    rss0 = rss_kib(server.proc.pid)
    proc = await asyncio.create_subprocess_exec(
        "node", str(LOADER / "load.mjs"), json.dumps(cfg), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, preexec_fn=_pinned(1))
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
        assert ready == {"ready": True}, ready
        await asyncio.sleep(1.0)
        idle_kib = (rss_kib(server.proc.pid) - rss0) / n
        cpu0 = cpu_seconds(server.proc.pid)
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        done = json.loads(await asyncio.wait_for(proc.stdout.readline(), duration + 60))
        cpu = cpu_seconds(server.proc.pid) - cpu0
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    delivered = int(done["delivered"])
    return {"server": server.name, "n": n, "rate": rate, "sent": done["sent"],
            "delivered": delivered, "expected": done["sent"] * n,
            "server_cpu_s": round(cpu, 2),
            "deliveries_per_cpu_s": round(delivered / cpu) if cpu > 0 else None,
            "p50_ms": done["p50_ms"], "p99_ms": done["p99_ms"],
            "kib_per_idle_conn": round(idle_kib, 1), "loader": "node"}


async def _drain(ws: ClientConnection) -> None:
    try:
        async for _ in ws:
            pass
    except Exception:
        pass


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    results = []
    for scenario in args.scenarios.split(","):
        n, rate = (int(x) for x in scenario.split("x"))
        for name in args.servers.split(","):
            server = await start(name, n)
            try:
                run_one = measure_node if args.loader == "node" else measure
                results.append(await run_one(server, n, rate, args.duration))
            finally:
                server.stop()
            print(json.dumps(results[-1]), file=sys.stderr)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| server | N x rate | deliveries / server-CPU-s | p50 ms | p99 ms | KiB / idle conn "
             "| delivered / expected |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['server']} | {r['n']} x {r['rate']:g}/s | {r['deliveries_per_cpu_s']}"
                     f" | {r['p50_ms']} | {r['p99_ms']} | {r['kib_per_idle_conn']} "
                     f"| {r['delivered']} / {r['expected']} |")
    by = {(r["server"], r["n"], r["rate"]): r for r in results}
    for (server, n, rate), r in by.items():
        if server != "hub":
            continue
        for other in ("starlette", "websockets"):
            base = by.get((other, n, rate))
            if base and base["deliveries_per_cpu_s"] and r["deliveries_per_cpu_s"]:
                lines.append(f"\nhub / {other} at {n} x {rate:g}/s: "
                             f"{r['deliveries_per_cpu_s'] / base['deliveries_per_cpu_s']:.2f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="200x50,1000x50,200x400",
                   help="N x R pairs: N subscribers, R messages a second")
    p.add_argument("--servers", default="websockets,starlette,hub")
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--loader", choices=("python", "node"), default="python",
                   help="node: bench/loader/load.mjs (npm ci there first), which keeps up "
                        "with 1000 x 50/s on one core")
    args = p.parse_args()
    if args.loader == "node" and (why := node_loader_missing()):
        p.error(f"--loader node: {why}")
    print(table(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
