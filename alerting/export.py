"""An operation's record for after-action review and inquiries: one signed archive.

What it holds, as records of :mod:`hub.sealed` (each keyed, in a fixed order):
the operation and its channels and members; every event of its log (so every
version of every case, each alert with each notice — who was told, when, through
which channel — and each acknowledgement, the silences, rules and policies as
they were); every message of every channel; and the operation's audit records
(membership changes included). Plus ``report.html``, a human-readable rendering
(:mod:`alerting.export_html`).

Only what the exporter may see goes in: a channel or a record above their
clearance, or released to other agencies, is left out, with every event and
audit record about it (:mod:`alerting.visibility`), and the manifest counts
what was left out per marking ("withheld"). Coordinators export (the CLI
operator too); the export is audited.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

from alerting.export_html import render
from alerting.visibility import ReaderView
from channels.access import Access
from channels.permissions import Action
from hub.auth import Principal
from hub.clock import Clock
from hub.engine.port import Store
from hub.errors import Forbidden
from hub.labels import marking_of
from hub.models import Operation, Role
from hub.sealed import seal
from hub.signing import Signer

__all__ = ["Exporter"]

PAGE = 500


class Exporter:
    def __init__(self, *, store: Store, access: Access, clock: Clock, key_path: Path) -> None:
        self._store = store
        self._access = access
        self._clock = clock
        self._key_path = key_path
        self._signer: Signer | None = None

    @property
    def signer(self) -> Signer:
        """The hub's signing key, read (or made) the first time an export needs it."""
        if self._signer is None:
            self._signer = Signer.load_or_create(self._key_path)
        return self._signer

    async def export(self, principal: Principal, op_id: str, client: str,
                     lang: str = "en") -> bytes:
        """The archive, for a coordinator of the operation (or an administrator member);
        its report in ``lang``."""
        op, role = await self._access.operation(principal, op_id, Action.READ_RECORDS,
                                                client=client)
        if role is not Role.COORDINATOR and not principal.is_admin:
            raise Forbidden("only the operation's coordinators export its record")
        return await self.export_as(principal, op, client, lang)

    async def export_as(self, principal: Principal, op: Operation, client: str,
                        lang: str = "en") -> bytes:
        """The archive as ``principal`` may see it (the CLI calls this directly)."""
        records: list[dict[str, Any]] = []
        withheld: Counter[str] = Counter()
        records.append({"key": "operation", "type": "operation", **op.public(),
                        "label": self._access.operation_label(op).to_dict()})
        visible = []
        for ch in await self._store.list_channels(op.id):
            label = self._access.channel_label(ch)
            if self._access.cleared(principal, ch):
                visible.append(ch)
                records.append({"key": f"channel:{ch.id}", "type": "channel", **ch.public(),
                                "label": label.to_dict()})
            else:
                withheld[f"{label.marking()} (channel and its messages)"] += 1
        for member, user in await self._store.list_members(op.id):
            records.append({"key": f"member:{user.username}", "type": "member",
                            "username": user.username, "display_name": user.display_name,
                            "agency": user.agency, "role": str(member.role)})
        view = ReaderView(self._access, self._store, principal, op.id)
        seq = 0
        while True:
            page = await self._store.read_op_events(op.id, after_seq=seq, limit=PAGE)
            for event in page:
                record = event.data.get("record")
                if await view.sees_event(event):
                    records.append({**event.frame(), "key": f"event:{event.seq}",
                                    "type": "event"})
                else:
                    withheld[marking_of(record.get("label")) if isinstance(record, dict)
                             else "?"] += 1
                seq = event.seq
            if len(page) < PAGE:
                break
        for ch in visible:
            after = 0
            while True:
                messages = await self._store.read_messages(ch.id, after_seq=after, limit=PAGE)
                for m in messages:
                    after = m.seq
                    if m.label_json and not self._access.sees(principal, {"label": m.label}):
                        withheld[marking_of(m.label)] += 1
                        continue
                    records.append({**m.frame(), "key": f"message:{ch.id}:{m.seq}",
                                    "type": "message", "channel_name": ch.name})
                if len(messages) < PAGE:
                    break
        async for entry in self._store.iter_audit():
            if entry.operation_id != op.id:
                continue
            if await view.sees_audit(entry):
                records.append({"key": f"audit:{entry.seq}", "type": "audit",
                                **dataclasses.asdict(entry)})
            else:
                withheld["audit records about withheld items"] += 1
        clearance = self._access.clearance(principal)
        meta = {"operation": {"id": op.id, "code": op.code, "name": op.name},
                "exported_at": self._clock.now(), "exported_by": principal.username,
                "clearance": " ".join([clearance.level, clearance.agency]),
                "counts": dict(sorted(Counter(r["type"] for r in records).items())),
                "withheld": dict(sorted(withheld.items()))}
        html = render(meta, records, lang)
        await self._access.exported(principal, op.id, meta, client)
        return seal(records, meta, {"report.html": html.encode("utf-8")}, self.signer)
