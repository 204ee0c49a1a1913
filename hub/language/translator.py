"""One text into one language: the route, the glossary, the engine, the provenance.

:class:`Translator` picks the engine's direct pair, or a pivot through a third language
when the caller allows it (marked as pivoted); protects the glossary's spans, calls the
engine (at most ``concurrency`` calls at once, each bounded by the engine's timeout),
puts the agreed spans back, and says where the text came from. A failed or lost call is
a :class:`~hub.errors.TranslationFailed`; the translator remembers it, so readiness can
say translation is unavailable, until a later call succeeds.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from hub.clock import Clock
from hub.errors import TranslationFailed
from hub.language.engines import Pair, TranslationEngine
from hub.language.glossary import Glossary, protect, restore

__all__ = ["Translation", "Translator"]

T = TypeVar("T")

#: How long the engine's list of pairs is trusted before it is asked again.
PAIRS_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Translation:
    """A machine translation and its provenance (what an inquiry needs to know)."""

    text: str
    source: str
    target: str
    engine: str
    route: tuple[str, ...]          # ("en", "es"), or ("fr", "es", "en") when pivoted
    glossary_version: int
    missing_terms: tuple[str, ...]  # agreed terms with no form in the target language

    @property
    def pivoted(self) -> bool:
        return len(self.route) > 2


class Translator:
    def __init__(self, engine: TranslationEngine, clock: Clock, *, concurrency: int = 4) -> None:
        self.engine = engine
        self._clock = clock
        self._calls = asyncio.Semaphore(concurrency)
        self._pairs: frozenset[Pair] = frozenset()
        self._pairs_at: float | None = None
        self.failure: str | None = None   # the last call's failure, until one succeeds

    @property
    def available(self) -> bool:
        return self.failure is None

    async def pairs(self, *, fresh: bool = False) -> frozenset[Pair]:
        """The engine's pairs (asked again after PAIRS_SECONDS, or now when ``fresh``)."""
        now = self._clock.now()
        if fresh or self._pairs_at is None or now - self._pairs_at > PAIRS_SECONDS:
            self._pairs = await self._call(self.engine.pairs())
            self._pairs_at = now
        return self._pairs

    async def route(self, source: str, target: str, *, pivot: bool) -> tuple[str, ...] | None:
        """The languages a text goes through, or None when the engine cannot do it."""
        pairs = await self.pairs()
        if (source, target) in pairs:
            return (source, target)
        if pivot:
            middles = sorted(m for s, m in pairs if s == source and (m, target) in pairs)
            if middles:
                return (source, middles[0], target)
        return None

    async def translate(self, text: str, source: str, target: str, glossary: Glossary, *,
                        pivot: bool = False) -> Translation | None:
        """``text`` in ``target``; None when no route exists. Raises TranslationFailed."""
        route = await self.route(source, target, pivot=pivot)
        if route is None:
            return None
        protected = protect(text, glossary, source, target)
        out = protected.text
        for src, tgt in itertools.pairwise(route):
            out = await self._call(self.engine.translate(out, src, tgt))
        restored = restore(out, protected)
        if restored.lost:
            raise TranslationFailed(f"the engine lost {len(restored.lost)} agreed term(s)")
        return Translation(restored.text, source, target, self.engine.name, route,
                           glossary.version, protected.missing)

    async def _call(self, call: Awaitable[T]) -> T:
        async with self._calls:
            try:
                result = await call
            except TranslationFailed as exc:
                self.failure = str(exc)
                raise
        self.failure = None
        return result
