"""hub/labels.py: parsing labels from requests, who may see them, and what may sit
under a container's label."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.api_schemas import under_policy
from hub.labels import LABEL_SCHEMA_MARK, NOBODY, REL_TO, Clearance, Label, LabelError, Policy

POLICY = Policy()
AGENCIES = ["ARMY", "POLICE", "BORDER", "UN"]
levels = st.sampled_from(POLICY.levels)
lists = st.frozensets(st.sampled_from(AGENCIES), min_size=1)


@st.composite
def labels(draw: Any) -> Label:
    level = draw(levels)
    rel = draw(st.one_of(st.none(), lists))
    return Label(level, () if rel is None else ((REL_TO, rel),))


readers = st.builds(Clearance, levels, st.sampled_from(AGENCIES))


def test_a_label_parses_from_a_request_and_reads_back() -> None:
    label = POLICY.parse({"level": "SECRET", "categories": {"REL TO": ["POLICE", "ARMY"]}},
                         "label")
    assert label.marking() == "SECRET REL TO ARMY, POLICE"
    assert label.to_dict() == {"level": "SECRET", "categories": {"REL TO": ["ARMY", "POLICE"]}}
    assert POLICY.parse(label.to_dict(), "label") == label
    assert POLICY.parse("RESTRICTED", "label") == Label("RESTRICTED")


@pytest.mark.parametrize(("raw", "field", "says"), [
    (7, "label", "must be an object"),
    ({"level": "TOP"}, "label.level", "UNCLASSIFIED, RESTRICTED"),
    ({"level": "SECRET", "caveat": 1}, "label.caveat", "not a label field"),
    ({"level": "SECRET", "categories": []}, "label.categories", "object of lists"),
    ({"level": "SECRET", "categories": {"NOFORN": ["X"]}}, "label.categories.NOFORN",
     "not a category"),
    ({"level": "SECRET", "categories": {"REL TO": []}}, "label.categories.REL TO",
     "list of 1-64"),
    ({"level": "SECRET", "categories": {"REL TO": ["A\u0000"]}}, "label.categories.REL TO",
     "printable"),
    ({"level": "SECRET", "categories": {"REL TO": [" A"]}}, "label.categories.REL TO",
     "printable"),
])
def test_a_bad_label_names_its_field(raw: object, field: str, says: str) -> None:
    with pytest.raises(LabelError) as err:
        POLICY.parse(raw, "label")
    assert err.value.field == field and says in err.value.message


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=10))
def test_any_input_parses_or_is_refused_with_a_field(raw: object) -> None:
    try:
        label = POLICY.parse(raw, "label")
    except LabelError as exc:
        assert exc.field.startswith("label")
    else:
        assert POLICY.parse(label.to_dict(), "label") == label


def test_clearance_level_and_releasability_both_count() -> None:
    secret_police = POLICY.label("SECRET", rel_to=["POLICE"])
    assert POLICY.may_see(Clearance("SECRET", "POLICE"), secret_police)
    assert not POLICY.may_see(Clearance("SECRET", "ARMY"), secret_police)
    assert not POLICY.may_see(Clearance("CONFIDENTIAL", "POLICE"), secret_police)
    granted = POLICY.clearance("SECRET", "ARMY", {"REL TO": ["POLICE"]})
    assert POLICY.may_see(granted, secret_police)  # a value granted besides the agency
    assert not POLICY.may_see(Clearance("NOT A LEVEL", "POLICE"), POLICY.lowest)


@given(readers, labels(), labels())
def test_what_sits_within_a_container_is_seen_by_nobody_the_container_hides_it_from(
        reader: Clearance, item: Label, ceiling: Label) -> None:
    """Narrowing is allowed, widening is not: so an item within its container is never
    visible to a reader from whom the container's releasability keeps it."""
    if POLICY.within(item, ceiling) is None and POLICY.may_see(reader, item):
        assert POLICY.rank(reader.level) >= POLICY.rank(item.level)
        for name, values in ceiling.categories:
            assert reader.holds(name) & values


@given(labels(), labels(), labels())
def test_within_is_an_order(a: Label, b: Label, c: Label) -> None:
    assert POLICY.within(a, a) is None
    if POLICY.within(a, b) is None and POLICY.within(b, c) is None:
        assert POLICY.within(a, c) is None


def test_within_says_why_not() -> None:
    ceiling = POLICY.label("CONFIDENTIAL", rel_to=["POLICE", "ARMY"])
    assert POLICY.within(POLICY.label("SECRET", rel_to=["POLICE"]), ceiling) == \
        "SECRET is above its container's CONFIDENTIAL"
    assert "wider" in str(POLICY.within(POLICY.label("RESTRICTED", rel_to=["UN", "ARMY"]),
                                        ceiling))
    assert "must keep" in str(POLICY.within(POLICY.label("RESTRICTED"), ceiling))
    assert POLICY.within(POLICY.label("RESTRICTED", rel_to=["ARMY"]), ceiling) is None


