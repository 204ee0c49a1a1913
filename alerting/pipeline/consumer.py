"""Runs each operation's alert pipeline on one node at a time, as a consumer of its log.

A write (a case, an alert a bot pushed, a rule, a silence) returns as soon as
it is stored: the store appends the operation's log event and publishes it.
The node holding the ``alerting`` lease (:meth:`Store.claim_lease`) follows
every operation's log topic, so a published event wakes this loop, which runs
:meth:`alerting.pipeline.operation.Pipeline.run` for that operation outside any request.
Every tick it also renews the lease, follows operations created meanwhile, and
runs operations whose log is ahead of their cursor (events published while the
broker was away, or written by another process on the embedded engine) or
whose timers are due.

**Exactly once across nodes.** The pipeline keeps its cursor with the rule
engine's state, so a node that takes over after a crash resumes where the last
one stopped; its effects are safe even if two nodes briefly both act (see
:mod:`alerting.pipeline.operation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from alerting.pipeline.operation import PAGE, Pipeline
from alerting.pipeline.opstate import OpState
from hub.clock import Clock
from hub.engine.port import Store
from hub.handlers import LogTap
from hub.models import OperationId, OpEvent, ops_topic

__all__ = ["Evaluator"]

log = logging.getLogger("alerting.pipeline.consumer")

LEASE = "alerting"
TICK_SECONDS = 1.0


class Evaluator:
    def __init__(self, *, store: Store, clock: Clock, pipeline: Pipeline, tap: LogTap,
                 node_id: str, lease_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._pipeline = pipeline
        self._tap = tap
        self.node_id = node_id
        self._lease_seconds = lease_seconds
        self._ops: dict[str, OpState] = {}
        self._followed: set[str] = set()
        self._loading = asyncio.Lock()
        self._dirty: set[str] = set()
        self._heard: dict[str, list[OpEvent]] = {}  # events as published, not yet run
        self._woken = asyncio.Event()
        self.leader = False

    # --- leadership ----------------------------------------------------------------

    async def claim(self) -> bool:
        held = await self._store.claim_lease(LEASE, self.node_id, self._clock.now(),
                                             self._lease_seconds)
        if held != self.leader:
            self._ops.clear()  # gained: start from the store; lost: forget
            log.info("alerting lease %s", "taken" if held else "lost",
                     extra={"node": self.node_id})
        self.leader = held
        if not held:
            await self._unfollow_all()
        return held

    async def stop(self) -> None:
        await self._unfollow_all()
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await self._store.release_lease(LEASE, self.node_id)

    async def _unfollow_all(self) -> None:
        followed, self._followed = self._followed, set()
        for op_id in followed:
            with contextlib.suppress(Exception):
                await self._tap.unfollow(ops_topic(op_id), self)

    # --- the log (hub.handlers.LogFollower) -------------------------------------------

    def heard(self, event: OpEvent) -> None:
        """An operation's log grew: run its pipeline soon, outside the writer's request."""
        if self.leader:
            heard = self._heard.setdefault(event.operation_id, [])
            if len(heard) < PAGE:  # beyond a page the pipeline reads the log anyway
                heard.append(event)
            self._dirty.add(event.operation_id)
            self._woken.set()

    def missed(self) -> None:
        """The broker may have lost events: look at every operation again."""
        if self.leader:
            self._dirty.update(self._ops)
            self._woken.set()

    async def run(self) -> None:
        """Background loop: renew the lease and run timers each tick, pump when woken."""
        next_tick = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), TICK_SECONDS)
            self._woken.clear()
            try:
                while self._dirty:  # first: a write is waiting for its alerts
                    await self.pump(OperationId(self._dirty.pop()))
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    await self.tick()
            except Exception:
                log.exception("alert pipeline failed; retrying next tick")

    async def tick(self) -> None:
        """Renew the lease; run every operation with unread events or a due timer."""
        if not await self.claim():
            return
        for op in await self._store.list_operations():
            if op.id not in self._followed:
                await self._tap.follow(ops_topic(op.id), self)
                self._followed.add(op.id)
            rt = await self._runtime(op.id)
            _, head = await self._store.op_event_bounds(op.id)
            due = rt.next_due()
            if head > rt.cursor or rt.fresh or (due is not None and due <= self._clock.now()):
                await self.pump(op.id)

    async def pump(self, op_id: OperationId) -> None:
        """Run the operation's pipeline over its new events and due timers."""
        if not self.leader:
            return
        rt = await self._runtime(op_id)
        async with rt.lock:
            heard = self._heard.pop(op_id, [])
            await self._pipeline.run(rt, self._clock.now(), heard=heard)

    async def _runtime(self, op_id: OperationId) -> OpState:
        rt = self._ops.get(op_id)
        if rt is not None:
            return rt
        async with self._loading:
            rt = self._ops.get(op_id)
            if rt is None:
                rt = self._ops[op_id] = await self._pipeline.load(op_id)
            return rt
