"""hub/language/detect.py: the language of a text nobody named, among an operation's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.language.detect import Detector

DETECTOR = Detector()


async def test_sentences_are_told_apart_among_the_operation_s_languages() -> None:
    among = ["en", "es", "fr"]
    assert await DETECTOR.detect("El puente está cerrado desde esta mañana", among) == "es"
    assert await DETECTOR.detect("The bridge has been closed since this morning", among) == "en"
    assert await DETECTOR.detect("Le pont est fermé depuis ce matin", among) == "fr"


async def test_what_says_too_little_is_not_guessed() -> None:
    assert await DETECTOR.detect("BRAVO-2", ["en", "es"]) is None  # too short
    assert await DETECTOR.detect("BRAVO-2 OK 3 km 12:40", ["en", "es", "fr"]) is None
    assert await DETECTOR.detect("whatever it says", ["es"]) == "es"  # one language: it
    assert await DETECTOR.detect("whatever it says", []) is None


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200), st.lists(st.sampled_from(["en", "es", "fr", "de"]),
                                        max_size=4))
async def test_any_text_gets_one_of_the_languages_asked_or_none(
        text: str, among: list[str]) -> None:
    found = await DETECTOR.detect(text, among)
    assert found is None or found in among
