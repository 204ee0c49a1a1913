"""channels/glossary_tbx.py: a glossary as TBX, both ways, and nothing unsafe read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.glossary_tbx import glossary_tbx, parse_glossary_tbx
from channels.languages import GlossaryDoc, TermDoc
from hub.errors import BadRequest

#: What a terminology tool exports in TBX's older style (TBX 2008, <martif>).
MARTIF = b"""<?xml version="1.0" encoding="UTF-8"?>
<martif type="TBX" xml:lang="en"><martifHeader><fileDesc><sourceDesc><p>x</p></sourceDesc>
</fileDesc></martifHeader><text><body>
<termEntry id="t1"><note>river bank</note>
 <langSet xml:lang="en"><tig><term>bank</term></tig></langSet>
 <langSet xml:lang="es-ES"><tig><term>orilla</term>
  <termNote type="grammaticalGender">feminine</termNote></tig>
  <tig><term>ribera</term></tig></langSet>
</termEntry></body></text></martif>"""


def _doc(*terms: TermDoc) -> GlossaryDoc:
    return {"version": 4, "terms": list(terms), "updated_by": "alice", "updated_at": 1.0}


def test_the_older_martif_style_reads_too_first_term_per_language_agreed() -> None:
    [term] = parse_glossary_tbx(MARTIF).terms
    assert (term.forms, term.genders, term.note, term.keep) == \
        ({"en": "bank", "es": "orilla"}, {"es": "f"}, "river bank", False)


@pytest.mark.parametrize(("data", "said"), [
    (b"not xml", "not a TBX document"),
    (b"<glossary/>", "root element"),
    (b'<!DOCTYPE tbx [<!ENTITY x "y">]><tbx>&x;</tbx>', "not a TBX document"),
    (b'<tbx><text><body><conceptEntry><langSec xml:lang="en"><termSec><term>bank</term>'
     b'<termNote type="grammaticalGender">neuter</termNote></termSec></langSec>'
     b"</conceptEntry></body></text></tbx>", "entry 1"),
    (b"<tbx><text><body><conceptEntry/></body></text></tbx>", "entry 1"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_why(data: bytes, said: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_glossary_tbx(data)
    assert said in refused.value.message


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
               max_size=20).filter(lambda s: s.strip() == s)
terms = st.builds(
    lambda forms, keep, genders, note: TermDoc(
        forms=dict(list(forms.items())[:1]) if keep else forms, keep=keep,
        genders={} if keep else {k: v for k, v in genders.items() if k in forms}, note=note),
    st.dictionaries(st.sampled_from(["en", "es", "fr"]), text, min_size=1), st.booleans(),
    st.dictionaries(st.sampled_from(["en", "es", "fr"]), st.sampled_from(["m", "f"])),
    st.one_of(st.just(""), text))


@given(st.lists(terms, max_size=6))
def test_a_glossary_written_as_tbx_reads_back_the_same(written: list[TermDoc]) -> None:
    back = parse_glossary_tbx(glossary_tbx(_doc(*written), "OP-A"))
    assert [(t.forms, t.keep, t.genders, t.note) for t in back.terms] == \
        [(t["forms"], t["keep"], t["genders"], t["note"]) for t in written]


@given(st.binary(max_size=300))
def test_any_bytes_are_terms_or_a_bad_request(data: bytes) -> None:
    try:
        parse_glossary_tbx(data)
    except BadRequest:
        pass
