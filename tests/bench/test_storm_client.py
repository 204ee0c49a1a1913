"""bench/storm_client.py still measures (no timing is asserted here): a phone-profile
page receives every alert of a storm live, draws For me and Alerts, pages the long
list, and the Long Tasks observer reports each phase."""

from __future__ import annotations

import argparse

import pytest

from tests.conftest import STRICT
from tests.web.conftest import chromium_path


async def test_the_storm_bench_sees_every_alert_and_reports_each_phase() -> None:
    if chromium_path() is None:
        reason = "Chromium not found: install it with 'apt-get install chromium'"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    from bench.storm_client import run

    result = await run(argparse.Namespace(alerts=60, throttle=1.0))
    assert result["alert_count"] == 60  # every alert reached the page, live
    assert result["rows_first_drawn"] == 50  # the long list is paged
    assert set(result["phases"]) == {"storm", "for_me", "alerts", "more"}
    for figures in result["phases"].values():
        assert set(figures) == {"over_50ms", "over_200ms", "longest_ms"}
