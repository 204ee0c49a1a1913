"""End to end: p99 from a case update to the alert frame at a subscriber, with N rules.

Seeds an operation with C cases and N rules (the five shapes of bench/rules.py,
plus the rule under test: ``severity == "critical"``), starts the hub as a real
process (`liaison serve`), subscribes a WebSocket client to the operation
feed, then K times: raises a random case to critical over REST (the update's
send time is t0) and waits for the ``alert`` ``fired`` event for that case
(t1); then lowers it again (which resolves the alert). Reports t1 - t0 at
p50/p99/max and the case events per second the hub sustained meanwhile.

    .venv/bin/python bench/alerts_e2e.py --rules 100
    .venv/bin/python bench/alerts_e2e.py --rules 1000
    .venv/bin/python bench/alerts_e2e.py --rules 1000 --engine redis
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from alerting.rules.rulefile import RuleFile, apply_rule_file
from bench.common import PASSWORD, bench_operation, free_port
from hub.config import Settings
from liaison_client import Client, OpEvent

SHAPES = [
    'severity == "critical" and fields.casualties >= {n}',
    "fields.casualties >= {n}",
    'severity >= "major" and since_update > {n}m',
    'category == "casualty" and fields.people_affected > {n}',
    'status != "closed" and not exercise and fields.casualties > {n}',
]


async def seed(settings: Settings, rules: int) -> str:
    async with bench_operation(settings, ("officer",)) as (services, _, op):
        docs = [{"id": f"r{i}", "when": SHAPES[i % len(SHAPES)].format(n=i % 50 + 1)}
                for i in range(rules)]
        docs.append({"id": "critical", "when": 'severity == "critical"',
                     "severity": "critical", "summary": "{title} is critical"})
        await apply_rule_file(services.hub.engine.store, op.id, RuleFile(docs, []), actor="bench",
                              now=time.time())
        return str(op.id)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="liaison-bench-"))
    prefix = f"liaison-bench:{uuid.uuid4().hex[:8]}:"
    engine = "embedded" if args.engine == "embedded" else args.redis_url
    settings = Settings(data_dir=tmp / "data", engine=engine, redis_prefix=prefix)
    op = await seed(settings, args.rules)
    port = free_port()
    env = {**os.environ, "LIAISON_DATA_DIR": str(settings.data_dir), "LIAISON_PORT": str(port),
           "LIAISON_ENGINE": engine, "LIAISON_REDIS_PREFIX": prefix,
           "LIAISON_PUBLISH_RATE": "100000", "LIAISON_LOG_LEVEL": "WARNING"}
    log = (tmp / "hub.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "liaison"), "serve"],  # noqa: ASYNC220 - started once
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            r = await http.post("/api/auth/login", json={"username": "officer",
                                                         "password": PASSWORD, "bearer": True})
            auth = {"Authorization": f"Bearer {r.json()['token']}"}
            cases = []
            for i in range(args.cases):
                r = await http.post(f"/api/operations/{op}/cases", headers=auth,
                                    json={"title": f"case {i}", "severity": "minor",
                                          "category": "incident",
                                          "fields": {"casualties": 0, "people_affected": 0}})
                cases.append(r.json())
            return await measure(args, http, auth, op, port, cases)
    except BaseException:
        log.flush()
        print((tmp / "hub.log").read_text()[-6000:], file=sys.stderr)  # the hub's side of it
        raise
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if args.engine == "redis":
            import redis

            client = redis.Redis.from_url(args.redis_url)
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)


async def measure(args: argparse.Namespace, http: httpx.AsyncClient, auth: dict[str, str],
                  op: str, port: int, cases: list[dict[str, Any]]) -> dict[str, Any]:
    rng = random.Random(7)
    latencies: list[float] = []
    fired: dict[str, float] = {}
    waiting: dict[str, asyncio.Future[float]] = {}
    resolving: dict[str, asyncio.Future[float]] = {}
    async with Client(f"ws://127.0.0.1:{port}/ws", auth["Authorization"][7:], fmt="json",
                      name="bench/alerts_e2e") as bot:
        await bot.subscribe(f"ops:{op}")

        async def reader() -> None:
            async for f in bot.frames():
                if not isinstance(f, OpEvent) or f.kind != "alert" or f.record is None:
                    continue
                if f.action == "fired":
                    case_id = f.record["case_id"]
                    fired[case_id] = time.perf_counter()
                    fut = waiting.pop(case_id, None)
                    if fut is not None and not fut.done():
                        fut.set_result(fired[case_id])
                elif f.action == "resolved":
                    done = resolving.pop(f.record["case_id"], None)
                    if done is not None and not done.done():
                        done.set_result(time.perf_counter())

        task = asyncio.create_task(reader())
        started, events = time.perf_counter(), 0
        for _ in range(args.updates):
            case = rng.choice(cases)
            fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            waiting[case["id"]] = fut
            t0 = time.perf_counter()
            r = await http.patch(f"/api/operations/{op}/cases/{case['id']}", headers=auth,
                                 json={"version": case["version"], "severity": "critical"})
            case.update(r.json())
            t1 = await asyncio.wait_for(fut, 10)
            latencies.append(t1 - t0)
            resolved: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            resolving[case["id"]] = resolved
            r = await http.patch(f"/api/operations/{op}/cases/{case['id']}", headers=auth,
                                 json={"version": case["version"], "severity": "minor"})
            case.update(r.json())
            # Each round starts from a quiet pipeline: the alert is resolved (writes
            # return before the pipeline acts, so without this wait a round would
            # also time the previous round's resolution).
            await asyncio.wait_for(resolved, 10)
            events += 2
        elapsed = time.perf_counter() - started
        task.cancel()
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {"engine": args.engine, "rules": args.rules + 1, "cases": args.cases,
            "updates": args.updates, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": round(latencies[-1] * 1000, 1),
            "case_events_per_s": round(events / elapsed, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rules", type=int, default=1000)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--updates", type=int, default=300)
    p.add_argument("--engine", choices=["embedded", "redis"], default="embedded")
    p.add_argument("--redis-url", default=os.environ.get("LIAISON_TEST_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    print(json.dumps(asyncio.run(run(p.parse_args()))))


if __name__ == "__main__":
    main()
