"""The hub against bare fan-out servers, under the same load, in one run (issue 13).

Servers (bench/servers.py): a bare ``websockets`` broadcast, a bare Starlette
``send_text`` loop on uvicorn, and the hub (``liaison serve`` with its
authentication, storage and seq) on the embedded engine, or on Redis with one
process or two. Each runs alone on its own CPUs (0, or 0 and 1); the load
generator (this process, or bench/loader/load.mjs with ``--loader node``) runs
on the next CPU. For each scenario N x R (N subscribers of one channel, one
publisher sending R 100-byte messages a second for D seconds) it reports:

* deliveries per server-CPU-second (messages delivered to subscribers, over
  the user + system CPU time the server's processes used while publishing);
* deliveries per second, from the first publish to the last delivery (what
  two processes are measured by against one);
* p50 / p99 publish-to-delivery latency;
* KiB of server memory per idle subscribed connection (RSS growth while the
  N connections were opened, over N);

and the hub's ratios to each baseline. Usage (the runs we keep are in
docs/performance.md):

    .venv/bin/python bench/compare.py --scenarios 200x50,1000x50,200x400 --duration 10
    .venv/bin/python bench/compare.py --loader node --servers hub-redis,hub-redis-2 \\
        --scenarios 1000x200 --duration 10   # three cores or more
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import ClientConnection, connect

from bench.fanout import rss_kib
from bench.node_loader import measure_node, node_loader_missing
from bench.servers import SERVERS, Server, TooFewCores, cpu_seconds, start

__all__ = ["measure", "measure_node", "node_loader_missing", "run", "start", "table"]


async def _open(server: Server, who: str) -> ClientConnection:
    ws = await connect(server.ws_url, subprotocols=["liaison.v1.json"],  # type: ignore[list-item]
                       max_queue=None, compression=None)
    await ws.send(json.dumps({"type": "hello", "token": server.tokens[who]}))
    await ws.recv()
    return ws


async def measure(server: Server, n: int, rate: float, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    sockets: list[ClientConnection] = []
    last_at = [0.0]  # when the latest delivery arrived

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
                    last_at[0] = now
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
    begin, began_at = time.perf_counter(), time.time()
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
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "kib_per_idle_conn": round(idle_kib, 1),
            "deliveries_per_s": round(len(latencies) / (last_at[0] - began_at))
            if last_at[0] > began_at else None}


async def _drain(ws: ClientConnection) -> None:
    try:
        async for _ in ws:
            pass
    except Exception:
        pass


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for scenario in args.scenarios.split(","):
        n, rate = (int(x) for x in scenario.split("x"))
        for name in args.servers.split(","):
            try:
                server = await start(name, n, args.redis_url)
            except TooFewCores as exc:
                print(f"{name}: skipped: {exc}", file=sys.stderr)
                continue
            try:
                if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                    os.sched_setaffinity(0, {server.loader_cpu})
                run_one = measure_node if args.loader == "node" else measure
                results.append(await run_one(server, n, rate, args.duration))
            finally:
                server.stop()
            print(json.dumps(results[-1]), file=sys.stderr)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| server | N x rate | deliveries / server-CPU-s | deliveries / s | p50 ms | p99 ms "
             "| KiB / idle conn | delivered / expected |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['server']} | {r['n']} x {r['rate']:g}/s | {r['deliveries_per_cpu_s']}"
                     f" | {r['deliveries_per_s']} | {r['p50_ms']} | {r['p99_ms']} "
                     f"| {r['kib_per_idle_conn']} | {r['delivered']} / {r['expected']} |")
    by = {(r["server"], r["n"], r["rate"]): r for r in results}
    for (server, n, rate), r in by.items():
        # Efficiency against the bare servers; capacity of two processes against one.
        pairs = {"hub": [("starlette", "deliveries_per_cpu_s"),
                         ("websockets", "deliveries_per_cpu_s")],
                 "hub-redis-2": [("hub-redis", "deliveries_per_s")]}.get(server, [])
        for other, key in pairs:
            base = by.get((other, n, rate))
            if base and base[key] and r[key]:
                lines.append(f"\n{server} / {other} at {n} x {rate:g}/s ({key}): "
                             f"{r[key] / base[key]:.2f}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="200x50,1000x50,200x400",
                   help="N x R pairs: N subscribers, R messages a second")
    p.add_argument("--servers", default="websockets,starlette,hub",
                   help=f"some of {', '.join(SERVERS)} (hub-redis-2: two processes, "
                        "needs three cores)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0",
                   help="the Redis of hub-redis and hub-redis-2")
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
