"""The language a text is in, when its sender did not say: langid's model (py3langid),
offline, choosing among the languages the caller names (an operation's), and only when
it is sure enough; otherwise None, and the caller falls back to its default.

The model (4.6 MB) is read once per process, off the event loop, the first time it is
needed; a text is classified in well under a millisecond.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["Detector"]

#: Below this probability among the candidate languages, the text's language is not
#: taken as known ("BRAVO-2 OK" is no language).
SURE = 0.8
#: A text shorter than this says too little to tell.
SHORTEST = 8


class Detector:
    def __init__(self, sure: float = SURE) -> None:
        self._sure = sure
        self._model: Any = None
        self._loading: asyncio.Lock | None = None
        self._lock = threading.Lock()  # set_languages then classify, one text at a time

    async def detect(self, text: str, among: Sequence[str]) -> str | None:
        """The language of ``text`` among ``among`` (ISO 639-1 codes), or None."""
        candidates = sorted(set(among))
        if len(candidates) < 2:
            return candidates[0] if candidates else None
        if len(text.strip()) < SHORTEST:
            return None
        model = await self._loaded()
        with self._lock:
            model.set_languages(candidates)
            lang, probability = model.classify(text)
        return str(lang) if probability >= self._sure else None

    async def _loaded(self) -> Any:
        if self._model is None:
            if self._loading is None:
                self._loading = asyncio.Lock()
            async with self._loading:
                if self._model is None:
                    self._model = await asyncio.to_thread(_load)
        return self._model


def _load() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
