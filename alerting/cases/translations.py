"""A case's title and description in each language its operation reads in.

After a case is written, where its operation translates and the case's label is within
the policy's ceiling, the hub translates the version's title and description into each
other language of the operation, in the background, and keeps them as a state document
of the operation per case and language (``case-tr:<case>:<lang>``) naming the version
they translate and their provenance. A version already translated (same texts) is not
asked for again; what the operation's CAP documents carry in each language is read from
here (:mod:`alerting.interop.cap_service`). The case's own language is the operation's
default until cases say theirs. Nothing here blocks a case write.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TypedDict

from alerting.documents import CaseDoc
from channels.access import Access
from channels.languages import Languages
from hub.clock import Clock
from hub.documents import StateName
from hub.engine.port import Records
from hub.errors import HubError
from hub.language.detect import Detector
from hub.language.translator import Translator
from hub.models import OperationId

__all__ = ["CaseTranslationDoc", "CaseTranslations", "case_translation"]

log = logging.getLogger(__name__)


class CaseTranslationDoc(TypedDict):
    version: int          # the case version these texts translate
    title: str
    description: str
    original: list[str]   # the title and description translated (a later version with
                          # the same texts and glossary is not sent to the engine again)
    source: str
    engine: str
    route: list[str]
    glossary_version: int
    at: float


def case_translation(case_id: str, lang: str) -> StateName[CaseTranslationDoc]:
    """Where a case's translation into ``lang`` is kept."""
    return StateName(f"case-tr:{case_id}:{lang}")


_state = case_translation


class CaseTranslations:
    def __init__(self, *, store: Records, access: Access, languages: Languages,
                 translator: Translator | None, clock: Clock, detector: Detector) -> None:
        self._store = store
        self._detector = detector
        self._access = access
        self._languages = languages
        self._translator = translator
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def written(self, op_id: OperationId, case: CaseDoc, version: int) -> None:
        """A case version was written: its translations start (returns at once)."""
        if self._translator is None:
            return
        task = asyncio.get_running_loop().create_task(self._make(op_id, case, version))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _make(self, op_id: OperationId, case: CaseDoc, version: int) -> None:
        assert self._translator is not None
        try:
            policy = await self._languages.in_force(op_id)
            label = self._access.policy.of_record(case.get("label")) or \
                self._access.policy.lowest
            if not policy["translate"] or not self._languages.may_send(policy, label):
                return
            glossary = await self._languages.glossary(op_id)
            said = f"{case['title']}. {case['description']}"
            source = await self._detector.detect(said, policy["languages"]) \
                or policy["default"]
            for lang in policy["languages"]:
                if lang == source:
                    continue
                kept = await self._store.get_state(op_id, _state(case["id"], lang))
                if kept is not None and kept["version"] == version:
                    continue
                original = [case["title"], case["description"]]
                if kept is not None and kept["original"] == original \
                        and kept["glossary_version"] == glossary.version:
                    bumped: CaseTranslationDoc = {**kept, "version": version}
                    await self._store.put_state(op_id, _state(case["id"], lang), bumped)
                    continue
                title = await self._translator.translate(
                    case["title"], source, lang, glossary, pivot=policy["pivot"])
                if title is None:
                    continue
                description = await self._translator.translate(
                    case["description"], source, lang, glossary, pivot=policy["pivot"]) \
                    if case["description"].strip() else None
                made: CaseTranslationDoc = {
                    "version": version, "title": title.text,
                    "description": description.text if description else "",
                    "original": original,
                    "source": source, "engine": title.engine, "route": list(title.route),
                    "glossary_version": title.glossary_version, "at": self._clock.now()}
                await self._store.put_state(op_id, _state(case["id"], lang), made)
        except HubError as exc:  # the engine or the store away: the original is shown
            log.info("case not translated", extra={"reason": exc.message})

    async def of(self, op_id: OperationId, case_id: str, version: int
                 ) -> tuple[str, dict[str, CaseTranslationDoc]]:
        """The case's own language (as detected when it was translated, else the
        operation's default), and its translations of ``version`` by language."""
        policy = await self._languages.in_force(op_id)
        found: dict[str, CaseTranslationDoc] = {}
        for lang in policy["languages"]:
            kept = await self._store.get_state(op_id, _state(case_id, lang))
            if kept is not None and kept["version"] == version and kept["source"] != lang:
                found[lang] = kept
        sources = {t["source"] for t in found.values()}
        return (sources.pop() if len(sources) == 1 else policy["default"]), found

    async def for_reader(self, op_id: OperationId, case: CaseDoc, version: int,
                         lang: str) -> CaseTranslationDoc | None:
        """The case's kept translation into ``lang`` of this version, if there is one."""
        kept = await self._store.get_state(op_id, _state(case["id"], lang))
        if kept is None or kept["version"] != version or kept["source"] == lang:
            return None
        return kept

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
