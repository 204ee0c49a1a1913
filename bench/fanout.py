"""Fan-out load generator: N subscriber connections over M channels, publishes at rate R.

Starts the hub as real processes (`liaison serve`, with `--workers` for the
Redis engine), seeds a bench operation, opens the subscriber connections
(spread round-robin over the channels), then publishes R messages per
second of S bytes for D seconds from a few publisher connections, each
message carrying its send time. It reports:

* delivered messages per second (all subscribers together);
* p50 / p99 / p99.9 publish-to-deliver latency (send time to receipt);
* loss (acked but never delivered to a subscriber of its channel),
  duplicates and reorders, counted per subscriber by seq;
* hub resident memory per connection (RSS growth of every hub process
  while the connections were opened, divided by N).

Usage (see docs/performance.md for the runs we keep):

    .venv/bin/python bench/fanout.py --engine embedded --connections 1000 --channels 20 \\
        --rate 200 --size 200 --duration 20
    .venv/bin/python bench/fanout.py --engine redis --processes 2 ...

The load is sent to 127.0.0.1 only; loops are bounded by --duration.

Unlike bench/alerts_e2e.py, this one does not use liaison_client: it counts
the duplicates and reorders the hub might send, which the library would
drop and reorder away, and it pipelines publishes without waiting on acks.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from channels.admin_bodies import NewChannel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from websockets.asyncio.client import connect

from bench.common import PASSWORD, bench_operation, free_port, process_tree
from hub.config import Settings


def rss_kib(pid: int) -> int:
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


async def seed(settings: Settings, channels: int) -> list[str]:
    async with bench_operation(settings, ("reader", "writer")) as (services, admin, op):
        create = services.channels.create_channel
        return [(await create(admin, op.id, NewChannel(name=f"c{i}"), "bench")).id
                for i in range(channels)]


class Subscriber:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.last = 0
        self.seen: set[int] = set()
        self.dups = 0
        self.reorders = 0
        self.latencies: list[float] = []


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="liaison-bench-"))
    prefix = f"liaison-bench:{uuid.uuid4().hex[:8]}:"
    engine = "embedded" if args.engine == "embedded" else args.redis_url
    settings = Settings(data_dir=tmp / "data", engine=engine, redis_prefix=prefix,
                        sqlite_synchronous=args.sqlite_synchronous)
    channel_ids = await seed(settings, args.channels)

    port = free_port()
    env = {**os.environ, "LIAISON_DATA_DIR": str(tmp / "data"), "LIAISON_ENGINE": engine,
           "LIAISON_REDIS_PREFIX": prefix, "LIAISON_PORT": str(port),
           "LIAISON_MAX_CONNECTIONS_PER_USER": str(args.connections + 100),
           "LIAISON_PUBLISH_RATE": "1000000", "LIAISON_PUBLISH_BURST": "1000000",
           "LIAISON_SEND_QUEUE_FRAMES": "10000", "LIAISON_LOG_LEVEL": "WARNING",
           "LIAISON_SQLITE_SYNCHRONOUS": args.sqlite_synchronous}
    cmd = [str(Path(sys.executable).parent / "liaison"), "serve"]
    if args.processes > 1:
        cmd += ["--workers", str(args.processes)]
    with (tmp / "hub.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log,  # noqa: ASYNC220 - started once
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(400):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            tokens = {}
            for user in ("reader", "writer"):
                r = await http.post("/api/auth/login", json={"username": user,
                                                             "password": PASSWORD,
                                                             "bearer": True})
                tokens[user] = r.json()["token"]
        await asyncio.sleep(1.0)
        rss_before = rss_kib(proc.pid)
        result = await load(args, base.replace("http", "ws") + "/ws", tokens, channel_ids,
                            proc.pid)
        result["hub_rss_mib_before"] = round(rss_before / 1024, 1)
        result["hub_rss_kib_per_connection"] = round(
            (result.pop("rss_after") - rss_before) / args.connections, 1) \
            if "rss_after" in result else None
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if args.engine == "redis":
            import redis

            r = redis.Redis.from_url(args.redis_url)
            for key in r.scan_iter(match=prefix + "*", count=1000):
                r.delete(key)
            r.close()
        shutil.rmtree(tmp, ignore_errors=True)


async def load(args: argparse.Namespace, ws_url: str, tokens: dict[str, str],
               channel_ids: list[str], hub_pid: int) -> dict[str, Any]:
    subs = [Subscriber(channel_ids[i % len(channel_ids)]) for i in range(args.connections)]
    sockets = []
    readers: list[asyncio.Task[None]] = []

    async def open_sub(sub: Subscriber) -> None:
        ws = await connect(ws_url, subprotocols=["liaison.v1.json"], max_queue=None)  # type: ignore[list-item]
        sockets.append(ws)
        await ws.send(json.dumps({"type": "hello", "token": tokens["reader"]}))
        await ws.recv()
        await ws.send(json.dumps({"type": "subscribe", "channel": sub.channel}))
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
        readers.append(asyncio.create_task(read(ws, sub)))

    async def read(ws: Any, sub: Subscriber) -> None:
        try:
            async for raw in ws:
                now = time.time()
                frame = json.loads(raw)
                if frame["type"] != "message":
                    continue
                seq = frame["seq"]
                if seq in sub.seen:
                    sub.dups += 1
                    continue
                if seq < sub.last:
                    sub.reorders += 1
                sub.seen.add(seq)
                sub.last = max(sub.last, seq)
                sub.latencies.append(now - float(frame["text"][:20]))
        except Exception:
            pass

    t0 = time.perf_counter()
    for start in range(0, len(subs), 200):  # open in waves to spare the accept queue
        await asyncio.gather(*(open_sub(s) for s in subs[start:start + 200]))
    connect_seconds = time.perf_counter() - t0
    await asyncio.sleep(2.0)
    rss_after = rss_kib(hub_pid)
    # Keep the load generator's own garbage collector out of the latencies it measures.
    gc.collect()
    gc.freeze()

    publishers = []
    for _ in range(args.publishers):
        ws = await connect(ws_url, subprotocols=["liaison.v1.json"], max_queue=None)  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "hello", "token": tokens["writer"]}))
        await ws.recv()
        publishers.append(ws)
    acked: dict[str, set[int]] = {c: set() for c in channel_ids}
    padding = "x" * max(0, args.size - 21)

    async def drain_acks(ws: Any) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    acked[frame["channel"]].add(frame["seq"])
        except Exception:
            pass

    ack_tasks = [asyncio.create_task(drain_acks(ws)) for ws in publishers]
    interval = 1.0 / args.rate
    sent = 0
    begin = time.perf_counter()
    deadline = begin + args.duration
    while time.perf_counter() < deadline:
        target = int((time.perf_counter() - begin) / interval)
        while sent < target:
            ws = publishers[sent % len(publishers)]
            channel = channel_ids[sent % len(channel_ids)]
            text = f"{time.time():<20.6f}" + " " + padding
            await ws.send(json.dumps({"type": "publish", "channel": channel, "text": text,
                                      "client_msg_id": uuid.uuid4().hex}))
            sent += 1
        await asyncio.sleep(interval / 2)
    elapsed = time.perf_counter() - begin
    # Let acks and deliveries drain: wait until nothing moved for 2 s (30 s at most),
    # so "lost" counts only what never arrives.
    last_count, quiet = -1, 0.0
    for _ in range(300):
        count = sum(len(s.latencies) for s in subs) + sum(len(v) for v in acked.values())
        quiet = quiet + 0.1 if count == last_count else 0.0
        if quiet >= 2.0:
            break
        last_count = count
        await asyncio.sleep(0.1)
    drained = time.perf_counter() - begin

    latencies = sorted(lat for s in subs for lat in s.latencies)
    delivered = len(latencies)
    expected = sum(len(acked[s.channel]) for s in subs)
    lost = sum(len(acked[s.channel] - s.seen) for s in subs)
    result = {
        "engine": args.engine, "processes": args.processes, "connections": args.connections,
        "channels": args.channels, "rate": args.rate, "size": args.size,
        "duration": round(elapsed, 1), "published": sent,
        "acked": sum(len(v) for v in acked.values()),
        "delivered": delivered, "expected_deliveries": expected,
        "delivered_per_second": round(delivered / (drained - 2.0)),
        "p50_ms": round(_pct(latencies, 0.50) * 1000, 2) if latencies else None,
        "p99_ms": round(_pct(latencies, 0.99) * 1000, 2) if latencies else None,
        "p999_ms": round(_pct(latencies, 0.999) * 1000, 2) if latencies else None,
        "lost": lost, "duplicates": sum(s.dups for s in subs),
        "reordered": sum(s.reorders for s in subs),
        "connect_seconds": round(connect_seconds, 1), "rss_after": rss_after,
        "loadgen_max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    for ws in publishers + sockets:
        await ws.close()
    for t in ack_tasks:
        t.cancel()
    return result


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--engine", choices=["embedded", "redis"], default="embedded")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--channels", type=int, default=20)
    p.add_argument("--rate", type=float, default=200.0, help="publishes per second, total")
    p.add_argument("--size", type=int, default=200, help="message text bytes")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--publishers", type=int, default=4)
    p.add_argument("--sqlite-synchronous", default="FULL")
    args = p.parse_args()
    if args.processes > 1 and args.engine != "redis":
        p.error("--processes > 1 needs --engine redis")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
