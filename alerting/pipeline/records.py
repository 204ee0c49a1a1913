"""Alert records in the store: raise, change, publish and audit them, safely under races.

Every alert change is a versioned record write plus an operation event, so it
is live, recoverable with since_seq, on the case's timeline, and audited.
Two nodes (or two requests) acting on the same alert at once cannot both
win: writes carry the version they read, and the loser re-reads.

Alert ids are derived from the operation, the fingerprint and a generation
number (:func:`alerting.pipeline.alerts.alert_id_for`), so raising is idempotent
across nodes without any in-memory registry: the active alert of a
fingerprint is the newest generation that is not resolved.

A fingerprint here is a *key*: the hub's own sources (rules, urgent messages)
use theirs as they are; what a credential pushes is keyed within that
credential's namespace (:func:`pushed_key`), so nobody can reach an alert
another source raised by sending its fingerprint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from alerting.documents import AlertDoc
from alerting.kinds import ALERT
from alerting.pipeline.alerts import AlertState, alert_id_for, repeat
from hub.auditor import Auditor
from hub.clock import Clock
from hub.engine.port import Records, RecordWrite
from hub.errors import Conflict, NotFound
from hub.models import OperationId, OpEvent

__all__ = ["AlertRecords", "pushed_key"]

MAX_RETRIES = 10


def pushed_key(username: str, fp: str) -> str:
    """The key of fingerprint ``fp`` as pushed by ``username``: its own namespace.

    Usernames hold no newline, so two credentials' keys never meet, nor meet a
    key of the hub's own sources (hex digests).
    """
    return f"push\n{username}\n{fp}"


class AlertRecords:
    def __init__(self, *, store: Records, clock: Clock,
                 auditor: Auditor) -> None:
        self._store = store
        self._clock = clock
        self._audit = auditor
        self._generation: dict[tuple[str, str], int] = {}  # a hint; the store decides

    async def active(self, op_id: OperationId,
                     fp: str) -> tuple[AlertDoc, int] | None:
        """The firing or acknowledged alert with fingerprint ``fp``, with its version."""
        found, _ = await self._scan(op_id, fp)
        return found

    async def _scan(self, op_id: OperationId,
                    fp: str) -> tuple[tuple[AlertDoc, int] | None, int]:
        gen = self._generation.get((op_id, fp), 1)
        while True:
            found = await self._store.get_record(op_id, ALERT, alert_id_for(op_id, fp, gen))
            if found is None:
                self._generation[(op_id, fp)] = gen
                return None, gen  # the next free generation
            if found[0]["state"] != AlertState.RESOLVED:
                self._generation[(op_id, fp)] = gen
                return found, gen
            gen += 1

    async def latest(self, op_id: OperationId,
                     fp: str) -> tuple[AlertDoc, int] | None:
        """The newest alert with fingerprint ``fp``, active or resolved, with its version."""
        found, gen = await self._scan(op_id, fp)
        if found is not None or gen == 1:
            return found
        return await self._store.get_record(op_id, ALERT, alert_id_for(op_id, fp, gen - 1))

    async def raise_alert(self, op_id: OperationId, fp: str,
                          build: Callable[[str], AlertDoc], *, actor: str,
                          count_repeat: bool, occurrence: str | None = None,
                          window: float = 0.0,
                          may_touch: Callable[[AlertDoc], bool] | None = None,
                          ) -> tuple[OpEvent, bool]:
        """Create the alert ``build(id)`` unless ``fp`` is active already.

        Returns (event, created). An active alert counts an occurrence
        (``count_repeat``, for pushes; the same ``occurrence`` within ``window``
        seconds is a resend and counts nothing) or is left as it is (for rules,
        which fire once per condition episode, so a repeat is a replayed event).
        An active alert that fails ``may_touch`` (the caller may no longer see
        it) is neither changed nor shown: NotFound, like an alert that is not.
        """
        for _ in range(MAX_RETRIES):
            found, gen = await self._scan(op_id, fp)
            if found is not None:
                doc, version = found
                if may_touch is not None and not may_touch(doc):
                    raise NotFound()
                if not count_repeat:
                    return self._unchanged(op_id, doc, version, actor), False
                fresh = build(doc["id"])
                try:
                    event = await self.transition(
                        op_id, doc["id"], "repeated", actor,
                        functools.partial(repeat, now=self._clock.now(),
                                          summary=fresh["summary"],
                                          severity=fresh["severity"],
                                          occurrence=occurrence, window=window))
                    return event, False
                except Conflict:
                    continue  # resolved meanwhile: raise the next generation
            alert = build(alert_id_for(op_id, fp, gen))
            try:
                event, _ = await self._store.write_record(RecordWrite(
                    op_id, ALERT, alert["id"], alert, None, "fired", actor,
                    self._clock.now(), {}))
            except Conflict:
                continue  # another node raised it first: look again
            self._generation[(op_id, fp)] = gen
            await self._audit.record(actor=actor, action="alert.fired", target=alert["id"],
                                     outcome="ok", operation_id=op_id,
                                     details={"fingerprint": alert["fingerprint"],
                                              "severity": alert["severity"]})
            return event, True
        raise Conflict("the alert is changing too fast; try again")

    def _unchanged(self, op_id: OperationId, doc: AlertDoc, version: int,
                   actor: str) -> OpEvent:
        return OpEvent(op_id, 0, ALERT, "unchanged", doc["id"], version, actor,
                       self._clock.now(), {"record": doc})

    async def transition(self, op_id: OperationId, alert_id: str, action: str, actor: str,
                         change: Callable[[AlertDoc], AlertDoc], client: str = "",
                         data: dict[str, object] | None = None,
                         expect: int | None = None, audited: bool = False) -> OpEvent:
        """Apply ``change`` to the stored alert, re-reading and re-applying on a race
        (``audited``: the audit record carries ``data`` as its details).

        With ``expect``, the change applies to that version only: a race is
        lost rather than retried (Conflict), for steps that must run once.
        """
        for _ in range(MAX_RETRIES):
            found = await self._store.get_record(op_id, ALERT, alert_id)
            if found is None:
                raise NotFound()
            doc, version = found
            if expect is not None and version != expect:
                raise Conflict("the alert changed meanwhile")
            updated = change(doc)
            if updated == doc:
                return self._unchanged(op_id, doc, version, actor)
            extra = {"changes": {"state": [doc["state"], updated["state"]]}, **(data or {})}
            try:
                event, _ = await self._store.write_record(RecordWrite(
                    op_id, ALERT, alert_id, updated, version, action, actor,
                    self._clock.now(), extra))
            except Conflict:
                if expect is not None:
                    raise
                continue
            await self._audit.record(actor=actor, action=f"alert.{action}", target=alert_id,
                                     outcome="ok", operation_id=op_id, client=client,
                                     details=dict(data or {}) if audited else None)
            return event
        raise Conflict("the alert is changing too fast; try again")
