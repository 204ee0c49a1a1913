"""CAP 1.2 in and out for an operation: warnings become cases and alerts, and back.

In: a CAP message (``read_cap``) becomes a case (``case_data``) and an alert
about it, through :class:`~alerting.cases.service.CaseService` and
:class:`~alerting.pipeline.service.AlertService`, so it is authorized, checked,
logged and escalated like any other. Each message received is remembered as a
record of kind ``cap`` keyed by (sender, identifier): the same message again
is a duplicate and changes nothing; an ``Update`` finds the case of a message
it ``references`` and updates it (and counts a repeat of its alert); a
``Cancel`` closes that case and resolves its alert. An update or cancel of a
message the hub never saw starts a case of its own / changes nothing.

Out: cases and alerts at or above ``cap_min_severity`` as CAP documents
(:mod:`alerting.interop.cap_out`), and an Atom feed of them, for the operation's
members only; anything else is answered like a record that does not exist.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

from alerting.bodies import CaseChanges, NewCase, PushedAlert
from alerting.cases.service import CaseConflict, CaseService
from alerting.cases.translations import CaseTranslations
from alerting.documents import CapDoc
from alerting.interop.cap_in import CapMessage, case_data, message_key, read_cap
from alerting.interop.cap_out import (
    FeedEntry,
    InLanguage,
    Resource,
    alert_document,
    atom_feed,
    case_document,
    shown_as_cap,
)
from alerting.kinds import ALERT, CAP, CASE
from alerting.pipeline.alert_translations import AlertTranslations
from alerting.pipeline.push import PushedAlerts
from channels.access import Access
from channels.permissions import Action
from hub.blobs import BlobStore
from hub.bodies import convert
from hub.clock import Clock
from hub.config import Settings
from hub.documents import D, RecordKind
from hub.engine.port import RecordWrite, Store
from hub.errors import BadRequest, Conflict, Forbidden, LimitExceeded, NotFound
from hub.models import Operation
from hub.principal import Principal

__all__ = ["CapService"]

FEED_ENTRIES = 100


#: The longest the hub spends checking one CAP document before refusing it.
PARSE_SECONDS = 10.0


#: SHA-1 digests remembered (then forgotten all at once: recomputing is cheap enough).
SHA1_KEPT = 4096


def _sha1_of(path: Path) -> str:
    digest = hashlib.sha1()  # noqa: S324 - CAP 1.2 names SHA-1 for <digest>; not for security
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class CapService:
    #: CAP documents are checked on this thread, one at a time, never on the event loop.
    _parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cap-parse")

    async def _read(self, body: bytes) -> CapMessage:
        work = asyncio.get_running_loop().run_in_executor(self._parser, read_cap, body)
        try:
            return await asyncio.wait_for(work, PARSE_SECONDS)
        except TimeoutError:
            raise LimitExceeded(f"the CAP document took longer than {PARSE_SECONDS:g} s "
                                "to check") from None

    def __init__(self, *, settings: Settings, store: Store, clock: Clock, access: Access,
                 cases: CaseService, pushes: PushedAlerts, blobs: BlobStore,
                 translations: CaseTranslations,
                 alert_translations: AlertTranslations) -> None:
        self._blobs = blobs
        self._translations = translations
        self._alert_translations = alert_translations
        #: A kept file's SHA-1 by its SHA-256 (files never change: computed once).
        self._sha1: dict[str, str] = {}
        self._settings = settings
        self._store = store
        self._clock = clock
        self._access = access
        self._cases = cases
        self._pushes = pushes

    # --- in --------------------------------------------------------------------------

    async def receive(self, principal: Principal, op_id: str, body: bytes, *,
                      route: list[str], policy: str | None, client: str) -> CapResult:
        # Who may post comes first: a caller of another operation never gets the
        # document parsed. Parsing and the schema run off the event loop, one at a
        # time, within a time bound (alerting.interop.cap_in holds them to a budget as well).
        op, _ = await self._access.operation(principal, op_id, Action.EDIT_RECORDS,
                                             client=client)
        message = await self._read(body)
        bound = self._settings.cap_bindings.get(message.sender)
        if bound is not None and principal.username not in bound:
            raise Forbidden(f"'sender' {message.sender[:100]!r} is bound to other credentials "
                            "(cap_senders)")
        # Messages are told apart by who posted them too: another credential's message
        # with the same sender and identifier can neither stand in for this one nor
        # update or cancel it.
        key = message_key(message.sender, message.identifier, principal.username)
        seen = await self._store.get_record(op.id, CAP, key)
        if seen is not None:
            return _result(seen[0], True)
        earlier = None
        for sender, identifier, _sent in message.references:
            found = await self._store.get_record(
                op.id, CAP, message_key(sender, identifier, principal.username))
            if found is not None and found[0].get("case_id"):
                earlier = found[0]
        root = earlier["root"] if earlier else key
        fp = "cap:" + root.removeprefix("cap-")
        case_id = earlier["case_id"] if earlier else None
        if message.msg_type == "Cancel":
            action = "ignored"
            if case_id is not None:
                await self._change_case(principal, op, case_id, {"status": "closed"}, client)
                await self._pushes.resolve_fingerprint(principal, op.id, fp, "cancelled",
                                                       client)
                action = "cancelled"
        else:
            data = case_data(message)
            if case_id is None:
                event, _ = await self._cases.create_case(
                    principal, op.id, convert({**data, "idempotency_key": key}, NewCase), client)
                case_id, action = event.record_id, "created"
            else:
                await self._change_case(principal, op, case_id, data, client)
                action = "updated"
            await self._pushes.push(principal, op.id, convert({
                "summary": data["title"][:500], "severity": data["severity"],
                "details": data["description"], "fingerprint": fp, "case": case_id,
                "exercise": data["exercise"], "route": route, "escalation": policy,
                "labels": {"cap_event": message.infos[0].event[:200],
                           "cap_sender": message.sender[:200]},
                **({"lang": data["lang"]} if "lang" in data else {})}, PushedAlert), client)
        doc: CapDoc = {"id": key, "sender": message.sender, "identifier": message.identifier,
               "sent": message.sent, "msg_type": message.msg_type, "status": message.status,
               "references": [",".join(r) for r in message.references], "root": root,
               "case_id": case_id, "fingerprint": fp, "action": action}
        try:
            await self._store.write_record(RecordWrite(
                op.id, CAP, key, doc, None, "received", principal.username, self._clock.now(),
                {}, private=True))
        except Conflict:  # the same message, raced in by a retry
            found = await self._store.get_record(op.id, CAP, key)
            if found is not None:
                return _result(found[0], True)
            raise
        return _result(doc, False)

    async def _change_case(self, principal: Principal, op: Operation, case_id: str,
                           data: Mapping[str, object], client: str) -> None:
        for _ in range(5):
            found = await self._store.get_record(op.id, CASE, case_id)
            if found is None:
                return
            try:
                await self._cases.update_case(principal, op.id, case_id, convert(
                    {**data, "version": found[1]}, CaseChanges), client)
                return
            except CaseConflict:
                continue  # changed meanwhile: apply the message to the newer version
            except BadRequest as exc:
                if "nothing to change" in str(exc):
                    return
                raise
        raise Conflict("the case is changing too fast; send the message again")

    # --- out -------------------------------------------------------------------------

    async def _shown(self, principal: Principal, op_id: str, kind: RecordKind[D],
                     record_id: str, client: str) -> tuple[Operation, D, int]:
        op, _ = await self._access.operation(principal, op_id, Action.READ_RECORDS,
                                             client=client)
        found = await self._store.get_record(op.id, kind, record_id[:64])
        if found is None or not shown_as_cap(found[0], self._settings.cap_min_severity) \
                or not self._access.sees(principal, found[0]):
            raise NotFound()
        return op, found[0], found[1]

    async def case_document(self, principal: Principal, op_id: str, case_id: str, *,
                            base: str, client: str) -> bytes:
        op, case, version = await self._shown(principal, op_id, CASE, case_id, client)
        language, translated = await self._translations.of(op.id, case, version)
        return case_document(case, version, sender=self._settings.cap_sender, op_id=op.id,
                             op_name=f"{op.code} {op.name}",
                             web=f"{base}/#op={op.id}&case={case['id']}",
                             resources=await self._resources(op.id, case, base),
                             language=language,
                             translations=[InLanguage(lang, t["title"], t["description"])
                                           for lang, t in sorted(translated.items())])

    async def _resources(self, op_id: str, case: Mapping[str, Any],
                         base: str) -> list[Resource]:
        """The case's files as CAP resources (those still kept), linked for its readers."""
        out = []
        for i, f in enumerate(case.get("files") or []):
            path = self._blobs.path_of(f["sha256"])
            if path is None:
                continue
            if f["sha256"] not in self._sha1:
                if len(self._sha1) >= SHA1_KEPT:
                    self._sha1.clear()
                self._sha1[f["sha256"]] = await asyncio.to_thread(_sha1_of, path)
            out.append(Resource(f["name"], f["type"], f["size"],
                                f"{base}/api/operations/{op_id}/cases/{case['id']}/files/{i}",
                                self._sha1[f["sha256"]]))
        return out

    async def alert_document(self, principal: Principal, op_id: str, alert_id: str, *,
                             base: str, client: str) -> bytes:
        op, alert, version = await self._shown(principal, op_id, ALERT, alert_id, client)
        case = None
        if alert["case_id"]:
            found = await self._store.get_record(op.id, CASE, alert["case_id"])
            # The case's place and coordinates only for a caller who may see the case
            # as it is now (it may have been relabelled since the alert was raised).
            case = found[0] if found and self._access.sees(principal, found[0]) else None
        web = f"{base}/#op={op.id}" + (f"&case={alert['case_id']}" if case else "")
        language, translated = await self._alert_translations.of(op.id, alert)
        return alert_document(alert, version, sender=self._settings.cap_sender, op_id=op.id,
                              op_name=f"{op.code} {op.name}", web=web, case=case,
                              resources=await self._resources(op.id, case, base)
                              if case else [], language=language,
                              translations=[InLanguage(lang, t["summary"], t["details"])
                                            for lang, t in sorted(translated.items())])

    async def feed(self, principal: Principal, op_id: str, *, base: str,
                   client: str) -> bytes:
        op, _ = await self._access.operation(principal, op_id, Action.READ_RECORDS,
                                             client=client)
        minimum = self._settings.cap_min_severity
        entries = []
        cases = await self._store.list_records(op.id, CASE)
        alerts = await self._store.list_records(op.id, ALERT)
        listed: tuple[tuple[str, str, str, str, list[Mapping[str, Any]]], ...] = (
            (CASE, "cases", "title", "updated_at", [doc for doc, _ in cases]),
            (ALERT, "alerts", "summary", "last_at", [doc for doc, _ in alerts]))
        for kind, plural, title, at, docs in listed:
            for doc in docs:
                if not shown_as_cap(doc, minimum) or not self._access.sees(principal, doc):
                    continue
                updated = max(float(doc.get(k) or 0) for k in (at, "acked_at", "resolved_at"))
                state = doc.get("status") or doc.get("state")
                entries.append(FeedEntry(
                    entry_id=f"urn:liaison:{op.id}:{kind}:{doc['id']}",
                    title=str(doc.get(title) or ""), updated=updated,
                    href=f"{base}/api/operations/{op.id}/cap/{plural}/{doc['id']}",
                    summary=f"{doc.get('severity')} · {state}"
                    + (" · EXERCISE" if doc.get("exercise") else "")))
        entries.sort(key=lambda e: (-e.updated, e.entry_id))
        entries = entries[:FEED_ENTRIES]
        return atom_feed(entries, feed_id=f"urn:liaison:{op.id}:cap",
                         title=f"{op.code} {op.name}: CAP alerts",
                         self_href=f"{base}/api/operations/{op.id}/cap/feed",
                         updated=entries[0].updated if entries else self._clock.now())


class CapResult(TypedDict):
    """What the hub made of a CAP message received."""

    identifier: str
    sender: str
    action: str  # created, updated, cancelled, ignored
    case_id: str | None
    fingerprint: str
    duplicate: bool


def _result(doc: CapDoc, duplicate: bool) -> CapResult:
    return {"identifier": doc["identifier"], "sender": doc["sender"], "action": doc["action"],
            "case_id": doc["case_id"], "fingerprint": doc["fingerprint"],
            "duplicate": duplicate}
