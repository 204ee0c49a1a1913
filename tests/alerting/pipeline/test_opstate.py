"""alerting/pipeline/opstate.py: what the pipeline keeps per operation."""

from __future__ import annotations

from typing import Any

from alerting.pipeline.opstate import OpState
from alerting.rules.engine import RuleEngine, parse_rule
from hub.models import OperationId, OpEvent


def _event(record: dict[str, Any], version: int, kind: str = "alert") -> OpEvent:
    return OpEvent(OperationId("op"), version, kind, "x", str(record["id"]), version, "hub",
                   0.0, {"record": record})


def test_track_keeps_active_alerts_and_drops_resolved_ones() -> None:
    rt = OpState(OperationId("op"))
    rt.track(_event({"id": "a", "state": "firing"}, 1))
    assert set(rt.alerts) == {"a"}
    rt.track(_event({"id": "a", "state": "resolved"}, 2))
    assert rt.alerts == {}


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    rt = OpState(OperationId("op"))
    rt.track(_event({"id": "a", "state": "acknowledged"}, 3))
    rt.track(_event({"id": "a", "state": "firing"}, 2))  # a late, replayed event
    assert rt.alerts["a"]["state"] == "acknowledged"
    assert rt.newer("case", "c", 1) and not rt.newer("case", "c", 0)


def test_track_ignores_other_kinds_and_events_without_a_record() -> None:
    rt = OpState(OperationId("op"))
    rt.track(_event({"id": "c", "state": "firing"}, 1, kind="case"))
    rt.track(OpEvent(OperationId("op"), 1, "alert", "x", "a", 1, "hub", 0.0, {}))
    assert rt.alerts == {}


def test_next_due_is_the_earliest_timer_of_any_kind() -> None:
    rt = OpState(OperationId("op"))
    assert rt.next_due() is None
    rt.alerts["a"] = {"state": "firing", "escalation": {"next_at": 500.0}}
    rt.alerts["b"] = {"state": "acknowledged", "escalation": {"next_at": 5.0}}  # stopped
    assert rt.next_due() == 500.0
    rt.silences["s"] = {"starts_at": 100.0, "ends_at": 300.0}
    assert rt.next_due() == 100.0
    rt.engine = RuleEngine([parse_rule({"id": "r", "when": "fields.casualties >= 10",
                                        "for": "1m"})])
    rt.engine.evaluate({"c": {"id": "c", "fields": {"casualties": 12}, "updated_at": 0.0,
                              "created_at": 0.0}}, 10.0, changed=["c"])
    assert rt.next_due() == 70.0
