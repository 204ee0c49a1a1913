"""Rules, escalation policies, silences and alerts as people and bots see them.

Alerts pushed in from outside (bots, monitoring, CAP) are :mod:`alerting.pipeline.push`;
the checks of routes and policies that pushes and rules share are
:mod:`alerting.pipeline.delivery_checks`.

Every call authorizes through :class:`~channels.access.Access`, validates
with the pure modules, writes a versioned record (so it is an event of the
operation's log, live and recoverable). The write returns once stored; the
alert pipeline follows the log (:mod:`alerting.pipeline.consumer`) and acts on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import msgspec

from alerting.config_bodies import PolicyBody, RuleBody, SilenceBody
from alerting.documents import (
    AlertDoc,
    AlertView,
    DryRunMatch,
    PolicyDoc,
    PolicyView,
    RuleDoc,
    RuleView,
    SilenceDoc,
    SilenceView,
)
from alerting.kinds import ALERT, CASE, PIPELINE_STATE, POLICY, RULE, SILENCE
from alerting.pipeline.alerts import (
    acknowledge,
    answered,
    resolve,
)
from alerting.pipeline.delivery_checks import DeliveryChecks
from alerting.pipeline.escalation import PolicyError, parse_policy
from alerting.pipeline.records import AlertRecords
from alerting.pipeline.silence_label import silence_label
from alerting.pipeline.silences import SilenceError, new_silence
from alerting.rules.engine import Fire, RuleEngine, RuleError, parse_rule
from channels.access import Access
from channels.permissions import Action
from hub.auditor import Auditor
from hub.clock import Clock
from hub.documents import D, RecordKind
from hub.engine.port import RecordWrite, Store
from hub.errors import BadRequest, Conflict, NotFound
from hub.models import Operation, OpEvent, new_id
from hub.principal import Principal

__all__ = ["AlertService"]


class AlertService:
    def __init__(self, *, store: Store, clock: Clock, access: Access, auditor: Auditor,
                 records: AlertRecords, checks: DeliveryChecks,
                 global_rules: list[RuleDoc] | None = None) -> None:
        self._store = store
        self._checks = checks
        self._clock = clock
        self.access = access
        self._audit = auditor
        self._records = records
        self._global_rules = global_rules or []

    async def _put(self, principal: Principal, op: Operation, kind: RecordKind[D], doc: D,
                   client: str) -> OpEvent:
        """Create or replace a configuration record (rule, policy, silence)."""
        current = await self._store.get_record(op.id, kind, str(doc["id"]))
        event, _ = await self._store.write_record(RecordWrite(
            op.id, kind, str(doc["id"]), doc, current[1] if current else None,
            "updated" if current else "created", principal.username, self._clock.now(), {}))
        await self._audit.record(actor=principal.username, action=f"{kind}.put",
                                 target=str(doc["id"]), outcome="ok", client=client,
                                 operation_id=op.id)
        return event

    async def _list(self, principal: Principal, op_id: str, kind: RecordKind[D],
                    client: str) -> list[tuple[D, int]]:
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        return await self._store.list_records(op.id, kind)

    # --- rules ---------------------------------------------------------------------

    async def list_rules(self, principal: Principal, op_id: str,
                         client: str) -> list[RuleView]:
        """The operation's rules and the global ones, each with its run-time ``health``."""
        op, _ = await self.access.operation(principal, op_id, Action.READ_RECORDS,
                                            client=client)
        own = [_view(doc, version=v) for doc, v in await self._store.list_records(op.id, RULE)]
        ids = {r.get("id") for r in own}
        rules = own + [_view(r, **{"global": True}) for r in self._global_rules
                       if r.get("id") not in ids]
        state = await self._store.get_state(op.id, PIPELINE_STATE) or {}
        engine = state.get("engine")
        failures = engine.get("failures") if isinstance(engine, dict) else None
        for rule in rules:
            failed = failures.get(rule.get("id")) if isinstance(failures, dict) else None
            rule["health"] = {"state": "failing", **failed} if isinstance(failed, dict) \
                else {"state": "ok", "errors": 0}
            try:  # saved under older, looser checks: it is not evaluated, say so
                parse_rule({k: v for k, v in rule.items()
                            if k not in ("version", "global", "health")})
            except RuleError as exc:
                rule["health"] = {"state": "invalid", "errors": 0, "last_error": str(exc)}
        return rules

    async def _parse_rule(self, principal: Principal, op: Operation,
                          body: RuleBody, client: str) -> RuleDoc:
        """The rule as it is kept: checked, channels every member may not see by ref."""
        # the body's fields, as RuleDoc names them (RuleBody declares both)
        data = cast(RuleDoc, msgspec.to_builtins(body))
        try:
            rule = parse_rule(data)
        except RuleError as exc:
            raise BadRequest(str(exc)) from None
        await self._checks.policy(op, rule.escalation, f"rule '{rule.id}': escalation")
        route = await self._checks.channels(principal, op, rule.route,
                                            f"rule '{rule.id}': route", client,
                                            self.access.operation_label(op))
        return {**data, "route": list(route)} if "route" in data else data

    async def put_rule(self, principal: Principal, op_id: str, data: RuleBody,
                       client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                            client=client)
        kept = await self._parse_rule(principal, op, data, client)
        return await self._put(principal, op, RULE, kept, client)

    async def dry_run(self, principal: Principal, op_id: str, data: RuleBody,
                      client: str) -> list[DryRunMatch]:
        """Which current cases (or groups) the rule's condition matches now, ignoring holds.

        Needs the same right as saving the rule: it is how rules are written.
        """
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                            client=client)
        try:
            rule = parse_rule({**msgspec.to_builtins(data), "for": "0s",
                               "keep_firing_for": "0s"})
        except RuleError as exc:
            raise BadRequest(str(exc)) from None
        # Only the cases the caller may see: the matches, their rendered summaries and
        # even their number would tell of the others.
        cases = {doc["id"]: doc for doc, _ in await self._store.list_records(op.id, CASE)
                 if self.access.sees(principal, doc)}
        decisions = RuleEngine([rule]).evaluate(cases, self._clock.now())
        return [{"key": d.key, "case_id": d.case_id, "summary": d.summary, "count": d.count}
                for d in decisions if isinstance(d, Fire)]

    # --- escalation policies ---------------------------------------------------------

    async def list_policies(self, principal: Principal, op_id: str,
                            client: str) -> list[PolicyView]:
        return [{**doc, "version": v} for doc, v in
                await self._list(principal, op_id, POLICY, client)]

    async def put_policy(self, principal: Principal, op_id: str, body: PolicyBody,
                         client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                            client=client)
        # the body's fields, as PolicyDoc names them (PolicyBody declares both)
        data = cast(PolicyDoc, msgspec.to_builtins(body))
        try:
            policy = parse_policy(data)
        except PolicyError as exc:
            raise BadRequest(str(exc)) from None
        kept: PolicyDoc = {**data}
        steps = list(kept.get("steps") or [])
        for i, step in enumerate(policy.steps):
            notify = await self._checks.channels(principal, op, step.notify,
                                                 f"policy '{policy.id}': steps[{i}].notify",
                                                 client, self.access.operation_label(op))
            if i < len(steps) and isinstance(steps[i], dict) and "notify" in steps[i]:
                steps[i] = {**steps[i], "notify": list(notify)}
        if steps:
            kept["steps"] = steps
        return await self._put(principal, op, POLICY, kept, client)

    # --- silences --------------------------------------------------------------------

    async def list_silences(self, principal: Principal, op_id: str,
                            client: str) -> list[SilenceView]:
        """The silences the caller's clearance reaches (alerting/pipeline/silence_label.py)."""
        return [{**s, "version": v} for s, v in await self._list(principal, op_id, SILENCE, client)
                if self.access.sees(principal, s)]

    async def create_silence(self, principal: Principal, op_id: str, body: SilenceBody,
                             client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        data: dict[str, object] = msgspec.to_builtins(body)
        asked = data.pop("label", None)
        try:
            doc = new_silence(data, silence_id=new_id("sil"), author=principal.username,
                              now=self._clock.now())
        except SilenceError as exc:
            raise BadRequest(str(exc)) from None
        label = await silence_label(self._store, self.access, principal, op,
                                    doc["matchers"], asked)
        kept: SilenceDoc = {**doc, "label": label.to_dict()}
        return await self._put(principal, op, SILENCE, kept, client)

    async def expire_silence(self, principal: Principal, op_id: str, silence_id: str,
                             client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        found = await self._store.get_record(op.id, SILENCE, silence_id)
        if found is None or not self.access.sees(principal, found[0]):
            raise NotFound()
        now = self._clock.now()
        doc: SilenceDoc = {**found[0]}
        if doc["ends_at"] is not None and doc["ends_at"] <= now:
            raise Conflict("the silence has already ended")
        doc.update({"ends_at": max(now, doc["starts_at"] + 0.001),
                    "expired_by": principal.username})
        return await self._put(principal, op, SILENCE, doc, client)

    # --- alerts ----------------------------------------------------------------------

    async def list_alerts(self, principal: Principal, op_id: str, client: str,
                          state: str | None = None) -> list[AlertView]:
        alerts = await self._list(principal, op_id, ALERT, client)
        return [answered(a, v) for a, v in alerts if (state is None or a["state"] == state)
                and self.access.sees(principal, a)]

    async def _change(self, principal: Principal, op_id: str, alert_id: str, action: str,
                      change: Callable[[AlertDoc], AlertDoc],
                      client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        found = await self._store.get_record(op.id, ALERT, alert_id)
        if found is not None and not self.access.sees(principal, found[0]):
            raise NotFound()  # above the caller's clearance: as if it did not exist
        event = await self._records.transition(op.id, alert_id, action, principal.username,
                                               change, client)
        return event

    async def acknowledge(self, principal: Principal, op_id: str, alert_id: str,
                          client: str) -> OpEvent:
        return await self._change(principal, op_id, alert_id, "acknowledged",
                                  lambda a: acknowledge(a, actor=principal.username,
                                                        now=self._clock.now(),
                                                        agency=principal.agency), client)

    async def resolve(self, principal: Principal, op_id: str, alert_id: str,
                      client: str) -> OpEvent:
        return await self._change(principal, op_id, alert_id, "resolved",
                                  lambda a: resolve(a, actor=principal.username,
                                                    now=self._clock.now(),
                                                    resolution="manual"), client)


def _view(rule: RuleDoc, **extra: object) -> RuleView:
    """A rule as listed: a RuleDoc and the list's own keys (RuleView declares both)."""
    return cast(RuleView, {**rule, **extra})
