"""An operation's record for after-action review and inquiries: one signed archive.

What it holds, as records of :mod:`hub.sealed` (each keyed, in a fixed order):
the operation and its channels and members; every event of its log (so every
version of every case, each alert with each notice — who was told, when, through
which channel — and each acknowledgement, the silences, rules and policies as
they were); every message of every channel; and the operation's audit records
(membership changes included). Plus ``report.html``, a human-readable rendering
(:mod:`alerting.record.report`).

An ordinary export holds only what the exporter may see: a channel or a record
above their clearance, or released to other agencies, is left out, with every
event and audit record about it (:mod:`alerting.visibility`). The files of the
messages and case versions shown are in the archive too, each once as
``attachments/<sha256>`` and listed in the manifest with its SHA-256
(:func:`hub.sealed.check` holds every file a shown record names to be there and to
hash to its name); those of records left out are not, and the manifest lists only
their SHA-256 (``withheld_files``). The manifest counts
what was left out per marking ("withheld") and carries, for each record left
out, a *commitment* — the SHA-256 of a salt and the record's line — in no
particular order, so nothing of the record shows but it cannot later be altered
unnoticed. A custodian's export (:mod:`channels.custodians`) is complete and
reveals every record's salt, so ``liaison export verify --complete`` can show
that a filtered export and the complete one describe the same record
(:mod:`hub.commitments`). Coordinators export; custodians export the complete
record; the CLI exports only as a named custodian; every export is audited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerting.cases.translations import case_translation
from alerting.documents import SaltState
from alerting.kinds import ALERT, CASE, SALT_STATE
from alerting.pipeline.alert_translations import alert_translation
from alerting.record.report import render
from alerting.visibility import ReaderView
from channels.access import Access
from channels.custodians import Custodians
from channels.languages import POLICY as LANGUAGE_POLICY
from channels.permissions import Action
from channels.translations import translations_of
from hub.blobs import BlobStore
from hub.clock import Clock
from hub.commitments import commitment, salt
from hub.documents import D, StateName
from hub.engine.port import Store
from hub.errors import Forbidden
from hub.labels import marking_of
from hub.models import Operation, OperationId, Role
from hub.principal import Principal
from hub.sealed import ATTACHMENTS, attached, line_of, sealed
from hub.signing import KeyFile, Signer
from hub.timestamps import Stamper

__all__ = ["Exporter"]

PAGE = 500
#: The operation's internal document holding the secret the record salts derive from.


@dataclass
class _Record:
    """Every record of the operation, each either shown to the exporter or withheld
    (with the marking it is counted under)."""

    shown: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def add(self, record: dict[str, Any], withheld_as: str | None = None) -> None:
        if withheld_as is None:
            self.shown.append(record)
        else:
            self.withheld.append((record, withheld_as))


class Exporter:
    def __init__(self, *, store: Store, access: Access, clock: Clock, keys: KeyFile,
                 blobs: BlobStore, stamper: Stamper | None = None) -> None:
        self._stamper = stamper
        self._blobs = blobs
        self._store = store
        self._access = access
        self._clock = clock
        self.keys = keys
        self._custodians = Custodians(store)

    @property
    def signer(self) -> Signer:
        """The hub's signing key, read (or made) the first time an export needs it."""
        return self.keys.signer

    async def export(self, principal: Principal, op_id: str, client: str,
                     lang: str = "en", *, complete: bool = False) -> bytes:
        """The archive, for a coordinator of the operation (or an administrator member),
        or with ``complete`` for one of its custodians; its report in ``lang``."""
        op, role = await self._access.operation(principal, op_id, Action.READ_RECORDS,
                                                client=client)
        if complete:
            await self.require_custodian(principal, op.id)
        elif role is not Role.COORDINATOR and not principal.is_admin:
            raise Forbidden("only the operation's coordinators export its record")
        return await self.export_as(principal, op, client, lang, complete=complete)

    async def require_custodian(self, principal: Principal, op_id: OperationId) -> None:
        member = await self._store.get_membership(op_id, principal.user_id)
        if member is None or principal.user_id not in await self._custodians.of(op_id):
            raise Forbidden("only the operation's custodians export its complete record "
                            "(an administrator entrusts it: liaison op custodian)")

    async def export_as(self, principal: Principal, op: Operation, client: str,
                        lang: str = "en", *, complete: bool = False) -> bytes:
        """The archive as ``principal`` may see it, or the whole record with ``complete``
        (the caller has checked that ``principal`` is a custodian)."""
        found = _Record()
        found.add({"key": "operation", "type": "operation", **op.public(),
                   "label": self._access.operation_label(op).to_dict()})
        channels = []
        for ch in await self._store.list_channels(op.id):
            label = self._access.channel_label(ch)
            shown = complete or self._access.cleared(principal, ch)
            channels.append((ch, shown))
            found.add({"key": f"channel:{ch.id}", "type": "channel", **ch.public(),
                       "label": label.to_dict()}, None if shown else label.marking())
        custodians = await self._custodians.of(op.id)
        for member, user in await self._store.list_members(op.id):
            found.add({"key": f"member:{user.username}", "type": "member",
                       "username": user.username, "display_name": user.display_name,
                       "agency": user.agency, "role": str(member.role),
                       **({"custodian": True} if user.id in custodians else {})})
        view = ReaderView(self._access, self._store, principal, op.id)
        seq = 0
        cases: dict[str, str | None] = {}  # each case as last written: shown, or its marking
        alerts: dict[str, str | None] = {}  # the same of each alert
        while True:
            page = await self._store.read_op_events(op.id, after_seq=seq, limit=PAGE)
            for event in page:
                record = event.data.get("record")
                shown = complete or await view.sees_event(event)
                withheld = None if shown else marking_of(record.get("label")) \
                    if isinstance(record, dict) else "?"
                found.add({**event.frame(), "key": f"event:{event.seq}", "type": "event"},
                          withheld)
                if event.kind in (CASE, ALERT):
                    (cases if event.kind == CASE else alerts)[event.record_id] = withheld
                seq = event.seq
            if len(page) < PAGE:
                break
        # What readers of each language read of each case (its latest translated version).
        for case_id, withheld in cases.items():
            for lang, doc in await self._translations(op.id, case_translation, case_id):
                found.add({"key": f"case-translation:{case_id}:{lang}",
                           "type": "case_translation", "case_id": case_id, "lang": lang,
                           **doc}, withheld)
        # ...and of each alert's texts (the last ones translated).
        for alert_id, withheld in alerts.items():
            for lang, told in await self._translations(op.id, alert_translation, alert_id):
                found.add({"key": f"alert-translation:{alert_id}:{lang}",
                           "type": "alert_translation", "alert_id": alert_id, "lang": lang,
                           **told}, withheld)
        for ch, ch_shown in channels:
            after = 0
            while True:
                messages = await self._store.read_messages(ch.id, after_seq=after, limit=PAGE)
                read = await translations_of(self._store, ch.id, messages)
                for m in messages:
                    after = m.seq
                    shown = complete or (ch_shown and (not m.label_json or self._access.sees(
                        principal, {"label": m.label})))
                    found.add({**m.frame(), "key": f"message:{ch.id}:{m.seq}",
                               "type": "message", "channel_name": ch.name,
                               **({"translations": read[m.seq]} if m.seq in read else {})},
                              None if shown else marking_of(m.label) if m.label_json
                              else self._access.channel_label(ch).marking())
                if len(messages) < PAGE:
                    break
        async for entry in self._store.iter_audit():
            if entry.operation_id != op.id:
                continue
            shown = complete or await view.sees_audit(entry)
            found.add({"key": f"audit:{entry.seq}", "type": "audit",
                       **dataclasses.asdict(entry)},
                      None if shown else "audit records about withheld items")
        meta = await self._meta(principal, op, found, complete)
        files = await self._attachments(found, meta)
        html = render(meta, found.shown, lang)
        await self._access.exported(principal, op.id, meta, client)
        parts = sealed(found.shown, meta, {"report.html": html.encode("utf-8"), **files},
                       self.signer)
        stamp = await self._stamper.stamp(parts.manifest) if self._stamper else None
        return parts.archive(stamp)

    async def _translations(self, op_id: OperationId,
                            where: Callable[[str, str], StateName[D]], item_id: str
                            ) -> list[tuple[str, D]]:
        """An item's kept translations (``where``: the state they are kept in, by item
        and language) into each of the operation's languages."""
        policy = await self._store.get_state(op_id, LANGUAGE_POLICY)
        out = []
        for lang in policy["languages"] if policy else []:
            doc = await self._store.get_state(op_id, where(item_id, lang))
            if doc is not None:
                out.append((lang, doc))
        return out

    async def _attachments(self, found: _Record, meta: dict[str, Any]) -> dict[str, bytes]:
        """The files the shown records carry, by name in the archive; the SHA-256 of those
        only withheld records carry, and of any no longer kept, go to ``meta``."""
        shown = {d for r in found.shown for d in attached(r)}
        files: dict[str, bytes] = {}
        gone = []
        for digest in sorted(shown):
            path = self._blobs.path_of(digest)
            if path is None:
                gone.append(digest)
            else:
                files[f"{ATTACHMENTS}{digest}"] = await asyncio.to_thread(path.read_bytes)
        withheld = {d for r, _ in found.withheld for d in attached(r)} - shown
        if withheld:
            meta["withheld_files"] = sorted(withheld)
        if gone:
            meta["files_not_kept"] = gone
        return files

    async def _meta(self, principal: Principal, op: Operation, found: _Record,
                    complete: bool) -> dict[str, Any]:
        secret = await self._salt_secret(op.id)
        clearance = self._access.clearance(principal)
        meta: dict[str, Any] = {
            "operation": {"id": op.id, "code": op.code, "name": op.name},
            "exported_at": self._clock.now(), "exported_by": principal.username,
            "clearance": "complete record (custodian)" if complete else
            " ".join([clearance.level, clearance.agency]),
            "complete": complete,
            "counts": dict(sorted(Counter(r["type"] for r in found.shown).items())),
            "withheld": dict(sorted(Counter(m for _, m in found.withheld).items()))}
        if complete:
            meta["salts"] = {str(r["key"]): salt(secret, str(r["key"])) for r in found.shown}
        else:  # sorted: the order of withheld records says nothing either
            meta["commitments"] = sorted(
                commitment(salt(secret, str(r["key"])), line_of(r)) for r, _ in found.withheld)
        return meta

    async def _salt_secret(self, op_id: OperationId) -> bytes:
        """The operation's salt secret, made the first time one of its records is
        exported; read back after writing, so concurrent first exports agree."""
        doc = await self._store.get_state(op_id, SALT_STATE)
        if doc is None:
            made: SaltState = {"secret": secrets.token_hex(32)}
            await self._store.put_state(op_id, SALT_STATE, made)
            doc = await self._store.get_state(op_id, SALT_STATE) or made
        return bytes.fromhex(doc["secret"])
