"""alerting/cases/case.py: case validation and changes, pure."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.cases.case import MAX_FIELDS, apply_update, new_case, severity_of
from alerting.vocabulary import CASE_CATEGORIES, SEVERITIES, Severity
from hub.errors import BadRequest


def make(**data: Any) -> dict[str, Any]:
    return new_case({"title": "Dam breach", **data}, case_id="case-1", operation_id="op-1",
                    actor="bruno", agency="ARMY", now=100.0)


def refused(field: str, **data: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        make(**data)
    assert field in str(caught.value), (field, str(caught.value))


def test_a_new_case_has_defaults_and_who_reported_it() -> None:
    case = make()
    assert case["title"] == "Dam breach" and case["severity"] == "info"
    assert case["status"] == "open" and case["category"] == "incident"
    assert case["reporting_agency"] == "ARMY" and case["created_by"] == "bruno"
    assert case["created_at"] == case["updated_at"] == 100.0
    assert case["fields"] == {} and case["assignees"] == [] and case["location"] is None
    assert case["exercise"] is False and case["comments"] == 0


def test_text_is_trimmed_and_assignees_deduplicated_and_sorted() -> None:
    case = make(title="  Dam  ", assignees=["olga", "bruno", "olga"])
    assert case["title"] == "Dam" and case["assignees"] == ["bruno", "olga"]


@pytest.mark.parametrize(("field", "data"), [
    ("title", {"title": "   "}),
    ("title", {"title": 5}),
    ("title", {"title": "x" * 201}),
    ("description", {"description": "x" * 10_001}),
    ("category", {"category": "party"}),
    ("severity", {"severity": "apocalyptic"}),
    ("status", {"status": "lost"}),
    ("location", {"location": "Kerns"}),
    ("location", {"location": {"lat": 91, "lon": 0}}),
    ("location", {"location": {"lat": math.nan, "lon": 0}}),
    ("location", {"location": {"lat": True, "lon": 0}}),
    ("location.place", {"location": {"place": "x" * 201}}),
    ("assignees", {"assignees": "bruno"}),
    ("assignees", {"assignees": [""]}),
    ("assignees", {"assignees": [f"u{i}" for i in range(21)]}),
    ("fields", {"fields": [1]}),
    ("fields", {"fields": {f"f{i}": 1 for i in range(MAX_FIELDS + 1)}}),
    ("field name", {"fields": {"not an identifier": 1}}),
    ("casualties", {"fields": {"casualties": math.inf}}),
    ("casualties", {"fields": {"casualties": True}}),
    ("casualties", {"fields": {"casualties": [1]}}),
    ("note", {"fields": {"note": "x" * 501}}),
    ("exercise", {"exercise": "yes"}),
    ("unknown", {"priority": "high"}),
])
def test_each_invalid_field_is_refused_by_name(field: str, data: dict[str, Any]) -> None:
    refused(field, **data)


def test_a_place_alone_is_a_location_and_an_empty_one_is_none() -> None:
    assert make(location={"place": " Kerns "})["location"] == {"place": "Kerns"}
    assert make(location={})["location"] is None
    assert make(location={"lat": 46, "lon": 8})["location"] == {"lat": 46.0, "lon": 8.0}


def test_an_update_reports_each_change_as_old_and_new() -> None:
    case = make(severity="major", fields={"casualties": 3})
    updated, changes = apply_update(case, {"severity": "critical",
                                           "fields": {"people_affected": 120}},
                                    actor="alice", now=200.0)
    assert changes == {"severity": ["major", "critical"],
                       "fields": [{"casualties": 3}, {"casualties": 3, "people_affected": 120}]}
    assert updated["updated_by"] == "alice" and updated["updated_at"] == 200.0
    assert case["severity"] == "major"  # the input is left alone


def test_an_update_that_changes_nothing_touches_nothing() -> None:
    case = make(severity="major")
    updated, changes = apply_update(case, {"severity": "major"}, actor="alice", now=200.0)
    assert changes == {} and updated == case


def test_read_only_fields_cannot_be_updated() -> None:
    with pytest.raises(BadRequest, match="created_by"):
        apply_update(make(), {"created_by": "mallory"}, actor="mallory", now=1.0)


def test_the_severity_of_a_stored_case_is_ordered() -> None:
    assert severity_of(make(severity="critical")) is Severity.CRITICAL
    assert severity_of(make(severity="minor")) < severity_of(make(severity="major"))


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)


@given(st.dictionaries(st.sampled_from(["title", "description", "category", "severity",
                                        "status", "location", "assignees", "fields",
                                        "exercise", "other"]), _values, max_size=6))
def test_any_input_is_refused_cleanly_or_stored_as_readable_json(data: dict[str, Any]) -> None:
    """The boundary property: BadRequest or a case that round-trips through strict JSON."""
    try:
        case = new_case(data, case_id="c", operation_id="o", actor="a", agency="X", now=1.0)
    except BadRequest:
        return
    assert json.loads(json.dumps(case, allow_nan=False)) == case
    assert case["severity"] in SEVERITIES and case["category"] in CASE_CATEGORIES
