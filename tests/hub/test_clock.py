"""hub/clock.py: the system clock, and the manual one tests inject instead of sleeping."""

from __future__ import annotations

import time

from hub.clock import ManualClock, SystemClock


def test_the_system_clock_is_wall_time() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(100.0)
    assert clock.now() == clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5
    assert ManualClock().now() == 1_800_000_000.0