def test_a_policy_refuses_to_be_ambiguous() -> None:
    with pytest.raises(ValueError, match="at least one level"):
        Policy(levels=())
    with pytest.raises(ValueError, match="twice"):
        Policy(levels=("A", "A"))
    with pytest.raises(ValueError, match="outer spaces"):
        Policy(categories=(" REL TO",))
    described = Policy(levels=("OFFEN", "VS-NfD"), colours=()).describe()
    assert described["levels"] == ["OFFEN", "VS-NfD"]
    assert described["colours"] == {"OFFEN": "#4a4a4a", "VS-NfD": "#4a4a4a"}


@given(readers, labels(), labels())
def test_covers_means_every_reader_of_the_outer_label_sees_the_inner(
        reader: Clearance, outer: Label, inner: Label) -> None:
    if POLICY.covers(outer, inner) and POLICY.may_see(reader, outer):
        assert POLICY.may_see(reader, inner)


def test_covers_and_stored_records() -> None:
    channel = POLICY.label("SECRET", rel_to=["POLICE", "ARMY"])
    assert POLICY.covers(channel, POLICY.label("RESTRICTED"))
    assert POLICY.covers(channel, POLICY.label("SECRET", rel_to=["POLICE", "ARMY", "UN"]))
    assert not POLICY.covers(channel, POLICY.label("SECRET", rel_to=["POLICE"]))
    assert not POLICY.covers(POLICY.label("RESTRICTED"), POLICY.label("SECRET"))
    assert POLICY.of_record(None) is None
    assert POLICY.of_record({"level": "SECRET"}) == Label("SECRET")
    assert POLICY.of_record({"level": "GONE"}) == Label("SECRET")  # closed, never open
    assert not POLICY.may_see(Clearance("SECRET", "POLICE"), Label("GONE"))


@given(st.lists(labels(), max_size=5), readers)
def test_who_may_see_a_join_may_see_every_label_in_it(parts: list[Label],
                                                      reader: Clearance) -> None:
    """What a rate alert counts bounds who sees it (issue 24, finding 6)."""
    joined = POLICY.join(parts)
    assert POLICY.parse(joined.to_dict(), "label") == joined  # stored and read back
    if POLICY.may_see(reader, joined):
        assert all(POLICY.may_see(reader, p) for p in parts)
    # ... and it is the least such label for a reader of one agency.
    if all(POLICY.may_see(reader, p) for p in parts):
        assert POLICY.may_see(reader, joined)


def test_a_join_of_labels_released_to_no_common_agency_is_shown_to_nobody() -> None:
    police, army = (Label("RESTRICTED", ((REL_TO, frozenset({a})),)) for a in ("POLICE", "ARMY"))
    joined = POLICY.join([police, army, Label("SECRET")])
    assert joined.level == "SECRET" and joined.values(REL_TO) == {NOBODY}
    assert not any(POLICY.may_see(Clearance("SECRET", a), joined) for a in AGENCIES)


LABEL_PARTS = st.one_of(
    st.sampled_from(["SECRET", "RESTRICTED", "secret", "", "TOP"]),
    st.fixed_dictionaries({"level": st.sampled_from(["SECRET", "UNCLASSIFIED", "X", 3])},
                          optional={"categories": st.one_of(
                              st.dictionaries(st.sampled_from([REL_TO, "OTHER"]), st.one_of(
                                  st.lists(st.one_of(st.text(max_size=4), st.sampled_from(
                                      ["POLICE", " ARMY", "a\tb", "x" * 65, "\x85z"])),
                                      max_size=3), st.text(max_size=2)), max_size=2),
                              st.integers()),
                              "marking": st.just("SECRET")}))


@settings(max_examples=400, deadline=None)
@given(LABEL_PARTS)
@example({"level": "SECRET", "categories": {REL_TO: []}})
@example({"level": "SECRET", "categories": {REL_TO: ["x" * 64]}})
@example({"level": "SECRET", "categories": {"OTHER": ["POLICE"]}})
def test_the_published_label_schema_accepts_what_the_policy_parses(raw: Any) -> None:
    """What the OpenAPI document says of a label input (the deployment's levels and
    categories) is what the hub takes; a request's ``marking`` is refused by the body
    declarations before the policy reads it, so the schema leaves it out."""
    policy = Policy()
    try:
        policy.parse(raw, "label")
        parses = not (isinstance(raw, dict) and "marking" in raw)
    except LabelError:
        parses = False
    assert jsonschema.Draft202012Validator(policy.input_schema()).is_valid(raw) == parses, raw


def test_the_document_names_the_policy_in_every_label_input() -> None:
    policy = Policy(levels=("OPEN", "CLOSED"), categories=(REL_TO, "CAVEAT"))
    doc = {"a": [{"properties": {"label": {LABEL_SCHEMA_MARK: True, "anyOf": []}}}],
           "b": {"anyOf": [{LABEL_SCHEMA_MARK: True}, {"type": "null"}]}}
    out = under_policy(doc, policy)
    assert out["a"][0]["properties"]["label"] == policy.input_schema()
    assert out["b"]["anyOf"] == [policy.input_schema(), {"type": "null"}]
    assert "OPEN" in str(out) and LABEL_SCHEMA_MARK not in str(out)
