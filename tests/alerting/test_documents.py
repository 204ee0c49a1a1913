"""alerting/documents.py: the declared shapes hold what the pure builders make.

The same check runs over everything a real hub stored, on both engines, in
tests/functional/test_need_to_know_functional.py (tests/alerting/documents.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.bodies import CaseChanges, NewCase, case_fields
from alerting.cases.case import apply_update, new_case
from alerting.documents import AlertDoc, CaseDoc, Escalation, SilenceDoc
from alerting.pipeline.ack_rule import AckSet, regroup
from alerting.pipeline.alerts import acknowledge, answered, new_alert, repeat, resolve
from alerting.pipeline.escalation import idle_state, initial_state
from alerting.pipeline.silences import new_silence
from alerting.vocabulary import SEVERITIES
from hub.bodies import convert
from hub.errors import BadRequest
from tests.alerting.documents import conforms

NOW = 1_700_000_000.0

_case_input = st.fixed_dictionaries(
    {"title": st.text(min_size=1, max_size=30).filter(str.strip)},
    optional={"severity": st.sampled_from(SEVERITIES),
              "status": st.sampled_from(["open", "in_progress", "resolved", "closed"]),
              "location": st.fixed_dictionaries({}, optional={
                  "lat": st.floats(-90, 90), "lon": st.floats(-180, 180),
                  "place": st.text(max_size=20)}),
              "assignees": st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=3),
              "fields": st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                                        st.integers(0, 10**6) | st.text(max_size=10),
                                        max_size=3),
              "exercise": st.booleans()})


@given(_case_input)
def test_a_new_case_is_a_case_document(data: dict[str, Any]) -> None:
    try:
        case = new_case(case_fields(convert(data, NewCase)), case_id="case-1",
                        operation_id="op-1", actor="bruno", agency="ARMY", now=NOW)
    except BadRequest:
        return  # a location with lat and no lon: refused, nothing built
    conforms(case, CaseDoc)


@given(_case_input, _case_input)
def test_an_updated_case_is_still_a_case_document(first: dict[str, Any],
                                                  then: dict[str, Any]) -> None:
    try:
        case = new_case(case_fields(convert(first, NewCase)), case_id="case-1",
                        operation_id="op-1", actor="bruno", agency="ARMY", now=NOW)
        changes = case_fields(convert({**then, "version": 1}, CaseChanges))
        updated, _ = apply_update(case, changes, actor="olga", now=NOW + 1)
    except BadRequest:
        return
    conforms(updated, CaseDoc)


def _alert(**over: Any) -> AlertDoc:
    return new_alert(alert_id="al-1", operation_id="op-1", source="rule", fp="f" * 16,
                     severity="critical", summary="Dam", details="", now=NOW,
                     case_id="case-1", route=["channel:alerts"], policy="default",
                     label={"level": "RESTRICTED", "categories": {}}, **over)


def test_every_step_of_an_alert_s_life_is_an_alert_document() -> None:
    fired = _alert(ack_agencies=["ARMY", "POLICE"], informed_agencies=["RED-CROSS"])
    again = repeat(fired, now=NOW + 5, summary="Dam again", severity="major",
                   occurrence="o-2", window=60)
    half = acknowledge(again, actor="bruno", now=NOW + 6, agency="ARMY")
    regrouped = regroup(half, AckSet(("ARMY",), ("POLICE",)), NOW + 7)
    resolved = resolve(regrouped, actor="hub", now=NOW + 8, resolution="auto")
    for doc in (fired, again, half, regrouped, resolved):
        conforms(doc, AlertDoc)
    assert (regrouped["state"], resolved["state"]) == ("acknowledged", "resolved")
    view = answered(resolved, 4)
    assert view["version"] == 4 and view["ledger"][0]["agency"] == "ARMY"


def test_a_document_that_strays_from_its_declaration_is_named() -> None:
    stray = {**_alert(), "colour": "red"}
    with pytest.raises(AssertionError, match="does not declare \\['colour'\\]"):
        conforms(stray, AlertDoc)
    wrong = {**_alert(), "occurrences": "1"}
    with pytest.raises(AssertionError, match="occurrences"):
        conforms(wrong, AlertDoc)


@given(st.one_of(st.none(), st.text(max_size=8)), st.floats(0, 2e9))
def test_escalation_states_are_escalation_documents(policy: str | None, now: float) -> None:
    conforms(initial_state(policy, now), Escalation)
    conforms(idle_state(), Escalation)


def test_a_new_silence_is_a_silence_document() -> None:
    silence = new_silence({"matchers": [{"label": "alert", "value": "al-1", "op": "="}],
                           "reason": "known outage"}, silence_id="sil-1", author="olga",
                          now=NOW)
    conforms(silence, SilenceDoc)
    conforms({**silence, "label": {"level": "RESTRICTED", "categories": {}}}, SilenceDoc)
    assert msgspec.convert(silence, SilenceDoc, strict=True)["ends_at"] is None
