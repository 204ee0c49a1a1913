"""The data boundary: what it refuses is exactly what cannot be stored and served back."""

from __future__ import annotations

import json
import math

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.boundary import MAX_INT, check_value, int_param, sanitize, time_param
from hub.errors import BadRequest

_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats() | st.text(alphabet=st.characters(codec=None), max_size=20))
VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


def _servable(value: object) -> bool:
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
        msgpack.packb(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_accepted_values_can_always_be_served(value: object) -> None:
    try:
        check_value(value)
    except BadRequest as exc:
        assert exc.message.startswith("'")  # names the field
        return
    assert _servable(value)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_sanitize_makes_any_value_acceptable(value: object) -> None:
    clean, changed = sanitize(value)
    check_value(clean, max_depth=64)
    if not changed:
        assert clean == value or (isinstance(value, float) and math.isnan(value))


@pytest.mark.parametrize("value,path", [
    ({"labels": {"level": float("nan")}}, "'labels.level' must be a finite number"),
    ({"a": [1, float("inf")]}, "'a[1]' must be a finite number"),
    ({"t": "x\udc00"}, "'t' is not valid Unicode"),
    ({"n": MAX_INT + 1}, "'n' is outside the integer range"),
    ({"d": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}, "nested more than 16"),
])
def test_refusals_name_the_field(value: object, path: str) -> None:
    with pytest.raises(BadRequest, match=path.replace("[", r"\[").replace("]", r"\]")):
        check_value(value)


@pytest.mark.parametrize("raw", ["9" * 5000, "-1", "1.5", "٣", "0x10", " 1", str(2**53)])
def test_int_param_refuses_without_converting_huge_values(raw: str) -> None:
    with pytest.raises(BadRequest):
        int_param(raw, "after_seq")


def test_int_param_accepts_the_range() -> None:
    assert int_param(None, "x", default=7) == 7
    assert int_param("000042", "x") == 42
    assert int_param(str(MAX_INT), "x") == MAX_INT


@given(st.text(max_size=20))
def test_a_moment_parameter_is_plain_seconds_or_refused_by_name(raw: str) -> None:
    try:
        value = time_param(raw, "at")
    except BadRequest as exc:
        assert "'at'" in str(exc)
    else:
        assert value is None or (math.isfinite(value) and 0 <= value < 10**11)
        assert value is None or raw.replace(".", "").isdigit()


def test_a_moment_reads_back_exactly() -> None:
    assert time_param("1795000012.25", "at") == 1795000012.25
    assert time_param(None, "at") is None and time_param("", "at") is None
    for bad in ("1e9", "-1", "nan", "inf", "1.", ".5", "\uff11\uff12"):  # fullwidth digits
        with pytest.raises(BadRequest):
            time_param(bad, "at")
