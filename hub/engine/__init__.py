"""Engines: the only package that knows which storage and broker run.

:func:`open_engine` reads ``Settings.engine`` and returns an
:class:`~hub.engine.port.Engine`; everything else talks to the port.
"""

from __future__ import annotations

from hub.audit import load_keys
from hub.config import REDIS_SCHEMES, ConfigError, Settings
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
    if settings.engine.startswith(REDIS_SCHEMES):
        from hub.engine.redis_broker import RedisBroker
        from hub.engine.redis_connect import connect
        from hub.engine.redis_limits import RedisLimits
        from hub.engine.redis_presence import RedisPresence
        from hub.engine.redis_store import RedisStore

        try:
            client, shards = connect(settings.engine)
        except ValueError as exc:
            raise ConfigError(f"engine: {exc}") from None
        prefix = settings.redis_prefix
        node_id = new_id("node")
        return Engine(
            store=RedisStore(client, prefix=prefix,
                             idempotency_seconds=settings.redis_idempotency_seconds,
                             audit_key=audit_key),
            broker=RedisBroker(client=client, shards=shards, prefix=prefix, node_id=node_id),
            presence=RedisPresence(client, prefix=prefix, node_id=node_id,
                                   ttl=settings.presence_ttl_seconds),
            limits=RedisLimits(client, prefix=prefix, node_id=node_id,
                               ttl=settings.presence_ttl_seconds),
            name="redis")
    raise ConfigError(f"unknown engine {settings.engine!r}")
