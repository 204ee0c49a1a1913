"""Alert summary templates: checked when saved, never failing when rendered."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.rules.template import (
    CASE_NAMES,
    MAX_OUTPUT,
    MISSING,
    RATE_FIELDS,
    TemplateError,
    compile_template,
)

CASE = {"title": "Levee breach", "severity": "critical", "fields": {"casualties": 12.0},
        "location": {"place": "Kerns", "lat": 47.05}, "assignees": ["bruno", "alice"]}


@pytest.mark.parametrize("text,expected", [
    ("{title}: {fields.casualties} casualties", "Levee breach: 12 casualties"),
    ("{title} at {location.place} ({location.lat})", "Levee breach at Kerns (47.05)"),
    ("{assignees} to act", "bruno, alice to act"),
    ("{fields.missing} missing, {description}", f"{MISSING} missing, {MISSING}"),
    ("literal {{braces}} stay", "literal {braces} stay"),
    ("{ title }", "Levee breach"),
    ("", ""),
])
def test_renders_case_fields(text: str, expected: str) -> None:
    assert compile_template(text, CASE_NAMES).render(CASE) == expected


@pytest.mark.parametrize("text,needle", [
    ("{casualties} reported", "unknown name 'casualties' at column 2"),
    ("{title.x}", "unknown name 'title.x' at column 2"),
    ("{title:>4000000}", "at column 1: write a field name"),
    ("{title!r}", "format specs and indexing are not supported"),
    ("{fields[0]}", "format specs and indexing are not supported"),
    ("{0}", "write a field name"),
    ("{title", "unclosed '{' at column 1"),
    ("a } b", "unmatched '}' at column 3"),
    ("x" * 501, "limited to 500"),
])
def test_mistakes_are_refused_with_the_column(text: str, needle: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text, CASE_NAMES)
    assert needle in str(info.value)


def test_rate_rules_name_count_group_and_rule_only() -> None:
    t = compile_template("{count} new {group} cases ({rule})", RATE_FIELDS)
    assert t.render({"count": 3, "group": "flood", "rule": "burst"}) == \
        "3 new flood cases (burst)"
    with pytest.raises(TemplateError, match="unknown name 'title'"):
        compile_template("{title}", RATE_FIELDS)


def test_output_is_capped_whatever_the_values() -> None:
    t = compile_template("{title}" * 70, CASE_NAMES)
    out = t.render({"title": "x" * 10_000})
    assert len(out) <= MAX_OUTPUT


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600), st.dictionaries(st.sampled_from(
    ["title", "fields", "location", "assignees", "count", "group", "rule", "severity"]),
    _VALUES, max_size=8))
def test_compile_raises_only_its_error_and_render_never_raises(text: str,
                                                                values: dict[str, object]) -> None:
    started = time.perf_counter()
    try:
        t = compile_template(text, CASE_NAMES)
    except TemplateError:
        return
    out = t.render(values)
    assert isinstance(out, str) and len(out) <= MAX_OUTPUT
    assert time.perf_counter() - started < 2.0
