"""channels/glossary_files.py: a glossary as CSV, both ways, and nothing else read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.glossary_files import glossary_csv, parse_glossary_csv
from channels.languages import GlossaryDoc, TermDoc
from hub.errors import BadRequest


def _doc(*terms: TermDoc) -> GlossaryDoc:
    return {"version": 3, "terms": list(terms), "updated_by": "alice", "updated_at": 1.0}


def test_a_file_from_a_spreadsheet_reads_as_terms() -> None:
    body = parse_glossary_csv("\ufeffen,es,fr,keep,gender:es,note\r\n"
                              "bank,orilla,rive,,f,river bank\r\n"
                              "Kerns,,,yes,,a village\r\n"
                              ",,,,,\r\n"
                              "levee,dique,,no,,\r\n".lstrip("\ufeff"))
    assert [(t.forms, t.keep, t.genders, t.note) for t in body.terms] == [
        ({"en": "bank", "es": "orilla", "fr": "rive"}, False, {"es": "f"}, "river bank"),
        ({"en": "Kerns"}, True, {}, "a village"),
        ({"en": "levee", "es": "dique"}, False, {}, "")]


def test_what_a_spreadsheet_would_run_is_written_quoted_and_read_back_as_it_was() -> None:
    doc = _doc({"forms": {"en": "@bruno"}, "keep": True, "genders": {}, "note": "=1+1"},
               {"forms": {"en": "-3 km", "es": "+3 km"}, "keep": False, "genders": {},
                "note": ""})
    text = glossary_csv(doc)
    assert "'@bruno" in text and "'=1+1" in text and "'-3 km" in text
    back = parse_glossary_csv(text)
    assert [(t.forms, t.note) for t in back.terms] == [({"en": "@bruno"}, "=1+1"),
                                                       ({"en": "-3 km", "es": "+3 km"}, "")]


@pytest.mark.parametrize(("text", "said"), [
    ("", "empty"),
    ("term,meaning\nbank,orilla\n", "row 1, column 1 ('term')"),
    ("en,en\nbank,bank\n", "names a column twice"),
    ("keep,note\nyes,x\n", "no language column"),
    ("en,es\nbank,orilla,extra\n", "row 2 has 3 cells"),
    ("en,keep\nbank,maybe\n", "row 2, column 'keep'"),
    ("en,es,gender:es\nbank,orilla,x\n", "row 2"),
    ('en\n"bank\n', "glossary CSV"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_where(text: str, said: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_glossary_csv(text)
    assert said in refused.value.message


term_text = st.builds(
    lambda head, rest: head + rest, st.sampled_from(["", "'", "=", "-", "@", "''", "'="]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
).filter(lambda s: s.strip() == s and s != "")
terms = st.builds(
    lambda forms, keep, note: TermDoc(forms=dict(list(forms.items())[:1]) if keep else forms,
                                      keep=keep, genders={}, note=note),
    st.dictionaries(st.sampled_from(["en", "es", "fr"]), term_text, min_size=1),
    st.booleans(), st.one_of(st.just(""), term_text))


@given(st.lists(terms, max_size=8))
def test_a_glossary_written_as_csv_reads_back_the_same(written: list[TermDoc]) -> None:
    back = parse_glossary_csv(glossary_csv(_doc(*written)))
    assert [(t.forms, t.keep, t.note) for t in back.terms] == \
        [(t["forms"], t["keep"], t["note"]) for t in written]


@given(st.text(max_size=300))
def test_any_text_is_terms_or_a_bad_request(text: str) -> None:
    try:
        parse_glossary_csv(text)
    except BadRequest:
        pass
