"""The condition language, without sockets."""

from __future__ import annotations

import pytest

from alerting.expr import ExprError, compile_expr, parse_duration

CASE = {"id": "c1", "title": "Levee", "category": "incident", "severity": "major",
        "status": "open", "exercise": False, "assignees": ["bruno"],
        "fields": {"casualties": 12, "shelter": "school 4"}, "updated_at": 1000.0,
        "created_at": 900.0, "location": {"place": "Km 12"}}


@pytest.mark.parametrize("text,expected", [
    ('severity == "major"', True),
    ('severity >= "major"', True),
    ('severity > "major"', False),
    ('severity < "critical"', True),
    ("fields.casualties >= 10", True),
    ("fields.casualties >= 10 and not exercise", True),
    ('category in ["casualty", "detention"]', False),
    ('"bruno" in assignees', True),
    ('fields.shelter == "school 4"', True),
    ("fields.missing > 3", False),
    ('fields.casualties > "a"', False),  # different types: false, not an error
    ("since_update > 15m", False),
    ("since_update > 1m", True),
    ("age >= 200s", True),
    ('(severity == "info" or status == "open") and comments == null', True),
    ('location.place == "Km 12"', True),
    ("prev.severity == null", True),
])
def test_conditions(text: str, expected: bool) -> None:
    assert compile_expr(text)(CASE, now=1200.0) is expected


def test_prev_gives_transitions() -> None:
    rise = compile_expr('severity == "critical" and prev.severity != "critical"')
    env = {**CASE, "severity": "critical", "__prev__": CASE}
    assert rise(env, 0.0)
    assert not rise({**env, "__prev__": env}, 0.0)


def test_time_comparisons_report_when_they_flip() -> None:
    stale = compile_expr('severity == "major" and since_update > 15m')
    times: list[float] = []
    assert not stale(CASE, 1200.0, times)
    assert times == [pytest.approx(1000.0 + 900.001)]
    assert stale(CASE, 1901.0, [])


@pytest.mark.parametrize("text,needle", [
    ("sevrity == 1", "unknown name 'sevrity' at column 1 (did you mean 'severity'?)"),
    ("severity ==", "expected a value at column 12"),
    ("severity = 1", "unexpected character '=' at column 10"),
    ("(severity == 1", "expected ')'"),
    ("fields.a.b > 1", "unknown name"),
    ("prev == 1", "'prev' needs a field"),
    ("severity == 1 severity", "unexpected 'severity' at column 15"),
    ("__import__('os')", "unknown name '__import__'"),
    ("", "non-empty"),
    ("(" * 40 + "1" + ")" * 40, "nested too deeply"),
])
def test_mistakes_name_the_offending_part(text: str, needle: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(text)
    assert needle in str(info.value)


def test_durations() -> None:
    assert parse_duration("15m") == 900 and parse_duration("1d") == 86400
    assert parse_duration(30) == 30.0
    with pytest.raises(ExprError):
        parse_duration("soon")
