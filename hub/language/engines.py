"""The port a self-hosted machine translation engine sits behind, and its two providers.

An engine says which pairs it translates and translates one plain text of one pair.
Providers: :class:`ApertiumEngine`, Apertium's HTTP service APy (tested against the
real one, Debian's ``apertium-apy``), and :class:`LibreTranslateEngine`, the API of
LibreTranslate and the servers compatible with it (built from its documentation and
untested here: LibreTranslate needs language models downloaded at run time, which this
machine cannot). Texts go in request bodies, never in URLs, so no access log holds them.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from hub.errors import TranslationFailed
from hub.language.codes import from_iso639_3, to_iso639_3

__all__ = ["KINDS", "ApertiumEngine", "LibreTranslateEngine", "Pair", "TranslationEngine",
           "engine_from_url", "engine_spec"]

#: (source tag, target tag), e.g. ("en", "es").
Pair = tuple[str, str]


class TranslationEngine(Protocol):
    """What the hub asks of a translation engine."""

    @property
    def name(self) -> str: ...

    async def pairs(self) -> frozenset[Pair]: ...

    async def translate(self, text: str, source: str, target: str) -> str: ...

    async def aclose(self) -> None: ...


class _Http:
    """One HTTP client per engine; every failure to reach it is a TranslationFailed."""

    def __init__(self, url: str, timeout: float, transport: httpx.AsyncBaseTransport | None):
        self.client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout,
                                        transport=transport, follow_redirects=False)

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TranslationFailed(f"translation engine unreachable: {type(exc).__name__}") \
                from exc
        if answer.status_code != 200:
            raise TranslationFailed(f"translation engine answered {answer.status_code}")
        try:
            return answer.json()
        except ValueError as exc:
            raise TranslationFailed("translation engine answered something not JSON") from exc


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TranslationFailed("translation engine answered without a text")
    return value


class ApertiumEngine:
    """Apertium APy: ``GET /listPairs``, ``POST /translate`` (form: ``langpair``, ``q``).
    Unknown words are not marked (APy's ``*``), so a place name reads as written."""

    name = "apertium"

    def __init__(self, url: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = _Http(url, timeout, transport)
        self._codes: dict[Pair, str] = {}

    async def pairs(self) -> frozenset[Pair]:
        data = await self._http.call("GET", "/listPairs")
        codes: dict[Pair, str] = {}
        rows = data.get("responseData") if isinstance(data, dict) else None
        for row in rows if isinstance(rows, list) else ():
            if not isinstance(row, dict):
                continue
            src, tgt = str(row.get("sourceLanguage", "")), str(row.get("targetLanguage", ""))
            pair = (from_iso639_3(src), from_iso639_3(tgt))
            if pair[0] and pair[1] and pair[0] != pair[1]:
                # "spa|eng" over "spa|eng_US": the plain pair when there is one.
                if pair not in codes or "_" not in f"{src}{tgt}":
                    codes[(pair[0], pair[1])] = f"{src}|{tgt}"
        self._codes = codes
        return frozenset(codes)

    async def translate(self, text: str, source: str, target: str) -> str:
        langpair = self._codes.get((source, target)) or \
            f"{to_iso639_3(source)}|{to_iso639_3(target)}"
        data = await self._http.call("POST", "/translate", data={
            "langpair": langpair, "q": text, "markUnknown": "no"})
        body = data.get("responseData") if isinstance(data, dict) else None
        if not isinstance(body, dict) or data.get("responseStatus") != 200:
            raise TranslationFailed("translation engine refused the text")
        return _text(body.get("translatedText"))

    async def aclose(self) -> None:
        await self._http.client.aclose()


class LibreTranslateEngine:
    """LibreTranslate's API: ``GET /languages``, ``POST /translate`` (JSON ``q``,
    ``source``, ``target``, ``format``, ``api_key``). Untested against a real server."""

    name = "libretranslate"

    def __init__(self, url: str, *, api_key: str = "", timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = _Http(url, timeout, transport)
        self._key = api_key

    async def pairs(self) -> frozenset[Pair]:
        data = await self._http.call("GET", "/languages")
        out: set[Pair] = set()
        for row in data if isinstance(data, list) else ():
            if not isinstance(row, dict) or not isinstance(row.get("code"), str):
                continue
            targets = row.get("targets")
            for tgt in targets if isinstance(targets, list) else ():
                if isinstance(tgt, str) and tgt != row["code"]:
                    out.add((row["code"], tgt))
        return frozenset(out)

    async def translate(self, text: str, source: str, target: str) -> str:
        body: dict[str, str] = {"q": text, "source": source, "target": target,
                                "format": "text"}
        if self._key:
            body["api_key"] = self._key
        data = await self._http.call("POST", "/translate", json=body)
        return _text(data.get("translatedText") if isinstance(data, dict) else None)

    async def aclose(self) -> None:
        await self._http.client.aclose()


KINDS = ("apertium", "libretranslate")


def engine_spec(spec: str) -> tuple[str, str]:
    """(kind, url) of ``apertium+http://host:port`` or ``libretranslate+https://host``."""
    kind, sep, url = spec.partition("+")
    if not sep or not url.startswith(("http://", "https://")):
        raise ValueError(f"translation engine {spec!r}: write KIND+URL, e.g. "
                         "apertium+http://127.0.0.1:2737")
    if kind not in KINDS:
        raise ValueError(f"translation engine {spec!r}: the kinds are {', '.join(KINDS)}")
    return kind, url


def engine_from_url(spec: str, *, api_key: str = "", timeout: float = 10.0,
                    ) -> TranslationEngine:
    """The engine ``spec`` (see :func:`engine_spec`) names."""
    kind, url = engine_spec(spec)
    if kind == "apertium":
        return ApertiumEngine(url, timeout=timeout)
    return LibreTranslateEngine(url, api_key=api_key, timeout=timeout)
