"""Rules and alerts of an operation: evaluate -> dedup -> write -> broadcast -> audit.

The stages, in the order a case event goes through them:

1. **evaluate** — the operation's :class:`~alerting.engine.RuleEngine` turns
   the case change (or a timer) into Fire/Resolve decisions;
2. **dedup** — a Fire whose fingerprint has an active alert counts an
   occurrence on it instead of raising another;
3. **write** — the alert is a record of the operation: every transition is a
   versioned write plus an op event (so it is live, recoverable, and on the
   case's timeline), retried on a concurrent change;
4. **audit** — every transition is in the audit trail.

Routing, silences and escalation join as stages between 2 and 3.
Timers: :meth:`AlertService.tick` evaluates every operation whose engine has a
deadline that has come; the app runs it from a background loop, tests call it
with an injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from alerting.alerts import AlertState, acknowledge, fingerprint, new_alert, repeat, resolve
from alerting.engine import Decision, Fire, Resolve, RuleEngine, RuleError, parse_rule
from channels.access import Access
from channels.permissions import Action
from hub.auditor import Auditor
from hub.auth import Principal
from hub.clock import Clock
from hub.engine.port import Broker, RecordWrite, Store
from hub.errors import BadRequest, Conflict, NotFound
from hub.models import OperationId, OpEvent, OpEventPosted, new_id, ops_topic

__all__ = ["AlertService"]

log = logging.getLogger("alerting")

ALERT, RULE, CASE = "alert", "rule", "case"
ENGINE_STATE = "engine"


class _OpRuntime:
    """What one operation's evaluation needs in memory."""

    def __init__(self, engine: RuleEngine, cases: dict[str, dict[str, Any]],
                 active: dict[str, str]) -> None:
        self.engine = engine
        self.cases = cases
        self.active = active  # fingerprint -> id of the firing/acknowledged alert
        self.lock = asyncio.Lock()


