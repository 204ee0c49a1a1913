"""alerting/pipeline/silences.py: validating a silence, and which alerts it covers when."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.silences import SilenceError, alert_labels, is_active, matching, new_silence

NOW = 10_000.0


def silence(**data: Any) -> dict[str, Any]:
    body = {"matchers": [{"label": "rule", "value": "crit"}], "duration": "2h",
            "reason": "crews on site"}
    body.update(data)
    return new_silence(body, silence_id="sil-1", author="alice", now=NOW)


def alert(**over: Any) -> dict[str, Any]:
    doc = {"id": "al-1", "severity": "critical", "source": "rule", "rule_id": "crit",
           "case_id": "case-1", "fingerprint": "fp-1", "labels": {"region": "north-7"}}
    doc.update(over)
    return doc


# --- what a silence is --------------------------------------------------------------


def test_a_valid_silence_is_normalised_with_its_author_and_times() -> None:
    s = silence(reason="  crews on site  ")
    assert s == {"id": "sil-1", "matchers": [{"label": "rule", "value": "crit", "op": "="}],
                 "starts_at": NOW, "ends_at": NOW + 7200, "reason": "crews on site",
                 "created_by": "alice", "created_at": NOW, "expired_by": None}


def test_an_explicit_window_is_kept() -> None:
    s = silence(duration=None, starts_at=NOW + 60, ends_at=NOW + 120)
    assert (s["starts_at"], s["ends_at"]) == (NOW + 60, NOW + 120)


def test_a_silence_naming_one_alert_may_have_no_end() -> None:
    s = silence(duration=None, matchers=[{"label": "alert", "value": "al-1"}])
    assert s["ends_at"] is None


@pytest.mark.parametrize(("data", "message"), [
    ([], "a silence must be an object"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r",
      "colour": "red"}, "silence: colour: unknown setting"),
    ({"matchers": [], "duration": "1h", "reason": "r"}, "silence: matchers: must be a list"),
    ({"matchers": [{"label": "r", "value": "x"}] * 21, "duration": "1h", "reason": "r"},
     "silence: matchers: must be a list of 1-20"),
    ({"matchers": ["rule=x"], "duration": "1h", "reason": "r"},
     "silence: matchers[0]: a matcher is {label, value, op}"),
    ({"matchers": [{"label": "rule", "value": "x", "regex": "y"}], "duration": "1h",
      "reason": "r"}, "silence: matchers[0]: a matcher is"),
    ({"matchers": [{"label": "", "value": "x"}], "duration": "1h", "reason": "r"},
     "silence: matchers[0].label: must be a label name"),
    ({"matchers": [{"label": "rule", "value": 7}], "duration": "1h", "reason": "r"},
     "silence: matchers[0].value: must be a string"),
    ({"matchers": [{"label": "rule", "value": "x" * 201}], "duration": "1h", "reason": "r"},
     "silence: matchers[0].value: must be a string of at most 200"),
    ({"matchers": [{"label": "rule", "value": "x", "op": "=~"}], "duration": "1h",
      "reason": "r"}, "silence: matchers[0].op: must be one of =, !=, ~"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "   "},
     "silence: reason: say why"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r" * 501},
     "silence: reason: say why"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r",
      "starts_at": True}, "silence: starts_at: must be a time"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "1h", "reason": "r",
      "ends_at": NOW + 10}, "silence: give ends_at or duration, not both"),
    ({"matchers": [{"label": "rule", "value": "x"}], "duration": "soon", "reason": "r"},
     "silence: duration:"),
    ({"matchers": [{"label": "rule", "value": "x"}], "reason": "r"},
     "silence: ends_at: needed unless the silence names one alert"),
    ({"matchers": [{"label": "alert", "value": "al-1", "op": "!="}], "reason": "r"},
     "silence: ends_at: needed"),
    ({"matchers": [{"label": "rule", "value": "x"}], "reason": "r", "ends_at": NOW},
     "silence: ends_at: must be a time after starts_at"),
    ({"matchers": [{"label": "rule", "value": "x"}], "reason": "r", "ends_at": "later"},
     "silence: ends_at: must be a time after starts_at"),
])
def test_an_invalid_silence_is_refused_naming_the_part(data: Any, message: str) -> None:
    with pytest.raises(SilenceError) as err:
        new_silence(data, silence_id="s", author="a", now=NOW)
    assert str(err.value).startswith(message)


@given(st.dictionaries(st.text(max_size=12), st.none() | st.booleans() | st.integers()
                       | st.floats() | st.text(max_size=20)
                       | st.lists(st.dictionaries(st.text(max_size=8), st.text(max_size=8),
                                                  max_size=4), max_size=3), max_size=6))
def test_any_input_is_a_silence_or_a_silence_error(data: dict[str, Any]) -> None:
    try:
        s = new_silence(data, silence_id="s", author="a", now=NOW)
    except SilenceError as exc:
        assert str(exc)
    else:
        assert s["matchers"] and s["reason"]
        assert s["ends_at"] is None or s["ends_at"] > s["starts_at"]


# --- which alerts it covers ---------------------------------------------------------------


def test_labels_include_the_alerts_own_fields_over_pushed_ones() -> None:
    labels = alert_labels(alert(labels={"region": "north-7", "severity": "info"},
                                exercise=True))
    assert labels == {"region": "north-7", "severity": "critical", "source": "rule",
                      "rule": "crit", "case": "case-1", "alert": "al-1",
                      "fingerprint": "fp-1", "exercise": "true"}


def test_a_silence_is_active_from_its_start_until_just_before_its_end() -> None:
    s = silence(duration=None, starts_at=NOW, ends_at=NOW + 10)
    assert [is_active(s, t) for t in (NOW - 1, NOW, NOW + 9.99, NOW + 10)] == \
        [False, True, True, False]
    assert is_active({"starts_at": NOW, "ends_at": None}, NOW + 10**9)


@pytest.mark.parametrize(("matcher", "covered"), [
    ({"label": "rule", "value": "crit"}, True),
    ({"label": "rule", "value": "other"}, False),
    ({"label": "severity", "op": "!=", "value": "info"}, True),
    ({"label": "severity", "op": "!=", "value": "critical"}, False),
    ({"label": "region", "op": "~", "value": "north-*"}, True),
    ({"label": "region", "op": "~", "value": "North-*"}, False),  # case matters
    ({"label": "region", "op": "~", "value": "north-?"}, True),
    ({"label": "missing", "value": ""}, True),  # an absent label is the empty string
    ({"label": "missing", "op": "!=", "value": "x"}, True),
])
def test_every_matcher_holds_over_the_alerts_labels(matcher: dict[str, str],
                                                    covered: bool) -> None:
    s = silence(matchers=[matcher])
    assert (matching(alert(), [s], NOW) is s) is covered


def test_all_matchers_must_hold() -> None:
    s = silence(matchers=[{"label": "rule", "value": "crit"},
                          {"label": "region", "value": "south"}])
    assert matching(alert(), [s], NOW) is None


def test_an_expired_or_future_silence_covers_nothing() -> None:
    future = silence(duration=None, starts_at=NOW + 60, ends_at=NOW + 120)
    assert matching(alert(), [future], NOW) is None
    assert matching(alert(), [future], NOW + 60) is future
    assert matching(alert(), [future], NOW + 120) is None


def test_of_several_covering_silences_the_one_ending_last_wins() -> None:
    short = {**silence(), "id": "short", "ends_at": NOW + 60}
    long = {**silence(), "id": "long", "ends_at": NOW + 600}
    endless = {**silence(duration=None, matchers=[{"label": "alert", "value": "al-1"}]),
               "id": "endless"}
    assert matching(alert(), [short, long], NOW)["id"] == "long"  # type: ignore[index]
    assert matching(alert(), [long, short], NOW)["id"] == "long"  # type: ignore[index]
    assert matching(alert(), [short, endless, long], NOW)["id"] == "endless"  # type: ignore[index]


@given(st.text(alphabet="abc*?-", max_size=8), st.text(alphabet="abc-", max_size=8))
def test_a_wildcard_without_wildcards_is_equality(pattern: str, value: str) -> None:
    s = silence(matchers=[{"label": "region", "op": "~", "value": pattern}])
    got = matching(alert(labels={"region": value}), [s], NOW) is not None
    if "*" not in pattern and "?" not in pattern:
        assert got == (pattern == value)
    if pattern == "*":
        assert got
