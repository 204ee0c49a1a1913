"""hub/language: the engines' port and the translator, against a real Apertium APy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hub.clock import ManualClock
from hub.errors import TranslationFailed
from hub.language.engines import ApertiumEngine, LibreTranslateEngine, engine_from_url
from hub.language.glossary import Glossary, Term
from hub.language.translator import Translator
from tests.apertium import Apy, CountingTransport, apy

BANK = Term({"en": "bank", "es": "orilla"}, genders={"es": "f"})


@pytest.fixture(scope="module")
def server() -> Iterator[Apy]:
    yield from apy()


@pytest.fixture
async def counted(server: Apy) -> AsyncIterator[tuple[Translator, CountingTransport]]:
    transport = CountingTransport()
    engine = ApertiumEngine(server.url, transport=transport)
    yield Translator(engine, ManualClock()), transport
    await engine.aclose()


async def test_apertium_lists_its_pairs_in_the_hub_s_tags(
        counted: tuple[Translator, CountingTransport]) -> None:
    translator, _ = counted
    assert {("en", "es"), ("es", "en"), ("fr", "es"), ("es", "fr")} <= \
        await translator.pairs()


async def test_the_glossary_is_what_turns_the_engine_s_bank_into_the_agreed_orilla(
        counted: tuple[Translator, CountingTransport]) -> None:
    translator, transport = counted
    text = "Evacuate the north bank now"
    raw = await translator.translate(text, "en", "es", Glossary())
    agreed = await translator.translate(text, "en", "es", Glossary((BANK,), version=3))
    assert raw is not None and agreed is not None
    assert "banco" in raw.text and "orilla" not in raw.text
    assert "orilla" in agreed.text and "banco" not in agreed.text
    assert (agreed.engine, agreed.route, agreed.glossary_version, agreed.pivoted) == \
        ("apertium", ("en", "es"), 3, False)
    assert transport.translations == 2


async def test_what_is_never_translated_arrives_unchanged(
        counted: tuple[Translator, CountingTransport]) -> None:
    translator, _ = counted
    kerns = Term({"en": "Kerns"}, keep=True)
    text = "BRAVO-2 moves 3 km north of Kerns with @bruno for case_abcdefghijkl"
    out = await translator.translate(text, "en", "es", Glossary((kerns,)))
    assert out is not None
    for kept in ("BRAVO-2", "3 km", "Kerns", "@bruno", "case_abcdefghijkl"):
        assert kept in out.text, (kept, out.text)


async def test_french_to_english_pivots_through_spanish_only_when_allowed(
        counted: tuple[Translator, CountingTransport]) -> None:
    translator, transport = counted
    assert await translator.translate("La digue a cédé", "fr", "en", Glossary()) is None
    assert transport.translations == 0
    out = await translator.translate("La digue a cédé", "fr", "en", Glossary(), pivot=True)
    assert out is not None and out.pivoted and out.route == ("fr", "es", "en")
    assert transport.translations == 2 and out.text != "La digue a cédé"


async def test_an_engine_gone_is_a_translation_failure_remembered_until_it_answers(
        server: Apy) -> None:
    translator = Translator(ApertiumEngine(server.url, timeout=5), ManualClock())
    assert await translator.translate("Hello", "en", "es", Glossary()) is not None
    server.stop()
    try:
        with pytest.raises(TranslationFailed):
            await translator.translate("Hello", "en", "es", Glossary())
        assert not translator.available and "unreachable" in (translator.failure or "")
    finally:
        server.start()
    assert await translator.translate("Hello", "en", "es", Glossary()) is not None
    assert translator.available
    await translator.engine.aclose()


def test_an_engine_is_configured_as_kind_plus_url() -> None:
    assert engine_from_url("apertium+http://127.0.0.1:2737").name == "apertium"
    assert engine_from_url("libretranslate+https://lt.example.org").name == "libretranslate"
    for bad in ("http://127.0.0.1:2737", "deepl+https://api.deepl.com", "apertium+ftp://x"):
        with pytest.raises(ValueError, match="translation engine"):
            engine_from_url(bad)


async def test_libretranslate_is_spoken_as_its_documentation_says() -> None:
    """A double: LibreTranslate needs language models downloaded at run time, which
    this machine cannot, so its API (as documented at libretranslate.com/docs) is
    answered here by a handler that checks each request's shape."""
    seen: list[tuple[str, str, bytes]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.content))
        if request.url.path == "/languages":
            return httpx.Response(200, json=[{"code": "en", "name": "English",
                                              "targets": ["en", "es"]},
                                             {"code": "es", "name": "Spanish",
                                              "targets": ["en"]}])
        return httpx.Response(200, json={"translatedText": "Evacuar la orilla"})

    engine = LibreTranslateEngine("https://lt.example.org", api_key="k",
                                  transport=httpx.MockTransport(answer))
    assert await engine.pairs() == {("en", "es"), ("es", "en")}
    assert await engine.translate("Evacuate the bank", "en", "es") == "Evacuar la orilla"
    method, path, body = seen[-1]
    assert (method, path) == ("POST", "/translate")
    assert json.loads(body) == {"q": "Evacuate the bank", "source": "en", "target": "es",
                                "format": "text", "api_key": "k"}
    await engine.aclose()
