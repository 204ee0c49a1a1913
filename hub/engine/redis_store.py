"""The Redis engine's store: everything the hub keeps, in Redis.

:class:`RedisStore` is :class:`hub.engine.port.Store` on one Redis server: the
key layout, scripts and error mapping are in :mod:`hub.engine.redis_db`, the
layout's upgrades in :mod:`hub.engine.redis_layout`, the methods in one module per
concern.
"""

from __future__ import annotations

from hub.engine.redis_identity import RedisIdentity
from hub.engine.redis_layout import upgrade
from hub.engine.redis_operations import RedisOperations
from hub.engine.redis_records import RedisRecords

__all__ = ["RedisStore"]


class RedisStore(RedisIdentity, RedisOperations, RedisRecords):
    """:class:`hub.engine.port.Store` on one Redis (or Redis-compatible) server."""

    async def open(self) -> None:
        """Check persistence, then bring the keyspace to the current layout."""
        await self.check_persistence()
        await upgrade(self.r, self.keys)
