"""hub/gcpolicy.py: live objects frozen out of routine collections, a full one now and then."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hub.gcpolicy import GcPolicy


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_tick_freezes_what_is_alive() -> None:
    GcPolicy(enabled=True, full_every=3600).tick()
    assert gc.get_freeze_count() > 0


def test_disabled_it_does_nothing() -> None:
    policy = GcPolicy(enabled=False, full_every=0)
    policy.tick()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    policy.release()
    assert gc.get_freeze_count() > 0  # not its business when disabled


def test_a_full_collection_frees_cycles_among_frozen_objects_when_due(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("hub.gcpolicy.time.monotonic", lambda: clock[0])
    policy = GcPolicy(enabled=True, full_every=60)

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle
    policy.tick()  # frozen with everything else
    collected = []

    ref = weakref.ref(a, lambda _: collected.append(True))
    del a, b
    gc.collect()
    assert not collected  # frozen: the collector skips it
    clock[0] += 61
    policy.tick()  # due: unfreeze, collect, freeze again
    assert collected and ref() is None


def test_release_unfreezes() -> None:
    policy = GcPolicy(enabled=True, full_every=3600)
    policy.tick()
    policy.release()
    assert gc.get_freeze_count() == 0
