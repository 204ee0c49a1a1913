"""An alert's summary and details in each language its operation reads in.

A bot's (or a monitoring system's) alert is written in one language: the one it says
(``lang``), else the one detected among the operation's languages, else the
operation's default. Where the operation translates and the alert's label is within the
policy's ceiling, the hub translates the summary and details into each other language
of the operation, in the background, and keeps them as a state document of the
operation per alert and language (``alert-tr:<alert>:<lang>``), naming the texts they
translate: an alert changes version on every repeat, notice and acknowledgement, but
only a new summary is translated again. Alerts the hub composes itself
(``summary_words``: rules, urgent messages) are worded in each reader's language by
the client and never sent to the engine. Nothing here blocks an alert.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import TypedDict

import msgpack

from alerting.documents import AlertDoc
from alerting.texts_translated import sendable, source_of, translate_pair
from channels.access import Access
from channels.languages import Languages
from hub.clock import Clock
from hub.documents import StateName
from hub.engine.port import Broker, Records
from hub.errors import HubError
from hub.language.detect import Detector
from hub.language.translator import Translator
from hub.models import ChannelId, OperationId, TranslatedEvent, ops_topic

__all__ = ["AlertTranslationDoc", "AlertTranslations", "alert_translation"]

log = logging.getLogger(__name__)


class AlertTranslationDoc(TypedDict):
    summary: str
    details: str
    original: list[str]   # the summary and details translated: shown while the alert's
                          # texts are still these
    source: str
    detected: bool        # the source language was detected, the alert did not say it
    engine: str
    route: list[str]
    glossary_version: int
    at: float


def alert_translation(alert_id: str, lang: str) -> StateName[AlertTranslationDoc]:
    """Where an alert's translation into ``lang`` is kept."""
    return StateName(f"alert-tr:{alert_id}:{lang}")


def _texts(alert: AlertDoc) -> list[str]:
    return [alert["summary"], alert["details"]]


def _fits(kept: AlertTranslationDoc, summary: str, lang: str) -> bool:
    """Whether a kept translation is of the alert's texts as they are now: an alert's
    details are set when it is raised, a repeat may change its summary."""
    return kept["original"][0] == summary and kept["source"] != lang


class AlertTranslations:
    def __init__(self, *, store: Records, broker: Broker, access: Access,
                 languages: Languages, translator: Translator | None, clock: Clock,
                 detector: Detector) -> None:
        self._store = store
        self._broker = broker
        self._access = access
        self._languages = languages
        self._translator = translator
        self._clock = clock
        self._detector = detector
        self._tasks: set[asyncio.Task[None]] = set()

    async def raised(self, op_id: OperationId, alert: AlertDoc) -> None:
        """An alert was pushed (raised or repeated): its translations start, where its
        texts have none yet (returns at once)."""
        if self._translator is None or alert.get("summary_words"):
            return
        task = asyncio.get_running_loop().create_task(self._make(op_id, alert))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _make(self, op_id: OperationId, alert: AlertDoc) -> None:
        assert self._translator is not None
        try:
            policy = await sendable(self._languages, self._access, op_id, alert.get("label"))
            if policy is None:
                return
            glossary = await self._languages.glossary(op_id)
            original = _texts(alert)
            source, detected = await source_of(self._detector, alert.get("lang"), original,
                                               policy)
            for lang in policy["languages"]:
                if lang == source:
                    continue
                kept = await self._store.get_state(op_id, alert_translation(alert["id"], lang))
                same = kept is not None and kept["source"] == source \
                    and kept["glossary_version"] == glossary.version
                if same and kept is not None and kept["original"] == original:
                    continue  # these texts read in this language already
                pair = await translate_pair(
                    self._translator, alert["summary"], alert["details"], source, lang,
                    glossary, pivot=policy["pivot"],
                    # a repeat changes the summary only: the details' translation stays
                    second_kept=kept["details"] if same and kept is not None
                    and kept["original"][1] == alert["details"] else None)
                if pair is None:
                    continue
                await self._keep(op_id, alert, lang, {
                    "summary": pair.first, "details": pair.second, "original": original,
                    "source": source, "detected": detected, "engine": pair.engine,
                    "route": pair.route, "glossary_version": pair.glossary_version,
                    "at": self._clock.now()})
        except HubError as exc:  # the engine or the store away: the original is shown
            log.info("alert not translated", extra={"reason": exc.message})

    async def _keep(self, op_id: OperationId, alert: AlertDoc, lang: str,
                    made: AlertTranslationDoc) -> None:
        """Keep a translation, then tell the operation's live readers in ``lang``."""
        await self._store.put_state(op_id, alert_translation(alert["id"], lang), made)
        label = alert.get("label")
        await self._broker.publish(ops_topic(op_id), TranslatedEvent(
            ChannelId(ops_topic(op_id)), 0, lang, json.dumps(label) if label else "",
            msgpack.packb(made), alert=alert["id"]))

    async def of(self, op_id: OperationId, alert: AlertDoc
                 ) -> tuple[str, dict[str, AlertTranslationDoc]]:
        """The alert's own language (as it said, else as detected when it was
        translated, else the operation's default) and its texts' translations by
        language (a CAP document carries them all)."""
        policy = await self._languages.in_force(op_id)
        kept = await asyncio.gather(*(
            self._store.get_state(op_id, alert_translation(alert["id"], lang))
            for lang in policy["languages"]))
        found = {lang: doc for lang, doc in zip(policy["languages"], kept, strict=True)
                 if doc is not None and _fits(doc, alert["summary"], lang)}
        sources = {t["source"] for t in found.values()}
        own = alert.get("lang") or (sources.pop() if len(sources) == 1 else policy["default"])
        return own, found

    async def for_readers_of(self, op_id: OperationId, alerts: Iterable[tuple[str, str]],
                             lang: str) -> dict[str, AlertTranslationDoc]:
        """The kept translations into ``lang`` of these (alert id, summary now) pairs'
        texts, by alert id (a list, a board: read together)."""
        pairs = list(alerts)
        kept = await asyncio.gather(*(
            self._store.get_state(op_id, alert_translation(alert_id, lang))
            for alert_id, _ in pairs))
        return {alert_id: doc for (alert_id, summary), doc in zip(pairs, kept, strict=True)
                if doc is not None and _fits(doc, summary, lang)}

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
