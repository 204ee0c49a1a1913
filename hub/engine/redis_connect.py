"""Connecting to Redis: one server or a Redis Cluster, for the store and the listener.

The store, presence and limits talk to a *command client*: ``redis.asyncio.Redis``
for one server, ``RedisCluster`` for a cluster (it routes every command by its
key's slot and follows MOVED/ASK itself). Every key and script is hash-tagged
(:mod:`hub.engine.redis_keys`) so nothing crosses a slot.

The broker's listener needs more than routing: sharded pub/sub is delivered by
the master that owns a channel's slot, and a lost subscription must surface,
not be silently re-made. :class:`Shards` gives it one plain connection per
master (client retries off) and tells it which master owns a channel.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot

__all__ = ["ClusterShards", "CommandClient", "Shards", "SingleShard", "connect"]

#: What the store, presence and limits issue commands through.
CommandClient = aioredis.Redis | RedisCluster

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")


class Shards(Protocol):
    """The masters a listener subscribes on, and which of them owns a channel."""

    async def masters(self) -> dict[str, aioredis.Redis]:
        """Fresh topology: each master's name and a non-retrying client to it."""
        ...

    def owner(self, channel: str) -> tuple[str, int]:
        """The master owning ``channel`` (as of the last :meth:`masters`), and its slot."""
        ...

    def tag_on(self, master: str) -> str:
        """A hash tag (with braces) whose slot ``master`` owns, or "" on one server."""
        ...

    async def aclose(self) -> None: ...


class SingleShard:
    """One Redis server: one master, which owns everything."""

    NAME = "redis"

    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url, decode_responses=False, socket_connect_timeout=3,
                                         retry=Retry(NoBackoff(), 0))

    async def masters(self) -> dict[str, aioredis.Redis]:
        return {self.NAME: self._client}

    def owner(self, channel: str) -> tuple[str, int]:
        return self.NAME, 0

    def tag_on(self, master: str) -> str:
        return ""

    async def aclose(self) -> None:
        await self._client.aclose()


class ClusterShards:
    """A Redis Cluster: its masters as the command client last saw them."""

    def __init__(self, cluster: RedisCluster, options: dict[str, Any]) -> None:
        self._cluster = cluster
        self._options = options
        self._clients: dict[str, aioredis.Redis] = {}

    async def masters(self) -> dict[str, aioredis.Redis]:
        # Re-read the slot map: the listener asks after a failure, when a failover
        # may have moved slots to a promoted replica.
        await self._cluster.initialize()
        await self._cluster.nodes_manager.initialize()
        current = {node.name: node for node in self._cluster.get_primaries()}
        for name in set(self._clients) - set(current):
            await self._clients.pop(name).aclose()
        for name, node in current.items():
            if name not in self._clients:
                self._clients[name] = aioredis.Redis(
                    host=node.host, port=int(node.port), decode_responses=False,
                    socket_connect_timeout=3, retry=Retry(NoBackoff(), 0), **self._options)
        return dict(self._clients)

    def owner(self, channel: str) -> tuple[str, int]:
        slot = key_slot(channel.encode())
        return self._cluster.nodes_manager.get_node_from_slot(slot).name, slot

    def tag_on(self, master: str) -> str:
        for n in range(100_000):
            tag = f"{{{n}}}"
            if self.owner(tag)[0] == master:
                return tag
        raise RuntimeError(f"no slot of {master} found")  # pragma: no cover - 16384 slots

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class GatedCluster(RedisCluster):
    """A cluster client where a burst waits for a connection instead of failing.

    redis-py's cluster pool raises when a node's connections run out; one
    server's blocking pool makes the caller wait. This gate gives the cluster the
    same behaviour: at most ``in_flight`` commands at once, the rest queue.
    Pipelines (a few per minute) bypass it; the per-node limit leaves them room.
    """

    def __init__(self, *, in_flight: int, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "max_connections": in_flight * 2})
        self._gate = asyncio.Semaphore(in_flight)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._gate:
            return await super().execute_command(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class ClusterSeed:
    """A ``redis+cluster://`` URL: the seed nodes and the connection's options."""

    nodes: tuple[tuple[str, int], ...]
    options: dict[str, Any]


def parse_cluster_url(url: str) -> ClusterSeed:
    """``redis+cluster://[user:password@]host:port[,host:port...]`` (``rediss+`` for TLS)."""
    tls = url.startswith("rediss+")
    rest = url.split("://", 1)[1]
    auth, _, hosts = rest.rpartition("@")
    hosts = hosts.split("/", 1)[0]
    nodes = []
    for part in hosts.split(","):
        parsed = urlsplit(f"//{part}")
        if not parsed.hostname:
            raise ValueError(f"cluster seed {part!r} is not host:port")
        nodes.append((parsed.hostname, parsed.port or 6379))
    options: dict[str, Any] = {"ssl": True} if tls else {}
    if auth:
        user, sep, password = auth.partition(":")
        if sep:
            options["username"] = unquote(user) or None
            options["password"] = unquote(password)
        else:
            options["password"] = unquote(user)
    return ClusterSeed(tuple(nodes), options)


def connect(url: str) -> tuple[CommandClient, Shards]:
    """The command client and the listener's shards for an engine URL."""
    if url.startswith(CLUSTER_SCHEMES):
        seed = parse_cluster_url(url)
        # health_check_interval: a connection idle for a while is pinged before use,
        # so connections broken by a restart or failover are replaced, not failed.
        cluster = GatedCluster(startup_nodes=[ClusterNode(h, p) for h, p in seed.nodes],
                               in_flight=64, decode_responses=True, socket_timeout=5,
                               socket_connect_timeout=3, health_check_interval=2,
                               **seed.options)
        return cluster, ClusterShards(cluster, seed.options)
    # A blocking pool: a burst waits for a free connection instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=64, timeout=5, decode_responses=True, socket_timeout=5,
        socket_connect_timeout=3, health_check_interval=2)
    return aioredis.Redis.from_pool(pool), SingleShard(url)  # closing it closes the pool
