"""Engines: the only package that knows which storage and broker run.

:func:`open_engine` reads ``Settings.engine`` and returns an
:class:`~hub.engine.port.Engine`; everything else talks to the port.
"""

from __future__ import annotations

from hub.config import ConfigError, Settings
from hub.engine.port import Engine

__all__ = ["Engine", "build_engine"]


def build_engine(settings: Settings) -> Engine:
    """Construct (not yet open) the engine named by ``settings.engine``."""
    if settings.engine == "embedded":
        from hub.engine.memory import MemoryBroker, MemoryPresence
        from hub.engine.sqlite import SqliteStore

        store = SqliteStore(settings.database_path, synchronous=settings.sqlite_synchronous)
        return Engine(store=store, broker=MemoryBroker(), presence=MemoryPresence(),
                      name="embedded")
    raise ConfigError(f"unknown engine {settings.engine!r} (supported: embedded)")
