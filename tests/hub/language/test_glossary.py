"""hub/language/glossary.py: agreed spans out of the engine's reach and back."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from hub.language.glossary import Glossary, Term, protect, restore

BANK = Term({"en": "bank", "es": "orilla", "fr": "rive"}, genders={"es": "f", "fr": "f"})
NORTH_BANK = Term({"en": "north bank", "es": "orilla norte"}, genders={"es": "f"})
KERNS = Term({"en": "Kerns"}, keep=True)
GLOSSARY = Glossary((BANK, NORTH_BANK, KERNS), version=7)


def test_an_agreed_term_becomes_a_placeholder_of_its_gender_and_comes_back_agreed() -> None:
    p = protect("Evacuate the bank now", GLOSSARY, "en", "es")
    assert p.text == "Evacuate the Elena now"   # feminine, as "orilla" is
    assert restore("Evacuar la Elena ahora", p).text == "Evacuar la orilla ahora"


def test_the_longest_term_wins_and_matching_ignores_case_and_spacing() -> None:
    p = protect("Evacuate the North  Bank now", GLOSSARY, "en", "es")
    assert [(s.written, s.shown) for s in p.slots] == [("North  Bank", "orilla norte")]


def test_what_is_never_translated_reaches_the_engine_as_placeholders_only() -> None:
    text = ("BRAVO-2 is 3 km from Kerns: ask @bruno.k or ops@example.org about "
            "case_abcdefghijkl, map at https://maps.example.org/a?b=1.")
    p = protect(text, GLOSSARY, "en", "es")
    for kept in ("BRAVO-2", "3 km", "Kerns", "@bruno.k", "ops@example.org",
                 "case_abcdefghijkl", "https://maps.example.org/a?b=1"):
        assert kept not in p.text
        assert kept in [s.written for s in p.slots]
    assert restore(p.text, p).text == text
    assert p.text.endswith(".")  # the link stops before the sentence's full stop


def test_a_term_without_an_agreed_form_is_kept_as_written_and_flagged() -> None:
    p = protect("Evacuate the bank", Glossary((Term({"en": "bank", "es": "orilla"}),)),
                "en", "fr")
    assert p.missing == ("bank",)
    assert restore(p.text.replace("Evacuate the", "Évacuer le"), p).text == "Évacuer le bank"


def test_a_term_opening_a_sentence_opens_with_a_capital() -> None:
    p = protect("Bank flooded. The bank too.", GLOSSARY, "en", "es")
    assert restore(p.text, p).text == "Orilla flooded. The orilla too."


def test_no_placeholder_is_a_name_the_text_holds_or_an_engine_would_write() -> None:
    p = protect("Elena and Helen saw the bank", GLOSSARY, "en", "es")
    # Elena is taken; Helen may come back from the engine as "Elena"; Ana is next.
    assert p.slots[0].placeholder == "Ana"


def test_a_placeholder_the_engine_dropped_is_reported_lost() -> None:
    p = protect("Evacuate the bank now", GLOSSARY, "en", "es")
    assert restore("Evacuar ahora", p).lost == ("bank",)


def test_more_spans_than_names_still_get_distinct_placeholders() -> None:
    many = " ".join(f"@user{i}" for i in range(40))
    p = protect(many, GLOSSARY, "en", "es")
    assert len({s.placeholder for s in p.slots}) == 40
    assert restore(p.text, p).text == many


words = st.sampled_from(["the", "bank", "north", "Kerns", "BRAVO-2", "3 km", "@ana",
                         "Elena", "Pedro", "now", "river", "70001", "x", "é", "."])
texts = st.lists(st.one_of(words, st.text(max_size=6)), max_size=30).map(" ".join)


@given(texts)
def test_placeholders_are_distinct_new_words_and_an_unchanged_text_restores_whole(
        text: str) -> None:
    p = protect(text, GLOSSARY, "en", "es")
    assert len({s.placeholder for s in p.slots}) == len(p.slots)
    for s in p.slots:
        assert re.search(rf"(?<!\w){re.escape(s.placeholder)}(?!\w)", text,
                         re.IGNORECASE) is None, s.placeholder
    assert restore(p.text, p).lost == ()
    kept = protect(text, Glossary((KERNS,)), "en", "es")  # nothing to put in Spanish
    assert restore(kept.text, kept).text == text


@given(texts)
def test_every_agreed_term_reads_as_its_spanish_form(text: str) -> None:
    p = protect(text, GLOSSARY, "en", "es")
    back = restore(p.text, p).text
    assert re.search(r"(?<!\w)bank(?!\w)", back, re.IGNORECASE) is None
    assert back.lower().count("orilla") == sum(s.kind == "term" for s in p.slots) + \
        text.lower().count("orilla")
