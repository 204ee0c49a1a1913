"""alerting/pipeline/records.py on the real embedded store: raising, deduplicating and
changing alerts."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from alerting.kinds import ALERT
from alerting.pipeline.alerts import acknowledge, alert_id_for, new_alert, resolve
from alerting.pipeline.records import AlertRecords
from hub.errors import Conflict, NotFound
from hub.models import OperationId
from tests.conftest import Embedded


def _records(env: Embedded) -> AlertRecords:
    return env.services.alerts._records


def _op(env: Embedded) -> OperationId:
    return OperationId(env.ops["A"].id)


def _build(env: Embedded, fp: str, summary: str = "Dam", severity: str = "major") -> Any:
    def build(alert_id: str) -> dict[str, Any]:
        return new_alert(alert_id=alert_id, operation_id=_op(env), source="bot", fp=fp,
                         severity=severity, summary=summary, details="",
                         now=env.clock.now())
    return build


async def _raised_then_resolved(env: Embedded, fp: str = "fp") -> str:
    """Raise an alert for ``fp`` and resolve it; its id."""
    records = _records(env)
    first, _ = await records.raise_alert(_op(env), fp, _build(env, fp), actor="bot",
                                         count_repeat=True)
    await records.transition(_op(env), first.record_id, "resolved", "a",
                             functools.partial(resolve, actor="a", now=1.0, resolution="x"))
    return first.record_id


async def _audit(env: Embedded) -> list[str]:
    return [r.action async for r in env.store.iter_audit() if r.action.startswith("alert.")]


async def test_raising_creates_the_alert_with_an_id_from_its_fingerprint(
        embedded: Embedded) -> None:
    event, created = await _records(embedded).raise_alert(
        _op(embedded), "fp-1", _build(embedded, "fp-1"), actor="bot", count_repeat=True)
    assert created and event.action == "fired" and event.seq > 0
    assert event.record_id == alert_id_for(_op(embedded), "fp-1", 1)
    stored = await embedded.store.get_record(_op(embedded), ALERT, event.record_id)
    assert stored is not None and stored[0]["summary"] == "Dam" and stored[1] == 1
    assert await _audit(embedded) == ["alert.fired"]


async def test_a_pushed_repeat_counts_and_a_rule_repeat_changes_nothing(
        embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    first, _ = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot",
                                         count_repeat=True)
    again, created = await records.raise_alert(op, "fp", _build(embedded, "fp", "Dam 2",
                                                                "critical"),
                                               actor="bot", count_repeat=True)
    assert not created and again.action == "repeated" and again.record_id == first.record_id
    doc = again.data["record"]
    assert isinstance(doc, dict)
    assert doc["occurrences"] == 2 and doc["summary"] == "Dam 2" and doc["severity"] == "critical"
    same, created = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="rule:x",
                                              count_repeat=False)
    assert not created and same.action == "unchanged" and same.seq == 0  # not logged
    _, head = await embedded.store.op_event_bounds(op)
    assert head == again.seq


async def test_after_resolution_the_fingerprint_raises_a_new_generation(
        embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    await _raised_then_resolved(embedded)
    assert await records.active(op, "fp") is None
    second, created = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot",
                                                count_repeat=True)
    assert created and second.record_id == alert_id_for(op, "fp", 2)
    found = await records.active(op, "fp")
    assert found is not None and found[0]["id"] == second.record_id


async def test_a_fresh_records_object_finds_the_active_generation_in_the_store(
        embedded: Embedded) -> None:
    """The generation cache is only a hint: another node (or a restart) knows nothing of it."""
    records, op = _records(embedded), _op(embedded)
    await _raised_then_resolved(embedded)
    await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot", count_repeat=True)
    other = AlertRecords(store=embedded.store, clock=embedded.clock,
                         auditor=embedded.services.hub.auditor)
    found = await other.active(op, "fp")
    assert found is not None and found[0]["id"] == alert_id_for(op, "fp", 2)


async def test_two_raises_at_once_create_one_alert(embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    other = AlertRecords(store=embedded.store, clock=embedded.clock,
                         auditor=embedded.services.hub.auditor)
    results = await asyncio.gather(*(
        r.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot", count_repeat=False)
        for r in (records, other, records, other)))
    assert sum(created for _, created in results) == 1
    assert len(await embedded.store.list_records(op, ALERT)) == 1


async def test_a_transition_logs_the_state_change_and_audits_it(embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    first, _ = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot",
                                         count_repeat=True)
    event = await records.transition(op, first.record_id, "acknowledged", "alice",
                                     functools.partial(acknowledge, actor="alice", now=5.0),
                                     client="10.0.0.1", data={"note": "on it"})
    assert event.data["changes"] == {"state": ["firing", "acknowledged"]}
    assert event.data["note"] == "on it" and event.version == 2
    assert await _audit(embedded) == ["alert.fired", "alert.acknowledged"]
    again = await records.transition(op, first.record_id, "acknowledged", "alice",
                                     functools.partial(acknowledge, actor="alice", now=6.0))
    assert again.action == "unchanged" and again.seq == 0
    assert await _audit(embedded) == ["alert.fired", "alert.acknowledged"]


async def test_a_transition_that_expects_a_version_loses_a_race_instead_of_retrying(
        embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    first, _ = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot",
                                         count_repeat=True)
    await records.transition(op, first.record_id, "acknowledged", "alice",
                             functools.partial(acknowledge, actor="alice", now=5.0))
    with pytest.raises(Conflict):
        await records.transition(op, first.record_id, "notified", "hub",
                                 lambda a: {**a, "last_notice": {}}, expect=first.version)


async def test_changing_a_missing_alert_is_not_found(embedded: Embedded) -> None:
    with pytest.raises(NotFound):
        await _records(embedded).transition(_op(embedded), "al-missing", "acknowledged", "a",
                                            lambda a: a)


async def test_a_resolved_alert_refuses_to_count_a_repeat_and_a_new_one_is_raised(
        embedded: Embedded) -> None:
    records, op = _records(embedded), _op(embedded)
    first_id = await _raised_then_resolved(embedded)
    event, created = await records.raise_alert(op, "fp", _build(embedded, "fp"), actor="bot",
                                               count_repeat=True)
    assert created and event.record_id != first_id
