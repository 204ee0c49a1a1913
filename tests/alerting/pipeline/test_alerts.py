"""alerting/pipeline/alerts.py: alert documents and their lifecycle, pure."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.alerts import (
    acknowledge,
    alert_id_for,
    fingerprint,
    ledger,
    new_alert,
    pending_agencies,
    repeat,
    resolve,
    told,
)
from hub.errors import BadRequest, Conflict


def alert(**over: Any) -> dict[str, Any]:
    doc = new_alert(alert_id="al-1", operation_id="op-1", source="bot", fp="fp", severity="major",
                    summary="Pump down", details="", now=10.0, policy="p")
    doc.update(over)
    return doc


def test_a_new_alert_fires_with_its_first_step_due_at_once() -> None:
    doc = alert()
    assert doc["state"] == "firing" and doc["occurrences"] == 1
    assert doc["escalation"] == {"policy": "p", "step": 0, "reminders": 0, "next_at": 10.0}
    assert doc["first_at"] == doc["last_at"] == 10.0 and doc["silenced_by"] is None


def test_an_unknown_severity_is_refused() -> None:
    with pytest.raises(BadRequest, match="severity"):
        new_alert(alert_id="a", operation_id="o", source="bot", fp="f", severity="doom",
                  summary="s", details="", now=0.0)


def test_a_repeat_counts_and_may_raise_the_severity() -> None:
    doc = repeat(alert(), now=20.0, summary="Pump still down", severity="critical")
    assert doc["occurrences"] == 2 and doc["last_at"] == 20.0
    assert doc["summary"] == "Pump still down" and doc["severity"] == "critical"
    same = repeat(alert(), now=20.0, summary="", severity="bogus")
    assert same["summary"] == "Pump down" and same["severity"] == "major"


def test_the_same_occurrence_resent_within_the_window_changes_nothing() -> None:
    first = repeat(alert(), now=20.0, occurrence="k1", window=300.0)
    assert first["occurrences"] == 2 and first["last_occurrence"] == "k1"
    assert repeat(first, now=200.0, occurrence="k1", window=300.0) == first  # a retry
    later = repeat(first, now=400.0, occurrence="k1", window=300.0)  # a repeat notification
    assert later["occurrences"] == 3 and later["last_at"] == 400.0
    other = repeat(first, now=30.0, occurrence="k2", window=300.0)
    assert other["occurrences"] == 3 and other["last_occurrence"] == "k2"
    assert repeat(first, now=21.0)["occurrences"] == 3  # pushes without a key always count


def test_a_resolved_alert_does_not_repeat() -> None:
    with pytest.raises(Conflict):
        repeat(alert(state="resolved"), now=1.0)


def test_acknowledging_stops_escalation_and_is_idempotent() -> None:
    acked = acknowledge(alert(), actor="alice", now=30.0)
    assert acked["state"] == "acknowledged" and acked["acked_by"] == "alice"
    assert acked["acked_at"] == 30.0 and acked["escalation"]["next_at"] is None
    assert acknowledge(acked, actor="bruno", now=40.0) == acked  # the first one stands
    with pytest.raises(Conflict):
        acknowledge(alert(state="resolved"), actor="alice", now=1.0)


def test_resolving_from_any_state_ends_resolved_once() -> None:
    for start in (alert(), acknowledge(alert(), actor="a", now=1.0)):
        done = resolve(start, actor="rule:x", now=50.0, resolution="auto")
        assert done["state"] == "resolved" and done["resolution"] == "auto"
        assert done["resolved_by"] == "rule:x" and done["escalation"]["next_at"] is None
        assert resolve(done, actor="b", now=60.0, resolution="manual") == done


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=5))
def test_a_fingerprint_ignores_label_order(labels: dict[str, str]) -> None:
    backwards = dict(reversed(list(labels.items())))
    assert fingerprint(labels) == fingerprint(backwards)


def test_alert_ids_differ_by_operation_fingerprint_and_generation() -> None:
    ids = {alert_id_for(op, fp, gen) for op in ("a", "b") for fp in ("x", "y")
           for gen in (1, 2)}
    assert len(ids) == 8 and all(i.startswith("al-") for i in ids)
    assert alert_id_for("a", "x", 1) == alert_id_for("a", "x", 1)


def _each_agency() -> dict[str, Any]:
    return new_alert(alert_id="al-1", operation_id="op", source="rule", fp="f",
                     severity="critical", summary="s", details="", now=100.0,
                     ack_agencies=["POLICE", "ARMY", "POLICE"])


def test_an_alert_for_each_agency_waits_for_the_last_of_them() -> None:
    alert = _each_agency()
    assert alert["ack_agencies"] == ["ARMY", "POLICE"] and pending_agencies(alert) == \
        ["ARMY", "POLICE"]
    alert = {**alert, "told": told(alert, ["POLICE", "ARMY"], 110.0)}
    alert = acknowledge(alert, actor="alice", now=130.0, agency="POLICE")
    assert (alert["state"], pending_agencies(alert)) == ("firing", ["ARMY"])
    assert acknowledge(alert, actor="olga", now=140.0, agency="POLICE")["acks"]["POLICE"] == \
        {"by": "alice", "at": 130.0}
    alert = acknowledge(alert, actor="bruno", now=200.0, agency="ARMY")
    assert (alert["state"], alert["acked_by"], alert["escalation"]["next_at"]) == \
        ("acknowledged", "bruno", None)
    assert ledger(alert) == [
        {"agency": "ARMY", "told_at": 110.0, "acked_at": 200.0, "acked_by": "bruno",
         "seconds": 90.0},
        {"agency": "POLICE", "told_at": 110.0, "acked_at": 130.0, "acked_by": "alice",
         "seconds": 20.0}]
    assert told(alert, ["ARMY", "UN"], 500.0) == {"ARMY": 110.0, "POLICE": 110.0, "UN": 500.0}


def test_an_ordinary_alert_is_acknowledged_by_anyone() -> None:
    alert = new_alert(alert_id="al-2", operation_id="op", source="rule", fp="f",
                      severity="major", summary="s", details="", now=1.0)
    assert alert["ack_agencies"] is None
    done = acknowledge(alert, actor="x", now=2.0, agency="UN")
    assert done["state"] == "acknowledged" and pending_agencies(done) == []
    assert ledger(done) == [{"agency": "UN", "told_at": None, "acked_at": 2.0,
                             "acked_by": "x", "seconds": None}]
