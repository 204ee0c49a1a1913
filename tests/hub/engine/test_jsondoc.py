"""hub/engine/jsondoc.py: strict on the way in, forgiving (and counted) on the way out."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.boundary import repaired_total
from hub.engine import jsondoc
from hub.errors import BadRequest

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(JSON)
def test_what_dump_accepts_loads_back_equal(doc: Any) -> None:
    raw = jsondoc.dump(doc)
    assert jsondoc.load(raw) == doc
    assert jsondoc.repaired(raw) is None


def test_dump_is_compact_and_keeps_non_ascii_text() -> None:
    assert jsondoc.dump({"title": "Überflutung Nord \u00bb", "n": [1, 2]}) == \
        '{"title":"Überflutung Nord \u00bb","n":[1,2]}'


@pytest.mark.parametrize(("doc", "field"), [
    ({"labels": {"x": math.nan}}, "labels.x"),
    ({"fields": {"n": math.inf}}, "fields.n"),
    ({"title": "lone \ud800 surrogate"}, "title"),
    ({"fields": {"big": 2**64}}, "fields.big"),
])
def test_dump_refuses_what_could_not_be_served_naming_the_field(doc: Any, field: str) -> None:
    with pytest.raises(BadRequest) as err:
        jsondoc.dump(doc, "case")
    assert field in str(err.value)


def test_dump_refuses_documents_nested_too_deep() -> None:
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    with pytest.raises(BadRequest):
        jsondoc.dump(deep)


def test_a_checked_document_is_not_checked_again() -> None:
    # The caller vouches for it (it was checked as part of a larger document), so
    # only the encoder's own refusal remains.
    assert jsondoc.dump({"n": 2**64}, checked=True) == '{"n":18446744073709551616}'
    with pytest.raises(ValueError):
        jsondoc.dump({"n": math.nan}, checked=True)


@pytest.mark.parametrize(("raw", "clean"), [
    ('{"x":NaN}', {"x": None}),
    ('{"x":[Infinity,-Infinity,1]}', {"x": [None, None, 1]}),
    ('{"t":"bad \\ud800 half"}', {"t": "bad \ufffd half"}),
    ('{"n":123456789012345678901}', {"n": "123456789012345678901"}),
])
def test_load_serves_an_old_poisoned_row_repaired_and_counts_it(raw: str,
                                                                clean: Any) -> None:
    before = repaired_total()
    assert jsondoc.load(raw, "case") == clean
    assert repaired_total() == before + 1
    fixed = jsondoc.repaired(raw)
    assert fixed is not None and json.loads(fixed) == clean
    assert jsondoc.repaired(fixed) is None  # repairing twice changes nothing


def test_suspect_looking_but_fine_rows_are_served_as_stored_without_counting() -> None:
    before = repaired_total()
    # a valid surrogate pair written with ASCII escapes, and a long digit run in text
    raw = '{"t":"\\ud83d\\ude92","id":"1234567890123456789"}'
    assert jsondoc.load(raw) == {"t": "\U0001f692", "id": "1234567890123456789"}
    assert jsondoc.repaired(raw) is None
    assert repaired_total() == before


def test_load_takes_bytes_too() -> None:
    assert jsondoc.load(b'{"a":"\xc3\xa9"}') == {"a": "é"}
    assert jsondoc.load(b'{"x":NaN}') == {"x": None}


@given(st.dictionaries(st.text(max_size=5),
                       st.floats() | st.integers() | st.text(max_size=8), max_size=5))
def test_whatever_an_older_version_stored_loads_into_something_dump_accepts(
        doc: dict[str, Any]) -> None:
    raw = json.dumps(doc)  # the permissive encoder of an older version
    served = jsondoc.load(raw)
    assert jsondoc.load(jsondoc.dump(served)) == served
