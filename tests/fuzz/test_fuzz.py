"""Each fuzz target of tests/fuzz/targets.py, for a fixed time (issue 24, item 4).

``LIAISON_FUZZ_SECONDS`` per target (default 2; .ci/run gives each 6). Rounds of
fresh random inputs run until the budget is spent; a failure is shrunk to the
smallest input and printed, then fails the test like any other.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.targets import TARGETS, Target

SECONDS = float(os.environ.get("LIAISON_FUZZ_SECONDS", "2"))


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_a_parser_returns_or_refuses_with_its_own_error(target: Target) -> None:
    rounds = examples = 0

    @settings(max_examples=200, database=None, deadline=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(target.inputs)
    def one_round(data: Any) -> None:
        nonlocal examples
        examples += 1
        try:
            target.check(data)
        except target.refusals:
            pass  # refused, naming what is wrong: what the hub answers 400 with

    deadline = time.monotonic() + SECONDS
    while rounds == 0 or time.monotonic() < deadline:
        one_round()
        rounds += 1
    assert examples >= 100, f"{target.name}: only {examples} inputs in {SECONDS:g} s"
