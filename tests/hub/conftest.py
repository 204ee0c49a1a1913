"""Fixtures for the core's tests: every engine, opened on its own data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.config import Settings
from hub.engine import Engine, build_engine
from tests.redis_support import cleanup, new_prefix, redis_url

ENGINES = ["embedded", "redis"]


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    prefix = new_prefix()
    url = redis_url() if request.param == "redis" else "embedded"
    eng = build_engine(Settings(data_dir=tmp_path, engine=url, redis_prefix=prefix))
    await eng.store.open()
    yield eng
    await eng.broker.close()
    await eng.store.close()
    if request.param == "redis":
        cleanup(url, prefix)
