"""alerting/bodies.py: what alerting accepts, and the OpenAPI schema that says so.

The property: for any body a client might send, the hub accepts it exactly when the
published schema does (the document is as strict as the hub, and no stricter), rules
between fields included (``SCHEMA_RULES``).
"""

from __future__ import annotations

import re
import typing
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.bodies import (
    CASE_CATEGORY_NAMES,
    CASE_STATUS_NAMES,
    SEVERITY_NAMES,
    CaseChanges,
    NewCase,
    PushedAlert,
    ReviewCaseTranslation,
    case_fields,
)
from alerting.vocabulary import CASE_CATEGORIES, CASE_STATUSES, SEVERITIES
from hub.bodies import convert, schema
from hub.errors import BadRequest

VALIDATOR = jsonschema.Draft202012Validator(schema(PushedAlert))

texts = st.one_of(st.text(max_size=8), st.sampled_from(["", " ", "x" * 65, "\n", "pump 3"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(-2, 2), texts)
targets = st.one_of(texts, st.sampled_from(
    ["everyone", "coordinators", "role:member", "role:king", "channel:alerts", "user:",
     "agency:police", "channel:" + "c" * 65, "everyone\n"]))
values = st.one_of(scalars, st.lists(targets, max_size=3),
                   st.dictionaries(texts, scalars, max_size=3))
FIELDS = ["summary", "severity", "details", "fingerprint", "labels", "case", "exercise",
          "real_world", "route", "escalation", "label", "lang", "extra"]
#: Languages a sender might name, good and bad (ISO 639: two or three lower-case letters).
langs = st.one_of(st.sampled_from(["es", "eng", "EN", "e", "espa", "é", "es\n", "es-ES", ""]),
                  st.text(max_size=4))
bodies = st.dictionaries(st.sampled_from(FIELDS), st.one_of(
    values, langs, st.sampled_from(SEVERITIES),
    st.sampled_from(["pager", "a.b-c_d", "no spaces"])),
    max_size=6).map(lambda d: {"summary": "Pump 3 down", **d} if "summary" not in d else d)


def accepted(body: dict[str, Any]) -> bool:
    try:
        convert(body, PushedAlert)
    except BadRequest:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_the_schema_accepts_exactly_what_the_hub_accepts(body: dict[str, Any]) -> None:
    assert accepted(body) == VALIDATOR.is_valid(body), body


def test_the_words_are_the_vocabularys() -> None:
    assert typing.get_args(SEVERITY_NAMES) == SEVERITIES
    assert typing.get_args(CASE_CATEGORY_NAMES) == CASE_CATEGORIES
    assert typing.get_args(CASE_STATUS_NAMES) == CASE_STATUSES


CASE_FIELDS = ["title", "description", "category", "severity", "status", "location",
               "assignees", "fields", "exercise", "real_world", "label", "idempotency_key",
               "version", "lang", "extra"]
locations = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "lat": st.one_of(st.floats(-100, 100), st.integers(-200, 200), texts),
    "lon": st.one_of(st.floats(-200, 200), texts), "place": texts, "x": scalars}))
custom_fields = st.dictionaries(st.one_of(texts, st.sampled_from(
    ["a", "_b", "9x", "k" * 41, "casualties"])), scalars, max_size=3)
case_bodies = st.dictionaries(st.sampled_from(CASE_FIELDS), st.one_of(
    values, locations, custom_fields, langs, st.sampled_from(
        [*SEVERITIES, *CASE_CATEGORIES, *CASE_STATUSES, "MAJOR", 0, 1, 2])), max_size=6)


@settings(max_examples=400, deadline=None)
@given(case_bodies)
def test_the_case_schemas_accept_exactly_what_the_hub_accepts(body: dict[str, Any]) -> None:
    for kind in (NewCase, CaseChanges):
        validator = jsonschema.Draft202012Validator(schema(kind))
        try:
            convert(body, kind)
            hub_says = True
        except BadRequest:
            hub_says = False
        assert hub_says == validator.is_valid(body), (kind, body)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "description", "extra"]), st.one_of(
    values, st.sampled_from(["Evacuen ya", " \t", "x" * 201, "\u2028", "y" * 10_001])),
    max_size=3))
def test_a_translation_correction_is_taken_exactly_as_its_schema_says(
        body: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(schema(ReviewCaseTranslation))
    try:
        convert(body, ReviewCaseTranslation)
        hub_says = True
    except BadRequest as exc:
        hub_says = False
        assert "field" in str(exc) or "object" in str(exc), exc  # it names what is wrong
    assert hub_says == validator.is_valid(body), body


def test_case_fields_are_those_a_request_set_as_plain_values() -> None:
    changes = convert({"severity": "major", "location": {"place": "Bridge"}, "version": 3,
                       "idempotency_key": "k1", "label": None}, CaseChanges)
    assert case_fields(changes) == {"severity": "major", "location": {"place": "Bridge"},
                              "label": None}


@settings(max_examples=300, deadline=None)
@given(lang=st.one_of(langs, scalars))
def test_a_language_is_an_iso_639_code_or_a_400_naming_lang(lang: object) -> None:
    """Cases and alerts alike: the code stored is the one sent, anything else is refused
    at the edge with the field named (never stored, never a 500)."""
    code = isinstance(lang, str) and re.fullmatch(r"[a-z]{2,3}", lang) is not None
    for kind, body in ((PushedAlert, {"summary": "Pump 3 down"}), (NewCase, {"title": "Dam"}),
                       (CaseChanges, {"version": 1})):
        if code:
            assert convert({**body, "lang": lang}, kind).lang == lang  # type: ignore[attr-defined]
        else:
            with pytest.raises(BadRequest, match=re.escape("field 'lang'")):
                convert({**body, "lang": lang}, kind)


@pytest.mark.parametrize(("body", "field"), [
    ({"summary": "x", "route": ["pagers"]}, "route[0]"),
    ({"summary": "x", "labels": {"ok": 1, "k": [1]}}, "labels.k"),
    ({"summary": "x", "labels": {"a b": [1]}}, "labels['a b']"),
    ({"summary": "x", "escalation": "a b"}, "escalation"),
    ({"summary": "x", "label": {"level": "SECRET", "extra": 1}}, "label.extra"),
])
def test_a_refusal_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(f"field '{field}'")):
        convert(body, PushedAlert)
