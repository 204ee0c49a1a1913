"""hub/engine/redis_connect.py: the cluster URL, and which client each URL gets."""

from __future__ import annotations

import asyncio
import string
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from hub.config import ConfigError, Settings
from hub.engine.redis_connect import (
    ClusterShards,
    GatedCluster,
    SingleShard,
    connect,
    parse_cluster_url,
)
from tests.redis_support import cluster_url, free_port

# Built from characters, not st.from_regex: importing hypothesis's regex support
# inside a running example tripped CPython 3.11's AST recursion check once in CI.
_label = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1,
                 max_size=12)
hosts = st.lists(_label, min_size=1, max_size=3).map(lambda parts: "h" + ".".join(parts))
ports = st.integers(min_value=1, max_value=65535)


@given(st.lists(st.tuples(hosts, ports), min_size=1, max_size=6),
       st.one_of(st.none(), st.text(min_size=1, max_size=30)), st.booleans())
def test_seed_nodes_and_credentials_read_back(nodes: list[tuple[str, int]],
                                              password: str | None, tls: bool) -> None:
    auth = f":{quote(password, safe='')}@" if password else ""
    url = ("rediss" if tls else "redis") + "+cluster://" + auth + ",".join(
        f"{h}:{p}" for h, p in nodes)
    seed = parse_cluster_url(url)
    assert list(seed.nodes) == nodes
    assert seed.options.get("password") == password
    assert seed.options.get("ssl", False) is tls


def test_a_user_name_and_a_default_port() -> None:
    seed = parse_cluster_url("redis+cluster://ops:s%40cret@r1,r2:7000/")
    assert seed.nodes == (("r1", 6379), ("r2", 7000))
    assert seed.options == {"username": "ops", "password": "s@cret"}


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://:1", "redis+cluster://a,,b"])
def test_a_seed_that_is_not_host_port_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_cluster_url(url)


def test_settings_take_a_cluster_url_and_refuse_braces_in_the_prefix() -> None:
    assert Settings(engine="redis+cluster://a:1,b:2").engine.startswith("redis+cluster")
    with pytest.raises(ConfigError, match="braces"):
        Settings(redis_prefix="hub{1}:")
    with pytest.raises(ConfigError, match="redis\\+cluster"):
        Settings(engine="cluster://a:1")


async def test_each_url_gets_its_client_and_shards() -> None:
    client, shards = connect("redis://127.0.0.1:1/0")
    assert isinstance(shards, SingleShard) and shards.tag_on("redis") == ""
    await client.aclose()
    await shards.aclose()
    client, shards = connect(cluster_url())
    try:
        assert isinstance(client, GatedCluster) and isinstance(shards, ClusterShards)
        masters = await shards.masters()
        assert len(masters) == 3
        for name in masters:  # a heartbeat channel lands on each master
            tag = shards.tag_on(name)
            assert shards.owner(f"P:node:n1{tag}")[0] == name
            assert shards.owner(tag)[1] == key_slot(tag.encode())
    finally:
        await client.aclose()
        await shards.aclose()


async def test_an_unreachable_cluster_is_unavailable_and_the_listener_keeps_trying(
        tmp_path: Path) -> None:
    """The cluster client's "cannot connect" is not a RedisError: it must still map to
    Unavailable (a retryable error frame, never a 500) and not end the listener."""
    from hub.config import Settings
    from hub.engine import build_engine
    from hub.errors import Unavailable

    port = free_port()  # nothing listens there
    eng = build_engine(Settings(data_dir=tmp_path, engine=f"redis+cluster://127.0.0.1:{port}"))
    with pytest.raises(Unavailable):
        await eng.store.ping()
    calls: list[str] = []
    await eng.broker.start(lambda topic, event: calls.append(topic))
    try:
        listener = eng.broker._tasks[0]  # type: ignore[attr-defined]
        for _ in range(20):  # several reconnect attempts
            await asyncio.sleep(0.05)
        assert not listener.done() and not eng.broker.healthy()
    finally:
        await eng.broker.close()
        await eng.store.close()
