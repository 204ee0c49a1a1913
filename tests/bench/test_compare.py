"""bench/compare.py still measures: each server it compares serves the same small load
and every message reaches every subscriber (no timing is asserted here)."""

from __future__ import annotations

import pytest

from bench.compare import (
    cpu_seconds,
    measure,
    measure_node,
    node_loader_missing,
    start,
    table,
)
from tests.conftest import STRICT


@pytest.mark.parametrize("name", ["websockets", "starlette", "hub"])
async def test_each_server_delivers_every_message_to_every_subscriber(name: str) -> None:
    server = await start(name, connections=5)
    try:
        assert cpu_seconds(server.proc.pid) >= 0
        result = await measure(server, 5, 20, 1.0)
    finally:
        server.stop()
    assert result["server"] == name and result["sent"] > 0
    assert result["delivered"] == result["expected"] == result["sent"] * 5
    assert result["kib_per_idle_conn"] is not None
    assert "| " + name + " | 5 x 20/s |" in table([result])


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
