"""The data schema each engine writes, by engine name (``liaison --version``, backups).

Each engine keeps its own number with its data (docs/architecture.md, "Schema
versions"): SQLite in ``PRAGMA user_version``, Redis in the ``layout`` key.
"""

from __future__ import annotations

from hub.engine.redis_keys import LAYOUT
from hub.engine.sqlite_db import SCHEMA_VERSION

__all__ = ["SCHEMAS"]

SCHEMAS: dict[str, int] = {"embedded": SCHEMA_VERSION, "redis": LAYOUT}
