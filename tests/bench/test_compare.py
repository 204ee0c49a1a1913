"""bench/compare.py still measures: each server it compares serves the same small load
and every message reaches every subscriber (no timing is asserted here)."""

from __future__ import annotations

import os

import pytest
import redis

from bench.compare import (
    cpu_seconds,
    measure,
    measure_node,
    node_loader_missing,
    start,
    table,
)
from bench.servers import TooFewCores
from tests.conftest import STRICT
from tests.redis_support import redis_url


@pytest.mark.parametrize("name", ["websockets", "starlette", "hub", "hub-redis"])
async def test_each_server_delivers_every_message_to_every_subscriber(name: str) -> None:
    url = redis_url()
    server = await start(name, connections=5, redis_url=url)
    try:
        assert cpu_seconds(server.proc.pid) >= 0
        result = await measure(server, 5, 20, 1.0)
    finally:
        server.stop()
    assert result["server"] == name and result["sent"] > 0
    assert result["delivered"] == result["expected"] == result["sent"] * 5
    assert result["kib_per_idle_conn"] is not None and result["deliveries_per_s"] > 0
    assert "| " + name + " | 5 x 20/s |" in table([result])
    if server.redis is not None:  # the hub's keys went with it
        prefix = server.redis[1]
        assert not list(redis.Redis.from_url(url).scan_iter(match=f"{prefix}*"))


async def test_two_processes_get_a_core_each_and_one_for_the_loader_or_do_not_run() -> None:
    """hub-redis-2 is the scale-out figure: its two processes and the load generator must
    not share cores, so a machine with fewer than three refuses it (this one may)."""
    if (os.cpu_count() or 1) < 3:
        with pytest.raises(TooFewCores, match="needs 3 cores"):
            await start("hub-redis-2", connections=5, redis_url=redis_url())
        return
    server = await start("hub-redis-2", connections=5, redis_url=redis_url())
    try:
        assert server.loader_cpu == 2
        result = await measure(server, 5, 20, 1.0)
    finally:
        server.stop()
    assert result["delivered"] == result["expected"] == result["sent"] * 5
    assert "hub-redis-2 / hub-redis" in table([{**result, "server": "hub-redis"}, result])


@pytest.mark.parametrize("name", ["websockets", "starlette", "hub"])
async def test_the_node_loader_sees_every_delivery_too(name: str) -> None:
    """bench/loader/load.mjs reads each server's frames (the baselines space their JSON,
    the hub does not) and reports the same counts as the Python loader."""
    why = node_loader_missing()
    if why is not None:
        if STRICT:
            pytest.fail(f"the Node.js load generator cannot run: {why}")
        pytest.skip(f"the Node.js load generator cannot run: {why}")
    server = await start(name, connections=5)
    try:
        result = await measure_node(server, 5, 20, 1.0)
    finally:
        server.stop()
    assert result["loader"] == "node" and result["sent"] > 0
    assert result["delivered"] == result["expected"] == result["sent"] * 5
    assert result["p50_ms"] is not None and result["p99_ms"] >= result["p50_ms"] >= 0
    assert result["deliveries_per_s"] > 0
