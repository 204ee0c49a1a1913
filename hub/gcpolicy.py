"""Keeping Python's cyclic garbage collector off the latency path.

With thousands of open connections the process holds millions of long-lived
objects (sockets, protocol state, tasks). CPython's full (generation 2)
collection walks all of them, which measured 300-600 ms at 5,000 connections
(docs/performance.md) and showed up directly as p99 delivery latency.

The policy: every housekeeping tick, ``gc.freeze()`` moves everything alive
into the permanent generation, which the collector skips, so routine
collections only look at recent objects. Frozen objects are still freed by
reference counting as usual; only garbage *cycles* among them wait, until a
full ``unfreeze + collect`` every ``full_every`` seconds (one pause per
interval instead of one every few seconds).
"""

from __future__ import annotations

import gc
import time

__all__ = ["GcPolicy"]


class GcPolicy:
    def __init__(self, *, enabled: bool, full_every: float) -> None:
        self.enabled = enabled
        self.full_every = full_every
        self._last_full = time.monotonic()

    def tick(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_full >= self.full_every:
            self._last_full = now
            gc.unfreeze()
            gc.collect()
        gc.freeze()

    def release(self) -> None:
        if self.enabled:
            gc.unfreeze()
