"""Fixtures for the core's tests: every engine, opened on its own data.

``cluster`` is the Redis engine on a Redis Cluster of three masters (with a
replica each) that the test session starts once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.config import Settings
from hub.engine import Engine, build_engine
from tests.redis_support import cleanup, cluster_url, new_prefix, redis_url

ENGINES = ["embedded", "redis", "cluster"]


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    prefix = new_prefix()
    url = {"redis": redis_url, "cluster": cluster_url}.get(request.param, lambda: "embedded")()
    eng = build_engine(Settings(data_dir=tmp_path, engine=url, redis_prefix=prefix))
    await eng.store.open()
    yield eng
    await eng.broker.close()
    await eng.store.close()
    if request.param != "embedded":
        cleanup(url, prefix)
