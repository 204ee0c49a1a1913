"""Engines: the only package that knows which storage and broker run.

:func:`open_engine` reads ``Settings.engine`` and returns an
:class:`~hub.engine.port.Engine`; everything else talks to the port.
"""

from __future__ import annotations

from hub.audit import load_keys
from hub.config import ConfigError, Settings
from hub.engine.port import Engine
from hub.models import new_id

__all__ = ["Engine", "build_engine"]


def build_engine(settings: Settings) -> Engine:
    """Construct (not yet open) the engine named by ``settings.engine``."""
    try:
        audit_key = load_keys(settings.audit_key_path, create=True)[-1]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"audit_key_file: {exc}") from None
    if settings.engine == "embedded":
        from hub.engine.memory import MemoryBroker, MemoryLimits, MemoryPresence
        from hub.engine.sqlite import SqliteStore

        broker = MemoryBroker()
        store = SqliteStore(settings.database_path, synchronous=settings.sqlite_synchronous,
                            audit_key=audit_key, publish=broker.publish)
        return Engine(store=store, broker=broker, presence=MemoryPresence(),
                      limits=MemoryLimits(), name="embedded")
    if settings.engine.startswith(("redis://", "rediss://", "unix://")):
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        from hub.engine.redis_broker import RedisBroker
        from hub.engine.redis_limits import RedisLimits
        from hub.engine.redis_presence import RedisPresence
        from hub.engine.redis_store import RedisStore

        # A blocking pool: a burst waits for a free connection instead of failing.
        # health_check_interval: a connection idle for a while is pinged before use, so
        # connections broken by a Redis restart are replaced instead of failing a write.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.engine, max_connections=64, timeout=5, decode_responses=True,
            socket_timeout=5, socket_connect_timeout=3, health_check_interval=2)
        client = aioredis.Redis(connection_pool=pool)
        # The listener must see a broken connection, not have it silently re-made.
        listener = aioredis.from_url(settings.engine, decode_responses=False,
                                     socket_connect_timeout=3, retry=Retry(NoBackoff(), 0))
        prefix = settings.redis_prefix
        node_id = new_id("node")
        return Engine(
            store=RedisStore(client, prefix=prefix,
                             idempotency_seconds=settings.redis_idempotency_seconds,
                             audit_key=audit_key),
            broker=RedisBroker(client=client, listener=listener, prefix=prefix,
                               node_id=node_id),
            presence=RedisPresence(client, prefix=prefix, node_id=node_id,
                                   ttl=settings.presence_ttl_seconds),
            limits=RedisLimits(client, prefix=prefix, node_id=node_id,
                               ttl=settings.presence_ttl_seconds),
            name="redis")
    raise ConfigError(f"unknown engine {settings.engine!r}")
