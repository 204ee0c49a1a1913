"""Alerts pushed in from outside: bots and people (REST), monitoring systems
(Alertmanager, Grafana) and CAP warnings, and the route and policy checks they
share with rules.

Each credential's fingerprints are its own (:func:`alerting.pipeline.records.pushed_key`),
and a route names a channel only to readers who may see it
(:func:`channels.labelling.channel_ref`). Mixed into
:class:`alerting.pipeline.service.AlertService`, whose state it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alerting.interop.alertmanager import Incoming
from alerting.kinds import CASE, POLICY
from alerting.pipeline.alerts import fingerprint, new_alert, resolve
from alerting.pipeline.records import AlertRecords, pushed_key
from alerting.pipeline.routing import TargetError, channels_of, check_targets
from alerting.rules.engine import is_config_id
from alerting.vocabulary import SEVERITIES
from channels.access import Access
from channels.labelling import channel_ref, item_label
from channels.permissions import Action
from hub.clock import Clock
from hub.engine.port import Store
from hub.errors import BadRequest, Forbidden, NotFound
from hub.labels import Label
from hub.models import Operation, OpEvent
from hub.principal import Principal

__all__ = ["PushedAlerts"]


class PushedAlerts:
    access: Access
    _store: Store
    _clock: Clock
    _records: AlertRecords
    _resend_window: float
    _global_policy_ids: set[str]

    async def _check_channels(self, principal: Principal, op: Operation,
                              targets: Sequence[str], where: str, client: str,
                              readers: Label) -> tuple[str, ...]:
        """Every ``channel:`` target must be a channel of the operation the caller may post
        in (a missing channel and one hidden from the caller get the same answer).

        Returns the targets as the record keeps them: a channel that some of the record's
        ``readers`` may not see is named by :func:`channel_ref`, never by its name.
        """
        channels = await self._store.list_channels(op.id)
        by_name = {ch.name: ch for ch in channels} | {channel_ref(ch): ch for ch in channels}
        shown: dict[str, str] = {}
        for name in channels_of(targets):
            ch = by_name.get(name)
            try:
                if ch is None:
                    raise NotFound()
                await self.access.channel(principal, ch.id, Action.POST, client=client)
            except (NotFound, Forbidden):
                raise BadRequest(f"{where}: 'channel:{name}' is not a channel of this "
                                 "operation that you may post in") from None
            covered = self.access.policy.covers(readers, self.access.channel_label(ch))
            shown[name] = ch.name if covered else channel_ref(ch)
        return tuple(f"channel:{shown[t[8:]]}" if t.startswith("channel:") else t
                     for t in targets)

    async def _check_policy(self, op: Operation, policy: str | None, where: str) -> None:
        if policy is None or policy in self._global_policy_ids:
            return
        if await self._store.get_record(op.id, POLICY, policy) is None:
            raise BadRequest(f"{where}: no escalation policy '{policy[:64]}' in this operation "
                             "(create it first)")

    async def _delivery(self, principal: Principal, op: Operation, route_given: object,
                        policy: object, client: str,
                        readers: Label | None = None) -> tuple[tuple[str, ...], str | None]:
        """A pushed alert's route and escalation policy, checked (default: "default").
        ``readers``: the alert's label (default: the operation's)."""
        try:
            route = check_targets(route_given, "'route'")
        except TargetError as exc:
            raise BadRequest(str(exc)) from None
        route = await self._check_channels(principal, op, route, "'route'", client,
                                           readers or self.access.operation_label(op))
        if policy is not None and not is_config_id(policy):
            raise BadRequest("'escalation' must be the id of an escalation policy")
        assert policy is None or isinstance(policy, str)
        await self._check_policy(op, policy, "'escalation'")
        if policy is None and await self._store.get_record(op.id, POLICY, "default"):
            policy = "default"
        return route, policy

    async def receive(self, principal: Principal, op_id: str, incoming: Sequence[Incoming],
                      *, route: object, policy: object, client: str) -> list[dict[str, Any]]:
        """Alerts from a monitoring system (Alertmanager, Grafana) onto the alert lifecycle.

        By fingerprint: firing raises the alert or counts a repeat, resolved
        resolves it. A notification sent again (the sender retrying) changes
        nothing, nor does a late firing of an alert already resolved.
        """
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        checked_route, checked_policy = await self._delivery(principal, op, route, policy,
                                                                    client)
        results = []
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
                op.id, str(doc["id"]), "resolved", principal.username,
                lambda a: resolve(a, actor=principal.username, now=now, resolution="source"))
            return event.action, event
        if doc is not None and doc["state"] == "resolved" and alert.starts_at \
                and doc.get("starts_at") == alert.starts_at:
            return "ignored", None  # that episode already ended here

        def build(alert_id: str) -> dict[str, Any]:
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
        return ("fired" if created else event.action), event

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
            op.id, str(found[0]["id"]), "resolved", principal.username,
            lambda a: resolve(a, actor=principal.username, now=now, resolution=resolution),
            client)

    async def push(self, principal: Principal, op_id: str, data: dict[str, Any],
                   client: str) -> tuple[OpEvent, bool]:
        """A bot (or person) pushes an alert; the same fingerprint while active dedups.

        Fingerprints are the caller's own: the same one from another credential,
        or from a rule or an urgent message, is another alert. An active alert
        of the caller's that it may no longer see is answered as not found.
        """
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        summary = data.get("summary")
        if not isinstance(summary, str) or not summary.strip() or len(summary) > 500:
            raise BadRequest("'summary' must be 1-500 characters")
        details = data.get("details", "")
        if not isinstance(details, str) or len(details) > 10_000:
            raise BadRequest("'details' must be a string of at most 10,000 characters")
        labels = data.get("labels", {})
        if not isinstance(labels, dict) or len(labels) > 32 or not all(
                isinstance(k, str) and isinstance(v, str | int | float) for k, v in
                labels.items()):
            raise BadRequest("'labels' must be an object of strings or numbers")
        given = data.get("fingerprint")
        if given is not None and (not isinstance(given, str) or not 0 < len(given) <= 64):
            raise BadRequest("'fingerprint' must be a string of 1-64 characters")
        severity = data.get("severity", "major")
        if severity not in SEVERITIES:
            raise BadRequest(f"'severity' must be one of {', '.join(SEVERITIES)}")
        fp = given or fingerprint({**labels, "summary": summary})
        case_id = data.get("case")
        case = await self._store.get_record(op.id, CASE, case_id) \
            if isinstance(case_id, str) else None
        if case_id is not None and (case is None or not self.access.sees(principal, case[0])):
            raise BadRequest("'case' must be a case of this operation")
        # The case's label, else the one given, else the operation's.
        label = self.access.policy.of_record(case[0].get("label")) if case else None
        if label is None:
            label = item_label(self.access.policy, data.get("label"),
                               self.access.clearance(principal),
                               self.access.operation_label(op))
        route, policy = await self._delivery(principal, op, data.get("route", []),
                                             data.get("escalation"), client, label)
        # Play or real: the case's, else what the sender says, else the operation's.
        for flag in ("exercise", "real_world"):
            if flag in data and not isinstance(data[flag], bool):
                raise BadRequest(f"'{flag}' must be true or false")
        if data.get("exercise") is True and data.get("real_world") is True:
            raise BadRequest("'real_world' and 'exercise' exclude each other")
        source = case[0] if case else data
        real_world = source.get("real_world") is True
        exercise = not real_world and (source.get("exercise") is True
                                       or (op.exercise and "exercise" not in source))
        now = self._clock.now()

        def build(alert_id: str) -> dict[str, Any]:
            return new_alert(alert_id=alert_id, operation_id=op.id, source="bot", fp=fp,
                             severity=severity, summary=summary,
                             details=details, now=now, case_id=case_id,
                             exercise=exercise, labels=labels, route=route, policy=policy,
                             label=label.to_dict(), real_world=real_world)

        event, created = await self._records.raise_alert(
            op.id, pushed_key(principal.username, fp), build, actor=principal.username,
            count_repeat=True, may_touch=lambda doc: self.access.sees(principal, doc))
        return event, created
