"""A case's title and description in each language its operation reads in.

After a case is written, where its operation translates and the case's label is within
the policy's ceiling, the hub translates the version's title and description into each
other language of the operation, in the background, and keeps them as a state document
of the operation per case and language (``case-tr:<case>:<lang>``) naming the version
they translate and their provenance. A version already translated (same texts) is not
asked for again; what the operation's CAP documents carry in each language is read from
here (:mod:`alerting.interop.cap_service`). The case's own language is the operation's
language its writer declared (``lang``), else the one detected among the operation's
languages, else the operation's default. Nothing here blocks a case write.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any, NotRequired, TypedDict

import msgpack

from alerting.documents import CaseDoc
from alerting.kinds import CASE
from alerting.texts_translated import sendable, source_of, translate_pair
from channels.access import Access
from channels.languages import Languages
from channels.permissions import Action
from hub.auditor import Auditor
from hub.clock import Clock
from hub.documents import StateName
from hub.engine.port import Broker, Records
from hub.errors import BadRequest, Forbidden, HubError, NotFound
from hub.language.detect import Detector
from hub.language.translator import Translator
from hub.models import ChannelId, OperationId, Role, TranslatedEvent, ops_topic
from hub.principal import Principal

__all__ = ["CaseTranslationDoc", "CaseTranslations", "case_translation", "shown"]

log = logging.getLogger(__name__)


class CaseTranslationDoc(TypedDict):
    version: int          # the case version these texts translate
    title: str
    description: str
    original: list[str]   # the title and description translated (a later version with
                          # the same texts and glossary is not sent to the engine again)
    source: str
    detected: bool        # the source language was detected, the case did not say it
    engine: str
    route: list[str]
    glossary_version: int
    at: float
    reviewed_by: NotRequired[str]       # a translator's correction: what readers read
    reviewed_at: NotRequired[float]
    machine: NotRequired[list[str] | None]  # the engine's title and description it replaced


def case_translation(case_id: str, lang: str) -> StateName[CaseTranslationDoc]:
    """Where a case's translation into ``lang`` is kept."""
    return StateName(f"case-tr:{case_id}:{lang}")


_state = case_translation


def shown(kept: CaseTranslationDoc) -> dict[str, Any]:
    """A kept translation as readers get it (without the texts it was made from)."""
    return {k: v for k, v in kept.items() if k != "original"}


