"""The Redis engine on a Redis Cluster: a master failover under traffic loses nothing.

The cluster is this test's own (three masters, a replica each): the failover
changes its roles. Two hub nodes share it; alice publishes on one, bruno
listens on the other, and a third of the way through the masters holding the
chat channel's slot and the directory's slot hand over to their replicas
(``CLUSTER FAILOVER``, the coordinated failover an operator or an orchestrator
runs; asked again if a busy machine made Redis abort it), while the traffic
goes on until both have happened. Every publish is retried with its
client_msg_id until acknowledged, as the protocol tells clients to;
afterwards every acknowledged message is stored once at its acknowledged seq,
the log has no gap, and bruno got them all in order (live, or recovered when
his node's listener re-subscribed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from hub.config import Settings
from tests.conftest import RunningHub, WsClient
from tests.redis_support import RedisClusterServers, RedisServer, new_prefix

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers().start()
    yield servers
    servers.stop()


def owner_and_replica(servers: RedisClusterServers, key: str) -> tuple[RedisServer,
                                                                       RedisServer]:
    """The node serving ``key``'s slot and the replica that follows it."""
    slot = key_slot(key.encode())
    r = redis.Redis(port=servers.nodes[0].port, decode_responses=True)
    try:
        lines = [line.split() for line in str(r.execute_command("CLUSTER", "NODES")).splitlines()]
    finally:
        r.close()
    by_id = {f[0]: int(f[1].split(":")[1].split("@")[0]) for f in lines}
    master_id = next(f[0] for f in lines if "master" in f[2] and any(
        _covers(part, slot) for part in f[8:]))
    replica_id = next((f[0] for f in lines if f[3] == master_id), None)
    assert replica_id is not None, f"no replica follows the master of slot {slot} yet"
    port_of = {n.port: n for n in servers.nodes}
    return port_of[by_id[master_id]], port_of[by_id[replica_id]]


def _covers(part: str, slot: int) -> bool:
    if part.startswith("["):  # a slot being migrated
        return False
    low, _, high = part.partition("-")
    return int(low) <= slot <= int(high or low)


async def fail_over(master: RedisServer,
                    replica: RedisServer, timeout: float = 90.0) -> None:
    """Ask ``replica`` to take over from ``master`` until it has.

    A coordinated failover the master cannot complete in time (a busy machine)
    is aborted by Redis and the roles stay: the request is then made again.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await asyncio.to_thread(_command, replica.port, "CLUSTER", "FAILOVER")
        asked = loop.time()
        while loop.time() < min(asked + 15.0, deadline):
            if await asyncio.to_thread(role, replica.port) == "master":
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{replica.port} never took over from {master.port}")


def _command(port: int, *args: str) -> None:
    r = redis.Redis(port=port)
    try:
        r.execute_command(*args)
    except redis.ResponseError as e:  # e.g. a failover already under way
        if "in progress" not in str(e).lower():
            raise
    finally:
        r.close()


async def until(test: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not test():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def role(port: int) -> str:
    r = redis.Redis(port=port, decode_responses=True)
    try:
        return str(r.execute_command("ROLE")[0])
    finally:
        r.close()


async def publish_until_acked(alice: WsClient, ch: str, text: str, cmid: str) -> dict[str, Any]:
    for _ in range(600):
        try:
            reply = await alice.publish(ch, text, cmid)
        except TimeoutError:
            # No answer yet: mid-failover the hub may take longer than the
            # client waits (its own Redis timeout is 5 s). A client sends the
            # same client_msg_id again; the hub acknowledges it once.
            continue
        if reply["type"] == "ack" or not reply.get("retryable"):
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError(f"{cmid} was never acknowledged")


async def test_a_master_failover_under_traffic_loses_nothing_acked(
        cluster: RedisClusterServers, start_hub: Callable[..., Any], tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", engine=cluster.url,
                        redis_prefix=new_prefix(), publish_rate=10_000.0,
                        publish_burst=10_000, revocation_poll_seconds=0.2)
    a: RunningHub = await start_hub(settings)
    b: RunningHub = await start_hub(settings, seeded=False)
    b.ops, b.channels = a.ops, a.channels
    ch = a.ch("A/general")
    bruno = await b.client("bruno")
    await bruno.subscribe(ch)
    alice = await a.client("alice")

    # Both owners are read before anything moves: read during a failover, the
    # shard that is swapping roles may list its new master with no replica yet.
    channel = owner_and_replica(cluster, f"{settings.redis_prefix}ch:{{{ch}}}")
    directory = owner_and_replica(cluster, f"{settings.redis_prefix}{{dir}}:users")
    moves = [channel] if directory[0].port == channel[0].port else [channel, directory]

    # Traffic runs before, during and after the failovers: at least 240
    # messages, and on until every failover has happened.
    least, acked, failovers = 240, {}, None
    i = 0
    while i < least or failovers is None or not failovers.done():
        if i == least // 3:
            failovers = asyncio.gather(*(fail_over(old, new) for old, new in moves))
        reply = await publish_until_acked(alice, ch, f"m{i}", f"c{i}")
        assert reply["type"] == "ack", reply
        acked[f"m{i}"] = reply["seq"]
        i += 1
        if i >= least:  # still waiting for a failover: keep the traffic light
            await asyncio.sleep(0.02)
    await failovers
    total = len(acked)

    for old, new in moves:  # the failover really happened, and the old master follows
        await until(lambda old=old.port, new=new.port: role(new) == "master"
                    and role(old) == "slave", "the replica to take over")
    assert sorted(acked.values()) == list(range(1, total + 1))
    history: list[dict[str, Any]] = []
    while True:  # page through the log
        after = history[-1]["seq"] if history else 0
        page = (await a.api("GET", f"/api/channels/{ch}/messages?after_seq={after}&limit=500",
                            "bruno")).json()["messages"]
        if not page:
            break
        history += page
    assert {m["text"]: m["seq"] for m in history} == acked and len(history) == total
    got = await bruno.messages(total, timeout=60)
    assert [m["seq"] for m in got] == list(range(1, total + 1))
    for hub in (a, b):  # each node's listener noticed, and found the new masters
        assert hub.hub.engine.broker.reconnects >= 1  # type: ignore[attr-defined]
        await until(lambda hub=hub: hub.hub.engine.broker.healthy(), "a healthy listener")
        assert (await hub.api("GET", "/readyz")).status_code == 200
    # The directory served logins through it all, and still does.
    assert await a.login("olga")
