"""Several hub processes on one Redis act as one hub."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hub.config import Settings
from tests.conftest import RunningHub, WsClient
from tests.procs import HubProcess
from tests.redis_support import (
    RedisServer,
    cleanup,
    cluster_url,
    kill_pubsub,
    new_prefix,
    redis_url,
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=["redis", "cluster"])
def redis_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """The Redis engine on one server, and on a Redis Cluster of three masters."""
    url, prefix = redis_url() if request.param == "redis" else cluster_url(), new_prefix()
    yield Settings(data_dir=tmp_path / "data", engine=url, redis_prefix=prefix,
                   publish_rate=10_000.0, publish_burst=10_000, revocation_poll_seconds=0.2,
                   presence_ttl_seconds=2.0)
    cleanup(url, prefix)


async def two_nodes(start_hub: Callable[..., Any],
                    settings: Settings) -> tuple[RunningHub, RunningHub]:
    a: RunningHub = await start_hub(settings)
    b: RunningHub = await start_hub(settings, seeded=False)
    b.ops, b.channels = a.ops, a.channels
    return a, b


async def test_clients_on_two_nodes_see_the_same_channel(start_hub, redis_settings) -> None:  # type: ignore[no-untyped-def]
    a, b = await two_nodes(start_hub, redis_settings)
    ch = a.ch("A/general")
    alice, olga = await a.client("alice"), await a.client("olga")
    bruno = await b.client("bruno")
    for c in (alice, olga, bruno):
        await c.subscribe(ch)

    async def burst(client: WsClient, who: str) -> None:
        for i in range(150):
            ack = await client.publish(ch, f"{who} {i}")
            assert ack["type"] == "ack"

    await asyncio.gather(burst(alice, "alice"), burst(bruno, "bruno"))
    seen_a = await olga.messages(300, timeout=20)
    seen_b = await bruno.messages(300, timeout=20)
    assert [m["seq"] for m in seen_a] == list(range(1, 301))
    assert [(m["seq"], m["id"], m["text"]) for m in seen_a] == \
        [(m["seq"], m["id"], m["text"]) for m in seen_b]
    assert {m["sender"] for m in seen_a} == {"alice", "bruno"}


async def test_pubsub_connection_killed_during_burst(start_hub, redis_settings) -> None:  # type: ignore[no-untyped-def]
    a, b = await two_nodes(start_hub, redis_settings)
    ch = a.ch("A/general")
    listener = await b.client("bruno")
    await listener.subscribe(ch)
    alice = await a.client("alice")
    for i in range(400):
        assert (await alice.publish(ch, f"m{i}"))["type"] == "ack"
        if i in (100, 250):
            assert kill_pubsub(redis_settings.engine) >= 2  # both nodes' listeners
    got = await listener.messages(400, timeout=20)
    assert [m["seq"] for m in got] == list(range(1, 401))
    assert [m["text"] for m in got] == [f"m{i}" for i in range(400)]
    assert b.hub.engine.broker.reconnects >= 2  # type: ignore[attr-defined]
    for _ in range(100):
        if b.hub.engine.broker.healthy():
            break
        await asyncio.sleep(0.05)
    assert (await b.api("GET", "/readyz")).status_code == 200


async def test_killed_nodes_users_leave_presence(start_hub, redis_settings,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    a: RunningHub = await start_hub(redis_settings)
    ch = a.ch("A/general")
    node = await HubProcess(tmp_path / "b.log", engine=redis_settings.engine,
                            redis_prefix=redis_settings.redis_prefix,
                            presence_ttl_seconds=2, data_dir=tmp_path / "b").start()
    try:
        bruno = WsClient(await connect(node.ws_url, subprotocols=["liaison.v1.json"]),  # type: ignore[list-item]
                         "json")
        await bruno.send({"type": "hello", "token": await a.login("bruno")})
        assert (await bruno.recv())["type"] == "welcome"
        await bruno.subscribe(ch)
        alice = await a.client("alice")
        # Not alice.subscribe(): it skips presence frames while waiting for "subscribed",
        # and the one listing both may come first. presence_is reads every frame.
        await alice.send({"type": "subscribe", "channel": ch, "ref": "s-alice"})

        async def presence_is(names: set[str], timeout: float) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                frame = await alice.recv(timeout=max(0.05, deadline - loop.time()))
                if frame["type"] == "presence" and \
                        {u["username"] for u in frame["users"]} == names:
                    return

        await presence_is({"alice", "bruno"}, 5)
        node.kill9()
        started = asyncio.get_running_loop().time()
        await presence_is({"alice"}, 8)
        assert asyncio.get_running_loop().time() - started < 2 + 3  # ttl + sweep slack
    finally:
        node.stop()


async def test_clients_of_a_killed_node_recover_on_another(start_hub, redis_settings,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    b: RunningHub = await start_hub(redis_settings)
    ch = b.ch("A/general")
    node_a = await HubProcess(tmp_path / "a.log", engine=redis_settings.engine,
                              redis_prefix=redis_settings.redis_prefix,
                              data_dir=tmp_path / "a").start()
    tokens = {u: await b.login(u) for u in ("alice", "bruno")}

    async def connect_to(url: str, user: str) -> WsClient:
        c = WsClient(await connect(url, subprotocols=["liaison.v1.json"]), "json")  # type: ignore[list-item]
        await c.send({"type": "hello", "token": tokens[user]})
        assert (await c.recv())["type"] == "welcome"
        return c

    acked: dict[str, int] = {}
    outbox: dict[str, str] = {}
    sent: dict[str, str] = {}
    try:
        pub = await connect_to(node_a.ws_url, "alice")
        sub = await connect_to(node_a.ws_url, "bruno")
        await sub.subscribe(ch, since_seq=0)
        received: list[dict[str, Any]] = []

        async def publish_until_dropped() -> None:
            i = 0
            try:
                while True:
                    cmid = uuid.uuid4().hex
                    outbox[cmid] = sent[cmid] = f"report {i}"
                    i += 1
                    await pub.send({"type": "publish", "channel": ch, "text": outbox[cmid],
                                    "client_msg_id": cmid, "ref": cmid})
                    frame = await pub._recv_wire(5)
                    while frame["type"] != "ack":
                        frame = await pub._recv_wire(5)
                    acked[frame["client_msg_id"]] = frame["seq"]
                    outbox.pop(frame["client_msg_id"])
            except (ConnectionClosed, TimeoutError):
                return

        async def read_until_dropped() -> None:
            try:
                while True:
                    frame = await sub.recv(timeout=10)
                    if frame["type"] == "message":
                        received.append(frame)
            except (ConnectionClosed, TimeoutError):
                return

        publisher = asyncio.create_task(publish_until_dropped())
        reader = asyncio.create_task(read_until_dropped())
        while len(acked) < 150:
            await asyncio.sleep(0.01)
        node_a.kill9()
        await asyncio.wait_for(asyncio.gather(publisher, reader), 15)

        # Both clients fail over to node B and recover.
        pub = await connect_to(b.ws_url, "alice")
        for cmid, text in list(outbox.items()):  # resend the unacknowledged, same ids
            ack = await pub.publish(ch, text, cmid)
            assert ack["type"] == "ack"
            acked[cmid] = ack["seq"]
        last = received[-1]["seq"] if received else 0
        sub = await connect_to(b.ws_url, "bruno")
        await sub.subscribe(ch, since_seq=last)
        total = max(acked.values())
        received += await sub.messages(total - last, timeout=20)
        seqs = [m["seq"] for m in received]
        assert seqs == list(range(1, total + 1))  # no gap, no duplicate, in order
        by_seq = {m["seq"]: m for m in received}
        for cmid, seq in acked.items():
            assert by_seq[seq]["text"] == sent[cmid]  # every acked message, at its seq
        assert len({m["text"] for m in received}) == len(received)  # each stored once
    finally:
        node_a.stop()


async def test_redis_restart_during_traffic(start_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = RedisServer(appendonly=True, fsync="always").start()
    try:
        settings = Settings(data_dir=tmp_path / "data", engine=server.url,
                            redis_prefix=new_prefix(), publish_rate=10_000.0,
                            publish_burst=10_000, revocation_poll_seconds=0.2)
        hub: RunningHub = await start_hub(settings)
        ch = hub.ch("A/general")
        await hub.login("bruno")
        alice = await hub.client("alice")
        acked: dict[str, int] = {}
        refused: list[dict[str, Any]] = []
        pending: dict[str, str] = {}
        for i in range(60):
            if i == 30:
                server.kill()
            cmid = f"c{i}"
            pending[cmid] = f"msg {i}"
            reply = await alice.publish(ch, pending[cmid], cmid)
            if reply["type"] == "ack":
                acked[cmid] = reply["seq"]
                pending.pop(cmid)
            else:
                refused.append(reply)
            if i == 40:
                server.start()
        assert refused, "nothing was refused while Redis was down"
        assert all(r["code"] == "unavailable" and r["retryable"] for r in refused)
        # The hub recovers by itself; retrying the refused ids stores each once.
        for _ in range(100):
            if (await hub.api("GET", "/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await hub.api("GET", "/readyz")).status_code == 200
        for cmid, text in pending.items():
            for _ in range(50):  # as the protocol says: retry retryable errors, same id
                reply = await alice.publish(ch, text, cmid)
                if reply["type"] == "ack" or not reply["retryable"]:
                    break
                await asyncio.sleep(0.1)
            assert reply["type"] == "ack", reply
            acked[cmid] = reply["seq"]
        history = (await hub.api("GET", f"/api/channels/{ch}/messages?after_seq=0&limit=500",
                                 "bruno")).json()["messages"]
        stored = {m["text"]: m["seq"] for m in history}
        assert len(history) == 60 and sorted(stored.values()) == list(range(1, 61))
        for cmid, seq in acked.items():
            assert stored[f"msg {cmid[1:]}"] == seq
    finally:
        server.stop()





def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


async def test_serve_workers_share_the_redis_engine(start_hub, redis_settings,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path) -> None:
    seeded: RunningHub = await start_hub(redis_settings)
    ch = seeded.ch("A/general")
    node = await HubProcess(tmp_path / "w.log", "--workers", "2",
                            engine=redis_settings.engine,
                            redis_prefix=redis_settings.redis_prefix,
                            data_dir=tmp_path / "w").start()
    try:
        assert node.proc is not None and len(_children(node.proc.pid)) >= 2
        clients, nodes = [], set()
        for i in range(12):
            user = "alice" if i % 2 else "bruno"
            c = WsClient(await connect(node.ws_url, subprotocols=["liaison.v1.json"]),  # type: ignore[list-item]
                         "json")
            await c.send({"type": "hello", "token": await seeded.login(user)})
            welcome = await c.recv()
            nodes.add(welcome["node"])
            await c.subscribe(ch)
            clients.append(c)
        ack = await clients[1].publish(ch, "through the workers")
        assert ack["type"] == "ack"
        for c in clients:
            got = await c.messages(1)
            assert got[0]["text"] == "through the workers" and got[0]["seq"] == ack["seq"]
        for c in clients:
            await c.close()
        assert nodes  # which worker took each socket is the kernel's choice
    finally:
        node.stop()


async def test_workers_are_refused_on_the_embedded_engine(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "liaison", "--data-dir", str(tmp_path),
                             "serve", "--workers", "2"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "Redis engine" in result.stderr


async def test_per_user_limits_hold_across_processes_and_recover_after_a_kill(
        start_hub, redis_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    limits = {"max_connections_per_user": 4, "publish_rate": 0.01, "publish_burst": 4}
    a: RunningHub = await start_hub(redis_settings.replace(**limits))
    ch = a.ch("A/general")
    node = await HubProcess(tmp_path / "b.log", engine=redis_settings.engine,
                            redis_prefix=redis_settings.redis_prefix, presence_ttl_seconds=2,
                            data_dir=tmp_path / "b", **limits).start()
    token = await a.login("bruno")

    async def hello(url: str, ref: str) -> tuple[WsClient, dict[str, Any]]:
        c = WsClient(await connect(url, subprotocols=["liaison.v1.json"]), "json")  # type: ignore[list-item]
        await c.send({"type": "hello", "token": token, "ref": ref})
        return c, await c.recv(timeout=15)

    try:
        opened = []
        for i, url in enumerate([a.ws_url, node.ws_url, a.ws_url, node.ws_url]):
            c, reply = await hello(url, f"h{i}")
            assert reply["type"] == "welcome", reply
            opened.append(c)
        for url in (a.ws_url, node.ws_url):  # the fifth, on either process
            c, reply = await hello(url, "h5")
            assert reply["code"] == "too_many_connections" and reply["ref"] == "h5"
        # The publish rate is one bucket too: 4 (the burst) across both processes.
        results = []
        for c in opened:
            await c.subscribe(ch)
            results.append(await c.publish(ch, "m"))
        assert [r["type"] for r in results] == ["ack"] * 4
        extra = await opened[1].publish(ch, "one too many")
        assert extra["type"] == "error" and extra["code"] == "rate_limited"

        node.kill9()  # its two sockets stop counting within the TTL
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        reopened = 0
        while reopened < 2:
            c, reply = await hello(a.ws_url, "again")
            if reply["type"] == "welcome":
                reopened += 1
                continue
            assert reply["code"] == "too_many_connections"
            assert loop.time() < deadline, "the killed process's slots never expired"
            await asyncio.sleep(0.25)
        c, reply = await hello(a.ws_url, "over")
        assert reply["code"] == "too_many_connections"  # and the limit still holds
    finally:
        node.stop()


async def test_wrong_passwords_count_across_nodes(start_hub, redis_settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 24, finding 11: the login limit is the hub's, not each process's: wrong
    passwords alternating between two nodes meet it at the configured count."""
    a, b = await two_nodes(start_hub, redis_settings.replace(login_failures_per_account=4,
                                                              login_failures_per_address=100))
    answers = []
    for i in range(6):
        node = (a, b)[i % 2]
        assert node.http is not None
        r = await node.http.post("/api/auth/login",
                                 json={"username": "bruno", "password": "not his password"})
        answers.append(r.status_code)
    assert answers == [401, 401, 401, 401, 429, 429]
