"""Engines: the only package that knows which storage and broker run.

:func:`open_engine` reads ``Settings.engine`` and returns an
:class:`~hub.engine.port.Engine`; everything else talks to the port.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hub.audit import load_keys
from hub.config import REDIS_SCHEMES, ConfigError, Settings
from hub.engine.port import Engine, Snapshot
from hub.errors import BackupError
from hub.models import new_id

__all__ = ["Engine", "Snapshot", "build_engine", "engine_name", "has_data", "restore_snapshot",
           "take_snapshot"]


def engine_name(settings: Settings) -> str:
    """"embedded" or "redis": the engine ``settings`` name (the key of SCHEMAS)."""
    return "embedded" if settings.engine == "embedded" else "redis"


def take_snapshot(settings: Settings, workdir: Path) -> Snapshot:
    """A consistent copy of the configured engine's data in ``workdir``, taken while
    the hub may be serving (see hub/engine/backup_sqlite.py and backup_redis.py)."""
    if settings.engine == "embedded":
        from hub.engine import backup_sqlite

        return backup_sqlite.snapshot(settings.database_path, workdir)
    from hub.engine import backup_redis

    return backup_redis.snapshot(settings.engine, settings.redis_prefix, workdir)


def has_data(settings: Settings) -> bool:
    """Whether the configured engine already holds data (a restore needs it empty)."""
    if settings.engine == "embedded":
        from hub.engine import backup_sqlite

        return backup_sqlite.has_data(settings.database_path)
    from hub.engine import backup_redis

    return backup_redis.has_data(settings.engine, settings.redis_prefix)


def restore_snapshot(settings: Settings, parts: dict[str, Path], source: Mapping[str, object],
                     workdir: Path) -> None:
    """Put an archived snapshot into the configured, empty engine."""
    if settings.engine == "embedded":
        from hub.engine import backup_sqlite

        if backup_sqlite.PART not in parts:
            raise BackupError("the archive holds no SQLite database")
        backup_sqlite.restore(parts[backup_sqlite.PART], settings.database_path)
        return
    from hub.engine import backup_redis

    if backup_redis.PART not in parts:
        raise BackupError("the archive holds no Redis snapshot")
    backup_redis.restore(parts[backup_redis.PART], settings.engine, settings.redis_prefix,
                         source, workdir)


def build_engine(settings: Settings) -> Engine:
    """Construct (not yet open) the engine named by ``settings.engine``."""
    try:
        audit_key = load_keys(settings.audit_key_path, create=True)[-1]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"audit_key_file: {exc}") from None
    node_id = new_id("node")  # one per process: the node, the broker, presence, limits
    if settings.engine == "embedded":
        from hub.engine.memory import MemoryBroker, MemoryLimits, MemoryPresence
        from hub.engine.sqlite import SqliteStore

        broker = MemoryBroker()
        store = SqliteStore(settings.database_path, synchronous=settings.sqlite_synchronous,
                            audit_key=audit_key, publish=broker.publish)
        return Engine(store=store, broker=broker, presence=MemoryPresence(),
                      limits=MemoryLimits(), name="embedded", node_id=node_id)
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
        return Engine(
            store=RedisStore(client, prefix=prefix,
                             idempotency_seconds=settings.redis_idempotency_seconds,
                             audit_key=audit_key),
            broker=RedisBroker(client=client, shards=shards, prefix=prefix, node_id=node_id),
            presence=RedisPresence(client, prefix=prefix, node_id=node_id,
                                   ttl=settings.presence_ttl_seconds),
            limits=RedisLimits(client, prefix=prefix, node_id=node_id,
                               ttl=settings.presence_ttl_seconds),
            name="redis", node_id=node_id)
    raise ConfigError(f"unknown engine {settings.engine!r}")