class AlertService:
    def __init__(self, *, store: Store, broker: Broker, clock: Clock, access: Access,
                 auditor: Auditor) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self.access = access
        self._audit = auditor
        self._ops: dict[str, _OpRuntime] = {}

    # --- runtime per operation ---------------------------------------------------------

    async def _runtime(self, op_id: OperationId) -> _OpRuntime:
        rt = self._ops.get(op_id)
        if rt is not None:
            return rt
        rules = []
        for doc, _ in await self._store.list_records(op_id, RULE):
            if doc.get("enabled", True):
                try:
                    rules.append(parse_rule(doc))
                except RuleError:
                    log.warning("stored rule no longer valid", extra={"rule": doc.get("id")})
        engine = RuleEngine(rules)
        snap = await self._store.get_state(op_id, ENGINE_STATE)
        if snap:
            engine.restore(snap)
        cases = {str(doc["id"]): doc for doc, _ in await self._store.list_records(op_id, CASE)}
        active = {str(doc["fingerprint"]): str(doc["id"])
                  for doc, _ in await self._store.list_records(op_id, ALERT)
                  if doc["state"] != AlertState.RESOLVED}
        rt = self._ops[op_id] = _OpRuntime(engine, cases, active)
        return rt

    async def start(self) -> None:
        """Load every operation with rules, so their timers run after a restart."""
        for op in await self._store.list_operations():
            if await self._store.list_records(op.id, RULE):
                await self._runtime(op.id)

    def _forget(self, op_id: str) -> None:
        self._ops.pop(op_id, None)

    # --- rules ----------------------------------------------------------------------------

    async def list_rules(self, principal: Principal, op_id: str,
                         client: str) -> list[dict[str, Any]]:
        op, _ = await self.access.operation(principal, op_id, Action.VIEW_OPERATION,
                                            client=client)
        return [{**doc, "version": v} for doc, v in await self._store.list_records(op.id, RULE)]

    async def put_rule(self, principal: Principal, op_id: str, data: dict[str, Any],
                       client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                            client=client)
        try:
            parse_rule(data)
        except RuleError as exc:
            raise BadRequest(str(exc)) from None
        rule_id = str(data["id"])
        current = await self._store.get_record(op.id, RULE, rule_id)
        event, _ = await self._store.write_record(RecordWrite(
            op.id, RULE, rule_id, dict(data), current[1] if current else None,
            "updated" if current else "created", principal.username, self._clock.now(), {}))
        await self._audit.record(actor=principal.username, action="rule.put", target=rule_id,
                                 outcome="ok", client=client, operation_id=op.id)
        await self._publish(event)
        self._forget(op.id)
        await self.evaluate(op.id)  # the new rule applies to the cases already open
        return event

    async def dry_run(self, principal: Principal, op_id: str, data: dict[str, Any],
                      client: str) -> list[dict[str, Any]]:
        """Which current cases (or groups) the rule's condition matches now, ignoring holds."""
        op, _ = await self.access.operation(principal, op_id, Action.VIEW_OPERATION,
                                            client=client)
        try:
            rule = parse_rule({**data, "for": 0, "keep_firing_for": 0})
        except RuleError as exc:
            raise BadRequest(str(exc)) from None
        cases = {str(doc["id"]): doc for doc, _ in await self._store.list_records(op.id, CASE)}
        decisions = RuleEngine([rule]).evaluate(cases, self._clock.now())
        return [{"key": d.key, "case_id": d.case_id, "summary": d.summary, "count": d.count}
                for d in decisions if isinstance(d, Fire)]

    # --- evaluation -----------------------------------------------------------------------

    async def on_case_event(self, event: OpEvent) -> None:
        """Stage 1 for a case change: update the operation's view and evaluate."""
        if event.kind != CASE:
            return
        rt = await self._runtime(event.operation_id)
        record = dict(event.data["record"])  # type: ignore[call-overload]
        previous = None
        changes = event.data.get("changes")
        if event.action != "created" and isinstance(changes, dict):
            previous = {**record, **{k: v[0] for k, v in changes.items()}}
        async with rt.lock:
            rt.cases[event.record_id] = record
            decisions = rt.engine.evaluate(rt.cases, self._clock.now(),
                                           changed=[event.record_id],
                                           previous={event.record_id: previous or {}}
                                           if previous else None)
            await self._apply(event.operation_id, rt, decisions)

    async def evaluate(self, op_id: OperationId) -> None:
        rt = await self._runtime(op_id)
        async with rt.lock:
            await self._apply(op_id, rt, rt.engine.evaluate(rt.cases, self._clock.now()))

    async def tick(self) -> None:
        """Run every operation's due timers (staleness, holds, windows)."""
        now = self._clock.now()
        for op_id, rt in list(self._ops.items()):
            deadline = rt.engine.next_deadline()
            if deadline is not None and deadline <= now:
                async with rt.lock:
                    decisions = rt.engine.evaluate(rt.cases, now, changed=[])
                    await self._apply(OperationId(op_id), rt, decisions)

    def next_deadline(self) -> float | None:
        times = [d for rt in self._ops.values() if (d := rt.engine.next_deadline()) is not None]
        return min(times) if times else None

    async def _apply(self, op_id: OperationId, rt: _OpRuntime,
                     decisions: list[Decision]) -> None:
        for d in decisions:
            fp = fingerprint({"operation": op_id, "rule": d.rule, "key": d.key})
            if isinstance(d, Fire):
                case = rt.cases.get(d.case_id or "")
                await self._raise(op_id, rt, fp, source="rule", severity=d.severity,
                                  summary=d.summary, details="", rule_id=d.rule,
                                  case_id=d.case_id,
                                  exercise=bool(case.get("exercise")) if case else False,
                                  actor=f"rule:{d.rule}")
            elif isinstance(d, Resolve):
                alert_id = rt.active.get(fp)
                if alert_id is not None:
                    actor = f"rule:{d.rule}"
                    await self._transition(op_id, alert_id, "resolved", actor,
                                           lambda a, who=actor: resolve(a, actor=who,
                                                                        now=self._clock.now(),
                                                                        resolution="auto"))
                    rt.active.pop(fp, None)
        await self._store.put_state(op_id, ENGINE_STATE, rt.engine.snapshot())

    # --- stages 2-4: dedup, write, audit ------------------------------------------------------

    async def _raise(self, op_id: OperationId, rt: _OpRuntime, fp: str, *, source: str,
                     severity: str, summary: str, details: str, actor: str,
                     rule_id: str | None = None, case_id: str | None = None,
                     exercise: bool = False,
                     labels: dict[str, object] | None = None) -> tuple[OpEvent, bool]:
        alert_id = rt.active.get(fp)
        if alert_id is not None:
            try:
                return await self._transition(op_id, alert_id, "repeated", actor,
                                              lambda a: repeat(a, now=self._clock.now(),
                                                               summary=summary,
                                                               severity=severity)), False
            except Conflict:
                rt.active.pop(fp, None)  # resolved meanwhile: raise a new one
        alert = new_alert(alert_id=new_id("al"), operation_id=op_id, source=source, fp=fp,
                          severity=severity, summary=summary, details=details,
                          now=self._clock.now(), rule_id=rule_id, case_id=case_id,
                          exercise=exercise, labels=labels)
        event, _ = await self._store.write_record(RecordWrite(
            op_id, ALERT, alert["id"], alert, None, "fired", actor, self._clock.now(), {}))
        rt.active[fp] = alert["id"]
        await self._publish(event)
        await self._audit.record(actor=actor, action="alert.fired", target=alert["id"],
                                 outcome="ok", operation_id=op_id,
                                 details={"fingerprint": fp, "severity": severity})
        return event, True

    async def _transition(self, op_id: OperationId, alert_id: str, action: str, actor: str,
                          change: Any, client: str = "") -> OpEvent:
        """Apply ``change`` to the stored alert, retrying on concurrent writes."""
        for _ in range(10):
            found = await self._store.get_record(op_id, ALERT, alert_id)
            if found is None:
                raise NotFound()
            doc, version = found
            updated = change(doc)
            if updated == doc:
                return OpEvent(op_id, 0, ALERT, "unchanged", alert_id, version, actor,
                               self._clock.now(), {"record": doc})
            try:
                event, _ = await self._store.write_record(RecordWrite(
                    op_id, ALERT, alert_id, updated, version, action, actor,
                    self._clock.now(), {"changes": {"state": [doc["state"],
                                                              updated["state"]]}}))
            except Conflict:
                continue  # someone else changed it: re-read and re-apply the rule of the race
            await self._publish(event)
            await self._audit.record(actor=actor, action=f"alert.{action}", target=alert_id,
                                     outcome="ok", operation_id=op_id, client=client)
            return event
        raise Conflict("the alert is changing too fast; try again")

    async def _publish(self, event: OpEvent) -> None:
        await self._broker.publish(ops_topic(event.operation_id),
                                   OpEventPosted(event, time.perf_counter()))

    # --- people and bots --------------------------------------------------------------------

    async def list_alerts(self, principal: Principal, op_id: str, client: str,
                          state: str | None = None) -> list[dict[str, Any]]:
        op, _ = await self.access.operation(principal, op_id, Action.VIEW_OPERATION,
                                            client=client)
        alerts = [{**doc, "version": v} for doc, v in await self._store.list_records(op.id,
                                                                                    ALERT)]
        return [a for a in alerts if state is None or a["state"] == state]

    async def acknowledge(self, principal: Principal, op_id: str, alert_id: str,
                          client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        return await self._transition(op.id, alert_id, "acknowledged", principal.username,
                                      lambda a: acknowledge(a, actor=principal.username,
                                                            now=self._clock.now()), client)

    async def resolve(self, principal: Principal, op_id: str, alert_id: str,
                      client: str) -> OpEvent:
        op, _ = await self.access.operation(principal, op_id, Action.EDIT_RECORDS,
                                            client=client)
        rt = await self._runtime(op.id)
        event = await self._transition(op.id, alert_id, "resolved", principal.username,
                                       lambda a: resolve(a, actor=principal.username,
                                                         now=self._clock.now(),
                                                         resolution="manual"), client)
        record = event.data["record"]
        rt.active.pop(str(record["fingerprint"]), None)  # type: ignore[index]
        return event

    async def push(self, principal: Principal, op_id: str, data: dict[str, Any],
                   client: str) -> tuple[OpEvent, bool]:
        """A bot (or person) pushes an alert; the same fingerprint while active dedups."""
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
        fp = given or fingerprint({**labels, "summary": summary})
        case_id = data.get("case")
        if case_id is not None and (not isinstance(case_id, str)
                                    or await self._store.get_record(op.id, CASE, case_id)
                                    is None):
            raise BadRequest("'case' must be a case of this operation")
        rt = await self._runtime(op.id)
        async with rt.lock:
            return await self._raise(op.id, rt, fp, source="bot",
                                     severity=data.get("severity", "major"), summary=summary,
                                     details=details, actor=principal.username,
                                     case_id=case_id, exercise=bool(data.get("exercise")),
                                     labels=labels)
