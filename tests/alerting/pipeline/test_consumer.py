"""alerting/pipeline/consumer.py without sockets: the lease, following the log, the background loop.

The embedded store and broker are real; a write made through a service is
published by the store, heard through the node, and acted on by the loop
outside the writer's call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from alerting.bodies import NewCase
from alerting.kinds import ALERT
from alerting.pipeline.consumer import LEASE, Evaluator
from hub.models import OperationId, OpEvent, ResyncEvent, ops_topic
from tests.conftest import Embedded

RULE = {"id": "crit", "when": 'severity == "critical"', "summary": "{title} is critical"}


class Watcher:
    """A second follower of the operation's log: sees what the pipeline writes."""

    def __init__(self) -> None:
        self.events: list[OpEvent] = []
        self.changed = asyncio.Event()
        self.missed_count = 0

    def heard(self, event: OpEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def missed(self) -> None:
        self.missed_count += 1

    async def wait_for(self, kind: str, action: str, timeout: float = 20.0) -> OpEvent:
        async def find() -> OpEvent:
            while True:
                for e in self.events:
                    if e.kind == kind and e.action == action:
                        return e
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def loop(embedded: Embedded) -> AsyncIterator[Evaluator]:
    """The evaluator's background loop, as the app runs it."""
    evaluator = embedded.services.evaluator
    await evaluator.tick()
    task = asyncio.create_task(evaluator.run())
    yield evaluator
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


def _op(embedded: Embedded) -> OperationId:
    return OperationId(embedded.ops["A"].id)


async def _critical_case(embedded: Embedded) -> dict[str, Any]:
    event, _ = await embedded.services.cases.create_case(
        await embedded.principal("bruno"), _op(embedded),
        NewCase(title="Dam", severity="critical"), "t")
    return event.data["record"]  # type: ignore[return-value]


async def test_the_first_tick_takes_the_lease_and_follows_every_operation(
        embedded: Embedded) -> None:
    evaluator = embedded.services.evaluator
    assert not evaluator.leader
    await evaluator.tick()
    assert evaluator.leader
    node = embedded.services.hub.node
    for op in embedded.ops.values():
        assert evaluator in node._followers[ops_topic(op.id)]


async def test_a_write_is_acted_on_by_the_loop_not_by_the_writer(
        embedded: Embedded, loop: Evaluator) -> None:
    await embedded.services.alerts.put_rule(await embedded.principal("alice"), _op(embedded),
                                            dict(RULE), "t")
    watcher = Watcher()
    await embedded.services.hub.node.follow(ops_topic(_op(embedded)), watcher)
    case = await _critical_case(embedded)
    fired = await watcher.wait_for(ALERT, "fired")
    assert fired.data["record"]["case_id"] == case["id"]  # type: ignore[index]
    assert fired.actor == "rule:crit"
    await watcher.wait_for(ALERT, "notified")


async def test_a_case_written_while_not_leader_waits_for_the_tick(embedded: Embedded) -> None:
    evaluator = embedded.services.evaluator
    await embedded.services.alerts.put_rule(await embedded.principal("alice"), _op(embedded),
                                            dict(RULE), "t")
    await evaluator.tick()
    await evaluator.stop()  # gives up the lease and stops following
    assert not evaluator.leader
    assert ops_topic(_op(embedded)) not in embedded.services.hub.node._followers
    await _critical_case(embedded)
    evaluator.heard(OpEvent(_op(embedded), 1, "case", "created", "c", 1, "x", 0.0, {}))
    assert await embedded.store.list_records(_op(embedded), ALERT) == []
    await evaluator.tick()  # leader again: catches up from its cursor
    [(alert, _)] = await embedded.store.list_records(_op(embedded), ALERT)
    assert alert["rule_id"] == "crit"


async def test_another_holder_keeps_this_node_out_until_the_lease_expires(
        embedded: Embedded) -> None:
    store, clock = embedded.store, embedded.clock
    assert await store.claim_lease(LEASE, "other-node", clock.now(), 30.0)
    evaluator = embedded.services.evaluator
    await evaluator.tick()
    assert not evaluator.leader
    assert ops_topic(_op(embedded)) not in embedded.services.hub.node._followers
    clock.advance(31)
    await evaluator.tick()
    assert evaluator.leader


async def test_losing_the_lease_stops_following(embedded: Embedded) -> None:
    evaluator = embedded.services.evaluator
    await evaluator.tick()
    assert evaluator.leader
    embedded.clock.advance(3600)  # our lease ran out, and another node took it
    assert await embedded.store.claim_lease(LEASE, "other-node", embedded.clock.now(), 30.0)
    await evaluator.tick()
    assert not evaluator.leader
    assert ops_topic(_op(embedded)) not in embedded.services.hub.node._followers


async def test_a_broker_resync_makes_the_leader_look_at_every_operation_again(
        embedded: Embedded) -> None:
    evaluator = embedded.services.evaluator
    node = embedded.services.hub.node
    watcher = Watcher()
    await node.follow(ops_topic(_op(embedded)), watcher)
    node.handle_event("control", ResyncEvent())
    assert watcher.missed_count == 1 and evaluator._dirty == set()  # not leader: nothing
    await evaluator.tick()
    node.handle_event("control", ResyncEvent())
    assert watcher.missed_count == 2
    assert evaluator._dirty == {op.id for op in embedded.ops.values()}
    assert evaluator._woken.is_set()


async def test_heard_events_mark_only_their_operation(embedded: Embedded) -> None:
    evaluator = embedded.services.evaluator
    await evaluator.tick()
    await _critical_case(embedded)  # published by the store, heard through the node
    assert evaluator._dirty == {_op(embedded)} and evaluator._woken.is_set()
