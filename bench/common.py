"""What the benchmarks share: a free port, a bench operation seeded in the store, a process tree."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from channels.admin_bodies import NewOperation
from hub.config import Settings
from hub.models import Operation
from hub.principal import Principal
from liaison.app import build_services

PASSWORD = "bench password 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def bench_operation(settings: Settings, members: tuple[str, ...]) -> AsyncIterator[
        tuple[Any, Principal, Operation]]:
    """Open the store, create an admin, operation BENCH and its members; yield (hub, admin, op).

    The hub is not served: the benchmark starts real processes on the same data afterwards.
    """
    services = build_services(settings)
    hub = services.hub
    await hub.engine.store.open()
    try:
        root = await hub.auth.create_user(username="bench-admin", display_name="Bench",
                                          agency="HUB", password=PASSWORD, is_admin=True,
                                          actor="bench")
        admin = Principal(root, "bench", "session", None, None)
        op = await services.channels.create_operation(
            admin, NewOperation(code="BENCH", name="Bench"), "bench")
        for name in members:
            await hub.auth.create_user(username=name, display_name=name, agency="BENCH",
                                       password=PASSWORD, actor="bench")
            await services.channels.set_member(admin, op.id, name, "member", "bench")
        yield services, admin, op
    finally:
        await hub.engine.broker.close()
        await hub.engine.store.close()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its direct children (the workers ``liaison serve --workers`` forks)."""
    return [pid] + [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                    if _ppid(p) == pid]


def _ppid(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
