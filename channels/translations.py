"""Messages in every language their operation reads in, made once and kept.

A message is delivered at once as written. Then, where its operation translates
(:mod:`channels.languages`) and its label is within the policy's ceiling, the hub makes
one machine translation per other language of the operation, in the background: the
glossary protected, the engine called through :class:`~hub.language.translator.Translator`
(which bounds the calls in flight), and the result kept beside the message (a note
``tr:<lang>``) with its provenance, then told to the channel's connected readers of that
language (a ``translated`` frame). Every later reader, live, in history or offline, gets
the kept translation: the engine is asked once per message and language, never per
reader; a translation being made already is not asked for twice.

When the engine fails, delivery goes on in originals, readiness says translation is
unavailable, and what failed is retried once the engine answers again. A translation a
reader finds missing (made before a node stopped, or before translation was switched
on) is made when it is first read. Nothing here ever blocks a publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from channels.access import Access
from channels.bodies import CHAT, ChatBody, TranslationNote, chat_body
from channels.languages import LanguagePolicyView, Languages
from channels.messages import readable
from channels.permissions import Action
from hub.auditor import Auditor
from hub.clock import Clock
from hub.engine.port import Broker, Store
from hub.errors import BadRequest, Forbidden, HubError, NotFound, TranslationFailed
from hub.language.detect import Detector
from hub.language.translator import Translator
from hub.models import (
    ACK_PREFIX,
    HUB_SENDER,
    Channel,
    ChannelId,
    Message,
    Role,
    TranslatedEvent,
)
from hub.principal import Principal

__all__ = ["NOTE_PREFIX", "MessageTranslations", "note_key", "translations_of"]

log = logging.getLogger(__name__)

#: Notes beside a message under ``tr:<lang>`` are its translations.
NOTE_PREFIX = "tr:"


def note_key(lang: str) -> str:
    return f"{NOTE_PREFIX}{lang}"


@dataclass(frozen=True, slots=True)
class _Job:
    channel: Channel
    seq: int
    label_json: str
    text: str
    source: str
    target: str
    pivot: bool
    detected: bool

    @property
    def key(self) -> tuple[ChannelId, int, str]:
        return (self.channel.id, self.seq, self.target)


class MessageTranslations:
    def __init__(self, *, store: Store, broker: Broker, access: Access, languages: Languages,
                 translator: Translator | None, clock: Clock, auditor: Auditor,
                 detector: Detector) -> None:
        self._store = store
        self._detector = detector
        self._audit = auditor
        self._broker = broker
        self._access = access
        self._languages = languages
        self._translator = translator
        self._clock = clock
        self._running: dict[tuple[ChannelId, int, str], asyncio.Task[None]] = {}
        self._failed: dict[tuple[ChannelId, int, str], _Job] = {}
        self._planning: set[asyncio.Task[None]] = set()

    # --- making them -------------------------------------------------------------------

    async def stored(self, _principal: Principal, ch: Channel, message: Message) -> None:
        """A message was stored: its translations start (this returns at once, and
        nothing that happens to them reaches the publish)."""
        if self._translator is None:
            return
        task = asyncio.get_running_loop().create_task(self._plan(ch, message))
        self._planning.add(task)
        task.add_done_callback(self._planning.discard)

    async def _plan(self, ch: Channel, message: Message) -> None:
        try:
            policy = await self._languages.in_force(ch.operation_id)
        except HubError as exc:  # the store away: made when first read instead
            log.info("translations not started", extra={"reason": exc.message})
            return
        for job in await self._jobs(policy, ch, message, None):
            self._start(job)

    async def _source(self, policy: LanguagePolicyView, body: ChatBody) -> tuple[str, bool]:
        """The language a message is in: as its sender said, else detected among the
        operation's languages (True), else the operation's default."""
        if isinstance(body.lang, str):
            return body.lang, False
        found = await self._detector.detect(body.text, policy["languages"])
        return (found, True) if found else (policy["default"], False)

    async def _jobs(self, policy: LanguagePolicyView, ch: Channel, message: Message,
                    only: str | None) -> list[_Job]:
        if not policy["translate"] or message.body_type != CHAT \
                or message.sender_id == HUB_SENDER \
                or message.client_msg_id.startswith(ACK_PREFIX):
            return []  # the hub's own texts are rendered per language, never translated
        label = (self._access.policy.of_record(message.label) if message.label_json
                 else None) or self._access.channel_label(ch)
        if not self._languages.may_send(policy, label):
            return []  # above the ceiling: never sent to the engine
        body = chat_body(message)
        if not isinstance(body.redacted, msgspec.UnsetType) or not body.text.strip():
            return []
        source, detected = await self._source(policy, body)
        return [_Job(ch, message.seq, message.label_json, body.text, source, lang,
                     policy["pivot"], detected)
                for lang in policy["languages"] if lang != source and only in (None, lang)]

    def _start(self, job: _Job) -> None:
        if job.key in self._running:
            return  # being made: asked for once, whoever else wants it
        task = asyncio.get_running_loop().create_task(self._make(job),
                                                      name=f"translate {job.key}")
        self._running[job.key] = task

        def done(_: asyncio.Task[None], key: tuple[ChannelId, int, str] = job.key) -> None:
            self._running.pop(key, None)

        task.add_done_callback(done)

    async def _make(self, job: _Job) -> None:
        assert self._translator is not None
        try:
            kept = await self._store.read_notes(job.channel.id, [job.seq])
            if note_key(job.target) in kept.get(job.seq, {}):
                self._failed.pop(job.key, None)
                return  # made meanwhile (a reader saw it missing just before it was kept)
            glossary = await self._languages.glossary(job.channel.operation_id)
            made = await self._translator.translate(job.text, job.source, job.target,
                                                    glossary, pivot=job.pivot)
        except HubError as exc:  # the engine (or the store) away: tried again later
            self._failed[job.key] = job
            log.info("translation failed, original shown", extra={"reason": exc.message})
            return
        self._failed.pop(job.key, None)
        if made is None:
            return  # no pair for it (and no pivot allowed): the original it is
        note = TranslationNote(text=made.text, source=made.source, engine=made.engine,
                               route=list(made.route), pivoted=made.pivoted,
                               glossary_version=made.glossary_version,
                               missing_terms=list(made.missing_terms), at=self._clock.now(),
                               detected=job.detected)
        try:
            await self._keep(job.channel, job.seq, job.target, job.label_json, note)
        except HubError as exc:
            self._failed[job.key] = job
            log.info("translation not kept", extra={"reason": exc.message})

    async def _keep(self, ch: Channel, seq: int, lang: str, label_json: str,
                    note: TranslationNote) -> bool:
        data = msgspec.msgpack.encode(note)
        if not await self._store.put_note(ch.id, seq, note_key(lang), data):
            return False  # the message went meanwhile (retention)
        await self._broker.publish(ch.broker_topic,
                                   TranslatedEvent(ch.id, seq, lang, label_json, data))
        return True

    async def run(self, every: float) -> None:
        """Make again what failed while the engine was away, once it answers."""
        while True:
            await asyncio.sleep(every)
            if not self._failed or self._translator is None:
                continue
            with contextlib.suppress(TranslationFailed):
                await self._translator.pairs(fresh=True)
                for job in list(self._failed.values()):
                    self._start(job)

    async def stop(self) -> None:
        """Shutting down: what is being made is dropped (made again when first read)."""
        for task in (*self._running.values(), *self._planning):
            task.cancel()
        await asyncio.gather(*self._running.values(), *self._planning,
                             return_exceptions=True)
        if self._translator is not None:
            await self._translator.engine.aclose()

    async def settled(self) -> None:
        """Wait for the translations being started and made now (tests, shutdown)."""
        while self._running or self._planning:
            await asyncio.gather(*self._running.values(), *self._planning,
                                 return_exceptions=True)

    # --- correcting them ---------------------------------------------------------------

    async def review(self, principal: Principal, ch_id: str, seq: int, lang: str, text: str,
                     client: str) -> TranslationNote:
        """A translator's correction: from now on what every reader of ``lang`` is shown,
        marked as reviewed, with the engine's text kept beside it; audited."""
        ch, _, role = await self._access.channel(principal, ch_id, Action.READ_CHANNEL,
                                                 client=client)
        message = await readable(self._store, self._access, principal, ch, seq)
        policy = await self._languages.in_force(ch.operation_id)
        if principal.username not in policy["translators"] and role is not Role.COORDINATOR \
                and not principal.is_admin:
            raise Forbidden("only the operation's translators and coordinators correct a "
                            "translation")
        body = chat_body(message)
        source, detected = await self._source(policy, body)
        if not isinstance(body.redacted, msgspec.UnsetType) or message.sender_id == HUB_SENDER:
            raise BadRequest("a redacted message or a hub notice has no translation")
        if lang == source or lang not in policy["languages"]:
            raise BadRequest(f"'lang': one of the operation's languages other than the "
                             f"message's own ({source})")
        kept = (await self._store.read_notes(ch.id, [seq])).get(seq, {}).get(note_key(lang))
        before = msgspec.msgpack.decode(kept, type=TranslationNote) if kept else None
        now = self._clock.now()
        note = TranslationNote(
            text=text, source=source, engine=before.engine if before else "none",
            route=before.route if before else [source, lang],
            pivoted=before.pivoted if before else False,
            glossary_version=before.glossary_version if before else 0,
            missing_terms=before.missing_terms if before else [],
            at=before.at if before else now, reviewed_by=principal.username, reviewed_at=now,
            detected=detected,
            machine_text=(before.machine_text or before.text) if before and
            before.reviewed_by is None else before.machine_text if before else None)
        if not await self._keep(ch, seq, lang, message.label_json, note):
            raise NotFound()
        await self._audit.record(actor=principal.username, action="message.translation_review",
                                 target=f"{ch.id}:{seq}", outcome="ok", client=client,
                                 operation_id=ch.operation_id,
                                 details={"lang": lang, "machine_text": note.machine_text,
                                          "previous": before.text if before else None})
        return note

    # --- reading them ------------------------------------------------------------------

    async def for_reader(self, ch_id: ChannelId, messages: list[Message],
                         lang: str) -> dict[int, TranslationNote]:
        """The kept translations into ``lang`` of ``messages`` of channel ``ch_id`` (which
        the reader may read); any missing that the policy wants is started now, for the
        next read."""
        ch = await self._store.get_channel(ch_id) if messages else None
        if ch is None:
            return {}
        notes = await self._store.read_notes(ch.id, [m.seq for m in messages])
        policy = await self._languages.in_force(ch.operation_id) \
            if self._translator is not None else None
        found: dict[int, TranslationNote] = {}
        for m in messages:
            data = notes.get(m.seq, {}).get(note_key(lang))
            if data:
                found[m.seq] = msgspec.msgpack.decode(data, type=TranslationNote)
            elif data is None and policy is not None:  # b"": emptied by a redaction
                for job in await self._jobs(policy, ch, m, lang):
                    self._start(job)
        return found


async def translations_of(store: Store, ch_id: ChannelId, messages: Sequence[Message]
                          ) -> dict[int, dict[str, dict[str, Any]]]:
    """Every kept translation of ``messages``, with its provenance (engine, route,
    glossary version, reviewer and the engine's text it replaced): what each reader
    actually read, for the record."""
    notes = await store.read_notes(ch_id, [m.seq for m in messages])
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for seq, kept in notes.items():
        for key, data in sorted(kept.items()):
            if key.startswith(NOTE_PREFIX) and data:
                note = msgspec.msgpack.decode(data, type=TranslationNote)
                out.setdefault(seq, {})[key.removeprefix(NOTE_PREFIX)] = \
                    msgspec.structs.asdict(note)  # every field, defaults too
    return out
