"""Availability under hostile input: another client's publish -> delivery while one
client sends the worst documents we can build for every parser (issue 24, item 4).

Starts the hub as a real process (`liaison serve`, one worker) on a fresh
operation. A speaker publishes over a WebSocket at ``--rate`` messages a second
and a listener on another socket receives them; each message's publish ->
delivery time is measured, first with nobody else on the hub (baseline), then
while ``--attackers`` clients send every document of bench/hostile.py in turn,
as fast as the hub answers them (WebSocket frames on sockets that reconnect when
the hub closes them, REST and webhook bodies with a member's token). Reports
p50 / p99 / max for both phases, and what the hub answered the attackers.

    .venv/bin/python bench/hostile_load.py
    .venv/bin/python bench/hostile_load.py --messages 1000 --attackers 2 --rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from channels.admin_bodies import NewChannel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import PASSWORD, bench_operation, free_port
from bench.hostile import HOSTILE, Hostile
from hub.config import Settings

SUBPROTOCOL = {"ws-json": "liaison.v1.json", "ws-msgpack": "liaison.v1.msgpack"}


async def seed(settings: Settings) -> tuple[str, str]:
    async with bench_operation(settings, ("speaker", "listener", "attacker")) as (
            services, admin, op):
        await services.channels.set_member(admin, op.id, "attacker", "coordinator", "bench")
        ch = await services.channels.create_channel(admin, op.id, NewChannel(name="general"),
                                                    "bench")
        return str(op.id), str(ch.id)


async def _login(http: httpx.AsyncClient, user: str) -> str:
    r = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD,
                                                 "bearer": True})
    r.raise_for_status()
    return str(r.json()["token"])


async def _socket(url: str, token: str, subprotocol: str = "liaison.v1.json") -> ClientConnection:
    ws = await connect(url, subprotocols=[subprotocol], max_size=None)  # type: ignore[list-item]
    hello: Any = {"type": "hello", "token": token}
    if subprotocol.endswith("msgpack"):
        import msgpack

        await ws.send(msgpack.packb(hello))
    else:
        await ws.send(json.dumps(hello))
    await ws.recv()  # welcome
    return ws


async def latencies(url: str, tokens: dict[str, str], ch: str, count: int,
                    rate: float) -> list[float]:
    """Publish ``count`` messages at ``rate``/s; the seconds from each send to its delivery."""
    listener = await _socket(url, tokens["listener"])
    await listener.send(json.dumps({"type": "subscribe", "channel": ch, "ref": "s"}))
    while json.loads(await listener.recv()).get("type") != "subscribed":
        pass
    speaker = await _socket(url, tokens["speaker"])
    sent: dict[str, float] = {}
    got: list[float] = []
    done = asyncio.Event()

    async def listen() -> None:
        async for raw in listener:
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame.get("text") in sent:
                got.append(time.perf_counter() - sent[frame["text"]])
                if len(got) == count:
                    done.set()
                    return

    async def drain() -> None:  # acks and typing of the speaker's own socket
        with contextlib.suppress(ConnectionClosed):
            async for _ in speaker:
                pass

    tasks = [asyncio.create_task(listen()), asyncio.create_task(drain())]
    start = time.perf_counter()
    for i in range(count):
        text = f"m{i}-{start}"
        sent[text] = time.perf_counter()
        await speaker.send(json.dumps({"type": "publish", "channel": ch, "text": text,
                                       "client_msg_id": f"c{i}-{start}", "ref": f"p{i}"}))
        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
    await asyncio.wait_for(done.wait(), 120)
    for t in tasks:
        t.cancel()
    await speaker.close()
    await listener.close()
    return got


async def attack(base: str, url: str, token: str, op: str, hook: str,
                 stop: asyncio.Event, answers: collections.Counter[str]) -> None:
    """Send every hostile document in turn, in whole rounds, until ``stop``; count the
    hub's answers."""
    sockets: dict[str, ClientConnection] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while not stop.is_set():
            for h in HOSTILE:  # whole rounds: every document is sent at least once
                answers[f"{h.name}: {await _send(http, url, token, op, hook, h, sockets)}"] += 1
    for ws in sockets.values():
        await ws.close()


async def _send(http: httpx.AsyncClient, url: str, token: str, op: str, hook: str,
                h: Hostile, sockets: dict[str, ClientConnection]) -> str:
    if h.via in SUBPROTOCOL:
        try:
            ws = sockets.get(h.via)
            if ws is None:
                ws = sockets[h.via] = await _socket(url, token, SUBPROTOCOL[h.via])
            try:  # a JSON frame goes as text, unless it is not UTF-8 (then as it is)
                payload: str | bytes = h.body if h.via == "ws-msgpack" else h.body.decode()
            except UnicodeDecodeError:
                payload = h.body
            await ws.send(payload)
            await asyncio.wait_for(ws.recv(), 30)
            return "error frame"
        except (ConnectionClosed, TimeoutError) as exc:
            sockets.pop(h.via, None)
            code = exc.rcvd.code if isinstance(exc, ConnectionClosed) and exc.rcvd else "none"
            return f"closed {code}"
    path = hook if h.path == "{hook}" else h.path.format(op=op)
    r = await http.post(path, content=h.body, headers={
        "Content-Type": h.content_type, "Authorization": f"Bearer {token}"})
    return str(r.status_code)


def summary(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
            "max_ms": round(ms[-1], 2)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="liaison-hostile-"))
    settings = Settings(data_dir=tmp / "data")
    op, ch = await seed(settings)
    port = free_port()
    env = {**os.environ, "LIAISON_DATA_DIR": str(settings.data_dir), "LIAISON_PORT": str(port),
           "LIAISON_PUBLISH_RATE": "100000", "LIAISON_PUBLISH_BURST": "100000",
           "LIAISON_LOG_LEVEL": "WARNING", "LIAISON_MAX_RECEIVER_BODY_BYTES": str(1 << 20),
           "LIAISON_LOGIN_FAILURES_PER_ADDRESS": "100000",
           "LIAISON_WEBHOOK_POST_RATE": "100000", "LIAISON_WEBHOOK_POST_BURST": "100000"}
    log = (tmp / "hub.log").open("w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "liaison"), "serve"],  # noqa: ASYNC220 - started once
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base, url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            tokens = {u: await _login(http, u) for u in ("speaker", "listener", "attacker")}
            r = await http.post(f"/api/operations/{op}/webhooks", json={
                "name": "hostile", "channel": ch},
                headers={"Authorization": f"Bearer {tokens['attacker']}"})
            r.raise_for_status()
            hook = str(r.json()["path"])
        baseline = await latencies(url, tokens, ch, args.messages, args.rate)
        stop, answers = asyncio.Event(), collections.Counter[str]()
        attackers = [asyncio.create_task(attack(base, url, tokens["attacker"], op, hook, stop,
                                                answers)) for _ in range(args.attackers)]
        await asyncio.sleep(1.0)  # the attack is under way before measuring
        attacked = await latencies(url, tokens, ch, args.messages, args.rate)
        stop.set()
        await asyncio.gather(*attackers)
        return {"messages": args.messages, "rate_per_s": args.rate,
                "attackers": args.attackers, "baseline": summary(baseline),
                "under_attack": summary(attacked),
                "hostile_requests": sum(answers.values()),
                "answers": dict(sorted(answers.items()))}
    except BaseException:
        log.flush()
        print((tmp / "hub.log").read_text()[-6000:], file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=600)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--attackers", type=int, default=2)
    print(json.dumps(asyncio.run(run(p.parse_args())), indent=1))


if __name__ == "__main__":
    main()