class CaseTranslations:
    def __init__(self, *, store: Records, broker: Broker, access: Access,
                 languages: Languages, translator: Translator | None, clock: Clock,
                 detector: Detector, auditor: Auditor) -> None:
        self._store = store
        self._auditor = auditor
        self._broker = broker
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
            policy = await sendable(self._languages, self._access, op_id, case.get("label"))
            if policy is None:
                return
            glossary = await self._languages.glossary(op_id)
            original = [case["title"], case["description"]]
            source, detected = await source_of(self._detector, case.get("lang"), original,
                                               policy)
            for lang in policy["languages"]:
                if lang == source:
                    continue
                kept = await self._store.get_state(op_id, _state(case["id"], lang))
                if kept is not None and kept["version"] == version:
                    continue
                if kept is not None and kept["original"] == original \
                        and kept["source"] == source \
                        and (kept["glossary_version"] == glossary.version
                             or "reviewed_by" in kept):  # a person's words stay
                    await self._keep(op_id, case, lang, {**kept, "version": version})
                    continue
                pair = await translate_pair(self._translator, case["title"],
                                            case["description"], source, lang, glossary,
                                            pivot=policy["pivot"])
                if pair is None:
                    continue
                made: CaseTranslationDoc = {
                    "version": version, "title": pair.first, "description": pair.second,
                    "original": original, "source": source, "detected": detected,
                    "engine": pair.engine, "route": pair.route,
                    "glossary_version": pair.glossary_version, "at": self._clock.now()}
                await self._keep(op_id, case, lang, made)
        except HubError as exc:  # the engine or the store away: the original is shown
            log.info("case not translated", extra={"reason": exc.message})

    async def _keep(self, op_id: OperationId, case: CaseDoc, lang: str,
                    made: CaseTranslationDoc) -> None:
        """Keep a translation, then tell the operation's live readers in ``lang`` (the
        board shows the case's title in it)."""
        await self._store.put_state(op_id, _state(case["id"], lang), made)
        label = case.get("label")
        await self._broker.publish(ops_topic(op_id), TranslatedEvent(
            ChannelId(ops_topic(op_id)), made["version"], lang,
            json.dumps(label) if label else "", msgpack.packb(shown(made)), case["id"]))

    async def review(self, principal: Principal, op_id: str, case_id: str, lang: str,
                     title: str, description: str, client: str) -> CaseTranslationDoc:
        """A translator's correction of the case's title and description in ``lang``: from
        now on what its readers in ``lang`` read (marked reviewed, the engine's texts kept
        beside it), until the case's texts change; audited."""
        op, role = await self._access.operation(principal, op_id, Action.READ_RECORDS,
                                                client=client)
        found = await self._store.get_record(op.id, CASE, case_id[:64])
        if found is None or not self._access.sees(principal, found[0]):
            raise NotFound()
        case, version = found
        policy = await self._languages.in_force(op.id)
        if principal.username not in policy["translators"] and role is not Role.COORDINATOR \
                and not principal.is_admin:
            raise Forbidden("only the operation's translators and coordinators correct a "
                            "translation")
        own, _ = await self.of(op.id, case, version)
        if lang == own or lang not in policy["languages"]:
            raise BadRequest(f"'lang': one of the operation's languages other than the "
                             f"case's own ({own})")
        before = await self._store.get_state(op.id, _state(case["id"], lang))
        fits = before is not None and before["original"] == [case["title"],
                                                               case["description"]]
        now = self._clock.now()
        made: CaseTranslationDoc = {
            "version": version, "title": title, "description": description,
            "original": [case["title"], case["description"]], "source": own,
            "detected": before["detected"] if before and fits else False,
            "engine": before["engine"] if before and fits else "none",
            "route": before["route"] if before and fits else [own, lang],
            "glossary_version": before["glossary_version"] if before and fits else 0,
            "at": before["at"] if before and fits else now,
            "reviewed_by": principal.username, "reviewed_at": now,
            "machine": (before.get("machine") if "reviewed_by" in before
                        else [before["title"], before["description"]])
            if before and fits else None}
        await self._keep(op.id, case, lang, made)
        await self._auditor.record(
            actor=principal.username, action="case.translation_review", target=case["id"],
            outcome="ok", client=client, operation_id=op.id,
            details={"lang": lang, "version": version, "machine": made["machine"],
                     "previous": [before["title"], before["description"]] if before else None})
        return made

    async def of(self, op_id: OperationId, case: CaseDoc, version: int
                 ) -> tuple[str, dict[str, CaseTranslationDoc]]:
        """The case's own language (as declared, else as detected when it was
        translated, else the operation's default), and its translations of ``version``
        by language."""
        policy = await self._languages.in_force(op_id)
        found: dict[str, CaseTranslationDoc] = {}
        for lang in policy["languages"]:
            kept = await self._store.get_state(op_id, _state(case["id"], lang))
            if kept is not None and kept["version"] == version and kept["source"] != lang:
                found[lang] = kept
        sources = {t["source"] for t in found.values()}
        own = case.get("lang") or (sources.pop() if len(sources) == 1 else policy["default"])
        return own, found

    async def for_reader(self, op_id: OperationId, case: CaseDoc, version: int,
                         lang: str) -> CaseTranslationDoc | None:
        """The case's kept translation into ``lang`` of this version, if there is one."""
        kept = await self._store.get_state(op_id, _state(case["id"], lang))
        if kept is None or kept["version"] != version or kept["source"] == lang:
            return None
        return kept

    async def for_readers_of(self, op_id: OperationId, cases: Iterable[tuple[str, int]],
                             lang: str) -> dict[str, CaseTranslationDoc]:
        """The kept translations into ``lang`` of these (case id, version) pairs, by case
        id (a list, a board: read together, not one after the other)."""
        pairs = list(cases)
        kept = await asyncio.gather(*(self._store.get_state(op_id, _state(case_id, lang))
                                      for case_id, _ in pairs))
        return {case_id: doc for (case_id, version), doc in zip(pairs, kept, strict=True)
                if doc is not None and doc["version"] == version and doc["source"] != lang}

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
