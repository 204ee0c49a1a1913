"""Alerts pushed in from outside: bots and people (REST, :class:`alerting.bodies.PushedAlert`),
monitoring systems (Alertmanager, Grafana) and CAP warnings, onto the alert lifecycle.

Each credential's fingerprints are its own (:func:`alerting.pipeline.records.pushed_key`);
where an alert may go is checked by :class:`alerting.pipeline.delivery_checks.DeliveryChecks`,
the checks rules and escalation policies share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict

import msgspec

from alerting.bodies import PushedAlert
from alerting.documents import AlertDoc
from alerting.interop.alertmanager import Incoming
from alerting.kinds import CASE
from alerting.pipeline.alerts import fingerprint, new_alert, resolve
from alerting.pipeline.delivery_checks import DeliveryChecks
from alerting.pipeline.records import AlertRecords, pushed_key
from channels.access import Access
from channels.labelling import item_label
from channels.permissions import Action
from hub.clock import Clock
from hub.engine.port import Store
from hub.errors import BadRequest
from hub.models import Operation, OperationId, OpEvent
from hub.principal import Principal

__all__ = ["PushedAlerts"]


class Received(TypedDict):
    """What became of one alert of a monitoring system's notification."""

    fingerprint: str
    action: str  # fired, repeated, resolved, unchanged, ignored
    id: str | None


class PushedAlerts:
    def __init__(self, *, store: Store, clock: Clock, access: Access, records: AlertRecords,
                 checks: DeliveryChecks, resend_window: float = 300.0) -> None:
        self._store = store
        self._clock = clock
        self.access = access
        self._records = records
        self._checks = checks
        self._resend_window = resend_window
        #: Set by the composition root: an alert was raised or repeated (its translations).
        self.on_raised: Callable[[OperationId, AlertDoc], Awaitable[None]] | None = None

    async def _raised(self, op_id: OperationId, event: OpEvent) -> OpEvent:
        if self.on_raised is not None:
            await self.on_raised(op_id, event.data["record"])  # type: ignore[arg-type]
        return event

    async def receive(self, principal: Principal, op_id: str, incoming: Sequence[Incoming],
                      *, route: object, policy: object, client: str) -> list[Received]:
        """Alerts from a monitoring system (Alertmanager, Grafana) onto the alert lifecycle.

        By fingerprint: firing raises the alert or counts a repeat, resolved
        resolves it. A notification sent again (the sender retrying) changes
        nothing, nor does a late firing of an alert already resolved.
        """
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        checked_route, checked_policy = await self._checks.delivery(principal, op, route, policy,
                                                                  client)
        results: list[Received] = []
        for alert in incoming:
            action, event = await self._receive_one(principal, op, alert, checked_route,
                                                    checked_policy)
            results.append({"fingerprint": alert.fingerprint, "action": action,
                            "id": event.record_id if event else None})
        return results

    async def _receive_one(self, principal: Principal, op: Operation, alert: Incoming,
                           route: Sequence[str],
                           policy: str | None) -> tuple[str, OpEvent | None]:
        now = self._clock.now()
        key = pushed_key(principal.username, alert.fingerprint)
        latest = await self._records.latest(op.id, key)
        doc = latest[0] if latest else None
        if doc is not None and not self.access.sees(principal, doc):
            return "ignored", None  # relabelled past the sender's view: not its to change
        if not alert.firing:
            if doc is None or doc["state"] == "resolved":
                return "ignored", None
            event = await self._records.transition(
                op.id, doc["id"], "resolved", principal.username,
                lambda a: resolve(a, actor=principal.username, now=now, resolution="source"))
            return event.action, event
        if doc is not None and doc["state"] == "resolved" and alert.starts_at \
                and doc.get("starts_at") == alert.starts_at:
            return "ignored", None  # that episode already ended here

        def build(alert_id: str) -> AlertDoc:
            return {**new_alert(alert_id=alert_id, operation_id=op.id, source="monitoring",
                                fp=alert.fingerprint, severity=alert.severity,
                                summary=alert.summary, details=alert.details, now=now,
                                exercise=alert.exercise or op.exercise, labels=alert.labels,
                                route=route, policy=policy,
                                label=self.access.operation_label(op).to_dict()),
                    "annotations": alert.annotations, "links": alert.links,
                    "starts_at": alert.starts_at, "last_occurrence": alert.occurrence}

        event, created = await self._records.raise_alert(
            op.id, key, build, actor=principal.username, count_repeat=True,
            occurrence=alert.occurrence, window=self._resend_window,
            may_touch=lambda doc: self.access.sees(principal, doc))
        return ("fired" if created else event.action), await self._raised(op.id, event)

    async def resolve_fingerprint(self, principal: Principal, op_id: str, fp: str,
                                  resolution: str, client: str) -> OpEvent | None:
        """Resolve the active alert ``principal`` pushed with fingerprint ``fp``; None if none.

        Only an alert of the caller's own namespace that the caller may see.
        """
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        found = await self._records.active(op.id, pushed_key(principal.username, fp))
        if found is None or not self.access.sees(principal, found[0]):
            return None
        now = self._clock.now()
        return await self._records.transition(
            op.id, found[0]["id"], "resolved", principal.username,
            lambda a: resolve(a, actor=principal.username, now=now, resolution=resolution),
            client)

    async def push(self, principal: Principal, op_id: str, data: PushedAlert,
                   client: str) -> tuple[OpEvent, bool]:
        """A bot (or person) pushes an alert; the same fingerprint while active dedups.

        Fingerprints are the caller's own: the same one from another credential,
        or from a rule or an urgent message, is another alert. An active alert
        of the caller's that it may no longer see is answered as not found.
        """
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        labels: dict[str, object] = dict(data.labels)
        fp = data.fingerprint or fingerprint({**labels, "summary": data.summary})
        case = await self._store.get_record(op.id, CASE, data.case) \
            if data.case is not None else None
        if data.case is not None and (case is None or not self.access.sees(principal, case[0])):
            raise BadRequest("'case' must be a case of this operation")
        # The case's label, else the one given, else the operation's.
        label = self.access.policy.of_record(case[0].get("label")) if case else None
        if label is None:
            label = item_label(self.access.policy, _plain(data.label),
                               self.access.clearance(principal),
                               self.access.operation_label(op))
        route, policy = await self._checks.delivery(principal, op, list(data.route),
                                                    data.escalation, client, label)
        # Play or real: the case's, else what the sender says, else the operation's.
        if case:
            real_world = case[0].get("real_world") is True
            exercise = not real_world and (case[0].get("exercise") is True or (
                op.exercise and "exercise" not in case[0]))
        else:
            real_world = data.real_world is True
            exercise = not real_world and (data.exercise is True or (
                op.exercise and data.exercise is msgspec.UNSET))
        now = self._clock.now()

        def build(alert_id: str) -> AlertDoc:
            doc = new_alert(alert_id=alert_id, operation_id=op.id, source="bot", fp=fp,
                            severity=data.severity, summary=data.summary,
                            details=data.details, now=now, case_id=data.case,
                            exercise=exercise, labels=labels, route=route, policy=policy,
                            label=label.to_dict(), real_world=real_world)
            if isinstance(data.lang, str):
                doc["lang"] = data.lang
            return doc

        event, created = await self._records.raise_alert(
            op.id, pushed_key(principal.username, fp), build, actor=principal.username,
            count_repeat=True, may_touch=lambda doc: self.access.sees(principal, doc))
        return await self._raised(op.id, event), created


def _plain(label: object) -> object:
    """A label as the label parser reads it (a level name, or a plain object)."""
    return msgspec.to_builtins(label)
