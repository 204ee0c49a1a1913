"""The embedded engine's store: SQLite in WAL mode, driven from one thread.

:class:`SqliteStore` is :class:`hub.engine.port.Store` on one SQLite file: the
plumbing and its guarantees are in :mod:`hub.engine.sqlite_db`, the methods in
one module per concern.
"""

from __future__ import annotations

from hub.engine.sqlite_identity import SqliteIdentity
from hub.engine.sqlite_operations import SqliteOperations
from hub.engine.sqlite_records import SqliteRecords

__all__ = ["SqliteStore"]


class SqliteStore(SqliteIdentity, SqliteOperations, SqliteRecords):
    """:class:`hub.engine.port.Store` on one SQLite file."""
