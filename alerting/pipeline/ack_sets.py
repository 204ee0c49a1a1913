"""Keeping "every agency" acknowledgement sets true while membership changes.

:func:`readers` gives the members who may read a label; :class:`AckSets`
applies :func:`alerting.pipeline.ack_rule.ack_set` to them and, when a membership
changes, recomputes the set of every active alert that needs each agency: an
agency that can now acknowledge is added, one that no longer can is dropped
(both logged as the alert's ``agencies`` event and audited as
``alert.agencies``), and an alert whose last pending agency was dropped is
acknowledged by those who already did.
"""

from __future__ import annotations

import functools

from alerting.kinds import ALERT
from alerting.pipeline.ack_rule import AckSet, ack_set, regroup
from alerting.pipeline.records import AlertRecords
from alerting.pipeline.routing import Member
from alerting.vocabulary import AlertState
from hub.clock import Clock
from hub.engine.port import Store
from hub.errors import Conflict, NotFound
from hub.labels import Label, Policy
from hub.models import OperationId

__all__ = ["AckSets", "readers"]


async def readers(store: Store, policy: Policy, op_id: OperationId,
                  label: Label | None) -> list[Member]:
    """The operation's members who may read something labelled ``label``."""
    return [Member(u.username, str(m.role), u.agency, not u.disabled, u.is_bot)
            for m, u in await store.list_members(op_id)
            if label is None or policy.may_see(policy.clearance_of(u.clearance, u.agency),
                                               label)]


class AckSets:
    def __init__(self, *, store: Store, records: AlertRecords, policy: Policy,
                 clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._records = records
        self._policy = policy

    async def of(self, op_id: OperationId, label: Label | None) -> AckSet:
        return ack_set(await readers(self._store, self._policy, op_id, label))

    async def membership_changed(self, op_id: OperationId, actor: str, client: str) -> None:
        """Recompute the agencies of every active alert that needs each agency."""
        for doc, _ in await self._store.list_records(op_id, ALERT):
            if doc.get("state") == AlertState.RESOLVED or doc.get("ack_agencies") is None:
                continue
            now_set = await self.of(op_id, self._policy.of_record(doc.get("label")))
            before = set(doc.get("ack_agencies") or ())
            if set(now_set.required) == before and \
                    list(now_set.informed) == list(doc.get("informed_agencies") or ()):
                continue
            added = sorted(set(now_set.required) - before)
            dropped = sorted(before - set(now_set.required))
            try:
                await self._records.transition(
                    op_id, str(doc["id"]), "agencies", actor,
                    functools.partial(regroup, now_set=now_set, now=self._clock.now()),
                    client=client, data={"added": added, "dropped": dropped}, audited=True)
            except (Conflict, NotFound):
                continue  # resolved or changed meanwhile; the next change recomputes
