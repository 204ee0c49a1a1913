"""Rule-engine throughput: case events evaluated per second with N rules.

Pure CPU (no hub, no sockets): one operation with C cases, N case rules of
mixed shapes, and a stream of updates to random cases, each followed by the
engine evaluation the hub runs per case event.

    .venv/bin/python bench/rules.py --rules 100
    .venv/bin/python bench/rules.py --rules 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.rules.engine import RuleEngine, parse_rule

SHAPES = [
    'severity == "critical"',
    "fields.casualties >= {n}",
    'severity >= "major" and since_update > {n}m',
    'category == "casualty" and fields.people_affected > {n}',
    'status != "closed" and not exercise and fields.casualties > {n}',
]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rules", type=int, default=100)
    p.add_argument("--cases", type=int, default=500)
    p.add_argument("--events", type=int, default=5000)
    args = p.parse_args()
    rng = random.Random(7)
    rules = [parse_rule({"id": f"r{i}", "when": SHAPES[i % len(SHAPES)].format(n=i % 50 + 1)})
             for i in range(args.rules)]
    rules.append(parse_rule({"id": "surge", "kind": "rate", "window": "1h", "threshold": 5,
                             "group_by": "category"}))
    engine = RuleEngine(rules)
    now = 1_800_000_000.0
    categories = ["incident", "casualty", "request", "detention"]
    cases = {f"c{i}": {"id": f"c{i}", "severity": "minor", "status": "open",
                       "category": rng.choice(categories), "exercise": False,
                       "fields": {"casualties": 0, "people_affected": 0},
                       "created_at": now - rng.random() * 7200, "updated_at": now}
             for i in range(args.cases)}
    engine.evaluate(cases, now)
    latencies, fired = [], 0
    start = time.perf_counter()
    for _ in range(args.events):
        now += 1.0
        cid = f"c{rng.randrange(args.cases)}"
        before = cases[cid]
        cases[cid] = {**before, "severity": rng.choice(["info", "minor", "major", "critical"]),
                      "fields": {"casualties": rng.randrange(60),
                                 "people_affected": rng.randrange(100)},
                      "updated_at": now}
        t = time.perf_counter()
        fired += len(engine.evaluate(cases, now, changed=[cid], previous={cid: before}))
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    latencies.sort()
    print(json.dumps({"rules": args.rules + 1, "cases": args.cases, "events": args.events,
                      "events_per_second": round(args.events / elapsed),
                      "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
                      "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
                      "decisions": fired}))


if __name__ == "__main__":
    main()
