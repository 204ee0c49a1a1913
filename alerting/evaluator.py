"""The alert pipeline of every operation, run by one node at a time.

Stages, composed in :meth:`Evaluator.pump` and :meth:`Evaluator._step`:

1. **evaluate** — the operation's event log is read in seq order from a
   durable cursor; case changes (and due timers) go through the pure
   :class:`~alerting.engine.RuleEngine`, which returns Fire/Resolve;
2. **dedup** — a Fire raises the fingerprint's alert only if none is active
   (:class:`~alerting.records.AlertRecords`, ids derived from the fingerprint);
3. **silence** — a due notification of an alert covered by a silence waits
   (the alert is marked ``silenced_by``, stays stored and shown);
4. **route** — the step's targets become people and channels
   (:mod:`alerting.routing`);
5. **escalate** — the policy says what is due now and when to look again
   (:mod:`alerting.escalation`);
6. **deliver** — a notice in the target channels (idempotent by a
   client_msg_id derived from alert, step and reminder) and a ``notified``
   alert event naming the people, which their clients turn into a desktop
   notification.

**Exactly once across nodes.** One node holds the ``alerting`` lease
(:meth:`Store.claim_lease`) and runs the pipeline; the others only wake it
(:class:`~hub.models.WakeEvent`). It consumes the log from a cursor kept
with the engine state, so a node that takes over after a crash resumes where
the last one stopped. Effects are safe even if two nodes briefly both act:
alert ids are deterministic (one create wins), each escalation step is a
write that expects the version it read (one wins), and channel notices are
idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from alerting.alerts import AlertState, fingerprint, new_alert, resolve
from alerting.engine import Decision, Fire, Resolve, Rule, RuleEngine, RuleError, parse_rule
from alerting.escalation import Notice, PolicyError, parse_policy, plan
from alerting.opstate import OpState
from alerting.records import ALERT, AlertRecords
from alerting.routing import Member, channels_of, people
from alerting.silences import matching
from hub.clock import Clock
from hub.engine.port import Broker, Store
from hub.errors import Conflict, NotFound
from hub.models import CONTROL_TOPIC, OperationId, OpEvent, Priority, WakeEvent

if TYPE_CHECKING:
    from channels.service import ChannelService

__all__ = ["CASE", "POLICY", "RULE", "SILENCE", "Evaluator"]

log = logging.getLogger("alerting.evaluator")

CASE, RULE, POLICY, SILENCE = "case", "rule", "policy", "silence"
LEASE = "alerting"
STATE = "alerting"
TICK_SECONDS = 1.0
SILENCED_RECHECK = 60.0
PAGE = 500


class Evaluator:
    def __init__(self, *, store: Store, broker: Broker, clock: Clock, records: AlertRecords,
                 channels: ChannelService, node_id: str, lease_seconds: float,
                 global_rules: Sequence[Mapping[str, Any]] = (),
                 global_policies: Sequence[Mapping[str, Any]] = ()) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self._records = records
        self._channels = channels
        self.node_id = node_id
        self._lease_seconds = lease_seconds
        self._global_rules = [dict(r) for r in global_rules]
        self._global_policies = [parse_policy(p) for p in global_policies]
        self._ops: dict[str, OpState] = {}
        self._loading = asyncio.Lock()
        self._dirty: set[str] = set()
        self._woken = asyncio.Event()
        self.leader = False

    # --- leadership ----------------------------------------------------------------

    async def claim(self) -> bool:
        held = await self._store.claim_lease(LEASE, self.node_id, self._clock.now(),
                                             self._lease_seconds)
        if held != self.leader:
            self._ops.clear()  # gained: start from the store; lost: forget
            log.info("alerting lease %s", "taken" if held else "lost",
                     extra={"node": self.node_id})
        self.leader = held
        return held

    async def stop(self) -> None:
        if self.leader:
            self.leader = False
            with contextlib.suppress(Exception):
                await self._store.release_lease(LEASE, self.node_id)

    # --- wake-ups ------------------------------------------------------------------

    async def written(self, event: OpEvent) -> None:
        """A service wrote to an operation's log: evaluate now here, or wake the leader.

        Never raises: the write is stored whatever the pipeline does next, and
        a failed evaluation is retried by the background loop.
        """
        try:
            if self.leader:
                await self.pump(event.operation_id)
            else:
                await self._broker.publish(CONTROL_TOPIC, WakeEvent(event.operation_id))
        except Exception:
            log.exception("alert pipeline failed after a write; retrying in the background",
                          extra={"operation": event.operation_id})
            self._dirty.add(event.operation_id)
            self._woken.set()

    def wake(self, op_id: str) -> None:
        """Node callback for WakeEvents ("*": the broker may have lost some)."""
        if not self.leader:
            return
        self._dirty.update(self._ops if op_id == "*" else (op_id,))
        self._woken.set()

    async def run(self) -> None:
        """Background loop: renew the lease and run timers each tick, pump when woken."""
        next_tick = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), TICK_SECONDS)
            self._woken.clear()
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_SECONDS
                    await self.tick()
                while self._dirty:
                    await self.pump(OperationId(self._dirty.pop()))
            except Exception:
                log.exception("alert pipeline failed; retrying next tick")

    async def tick(self) -> None:
        """Renew the lease; pump every operation with unread events or a due timer."""
        if not await self.claim():
            return
        for op in await self._store.list_operations():
            rt = await self._runtime(op.id)
            _, head = await self._store.op_event_bounds(op.id)
            due = rt.next_due()
            if head > rt.cursor or rt.fresh or (due is not None and due <= self._clock.now()):
                await self.pump(op.id)

    # --- loading -------------------------------------------------------------------

    async def _runtime(self, op_id: OperationId) -> OpState:
        rt = self._ops.get(op_id)
        if rt is not None:
            return rt
        async with self._loading:
            rt = self._ops.get(op_id)
            if rt is not None:
                return rt
            rt = OpState(op_id)
            rt.engine = RuleEngine(await self._rules(op_id))
            state = await self._store.get_state(op_id, STATE)
            if state:
                rt.engine.restore(state.get("engine") or {})
                rt.cursor = int(state.get("cursor", 0))
            else:
                rt.cursor = (await self._store.op_event_bounds(op_id))[1]
                rt.fresh = True
            for doc, v in await self._store.list_records(op_id, CASE):
                rt.cases[str(doc["id"])] = doc
                rt.versions[(CASE, str(doc["id"]))] = v
            for doc, v in await self._store.list_records(op_id, ALERT):
                rt.versions[(ALERT, str(doc["id"]))] = v
                if doc["state"] != AlertState.RESOLVED:
                    rt.alerts[str(doc["id"])] = doc
            rt.policies = {p.id: p for p in self._global_policies}
            for doc, _ in await self._store.list_records(op_id, POLICY):
                self._add_policy(rt, doc)
            rt.silences = {str(doc["id"]): doc
                           for doc, _ in await self._store.list_records(op_id, SILENCE)}
            self._ops[op_id] = rt
            return rt

    async def _rules(self, op_id: OperationId) -> list[Rule]:
        docs = {str(d.get("id")): d for d in self._global_rules}
        docs.update({str(d["id"]): d for d, _ in await self._store.list_records(op_id, RULE)})
        rules = []
        for doc in docs.values():
            if doc.get("enabled", True):
                try:
                    rules.append(parse_rule(doc))
                except RuleError:
                    log.warning("stored rule no longer valid", extra={"rule": doc.get("id")})
        return rules

    @staticmethod
    def _add_policy(rt: OpState, doc: Mapping[str, Any]) -> None:
        try:
            policy = parse_policy(doc)
        except PolicyError:
            log.warning("stored policy no longer valid", extra={"policy": doc.get("id")})
            return
        rt.policies[policy.id] = policy

    # --- stage 1: evaluate ---------------------------------------------------------

    async def pump(self, op_id: OperationId) -> None:
        """Consume the operation's new events, run due timers, save the cursor."""
        if not self.leader:
            return
        rt = await self._runtime(op_id)
        async with rt.lock:
            now = self._clock.now()
            before = rt.cursor
            if rt.fresh:
                rt.fresh = False
                await self._apply(rt, rt.engine.evaluate(rt.cases, now), now)
            while True:
                events = await self._store.read_op_events(op_id, after_seq=rt.cursor,
                                                          limit=PAGE)
                for event in events:
                    await self._consume(rt, event, now)
                    rt.cursor = event.seq
                if len(events) < PAGE:
                    break
            deadline = rt.engine.next_deadline()
            if deadline is not None and deadline <= now:
                await self._apply(rt, rt.engine.evaluate(rt.cases, now, changed=[]), now)
            await self._reconcile_silences(rt, now)
            for alert_id in [a for a, doc in rt.alerts.items() if _due(doc, now)]:
                await self._step(rt, alert_id, now)
            if rt.cursor != before or deadline is not None:
                await self._store.put_state(op_id, STATE, {"cursor": rt.cursor,
                                                           "engine": rt.engine.snapshot()})

    async def _consume(self, rt: OpState, event: OpEvent, now: float) -> None:
        record = event.data.get("record")
        if event.kind == ALERT:
            rt.track(event)
        elif event.kind == CASE and isinstance(record, dict):
            if not rt.newer(CASE, event.record_id, event.version):
                return  # replaying after a restart: the newer state is already known
            rt.cases[event.record_id] = record
            changes = event.data.get("changes")
            previous = None
            if event.action != "created" and isinstance(changes, dict):
                previous = {event.record_id: {**record,
                                              **{k: v[0] for k, v in changes.items()}}}
            await self._apply(rt, rt.engine.evaluate(rt.cases, now, changed=[event.record_id],
                                                     previous=previous), now)
        elif event.kind == RULE:
            snapshot = rt.engine.snapshot()
            rt.engine = RuleEngine(await self._rules(rt.id))
            rt.engine.restore(snapshot)
            await self._apply(rt, rt.engine.evaluate(rt.cases, now), now)
        elif event.kind == POLICY and isinstance(record, dict):
            self._add_policy(rt, record)
        elif event.kind == SILENCE and isinstance(record, dict):
            rt.silences[event.record_id] = record

    # --- stage 2: dedup, and resolution ----------------------------------------------

    async def _apply(self, rt: OpState, decisions: list[Decision], now: float) -> None:
        for d in decisions:
            fp = fingerprint({"operation": rt.id, "rule": d.rule, "key": d.key})
            actor = f"rule:{d.rule}"
            if isinstance(d, Fire):
                rule = rt.engine.rules[d.rule]
                case = rt.cases.get(d.case_id or "")
                policy = rule.escalation or ("default" if "default" in rt.policies else None)

                def build(alert_id: str, d: Fire = d, rule: Rule = rule,
                          case: Mapping[str, Any] | None = case,
                          policy: str | None = policy, fp: str = fp) -> dict[str, Any]:
                    return new_alert(alert_id=alert_id, operation_id=rt.id, source="rule",
                                     fp=fp, severity=d.severity, summary=d.summary,
                                     details="", now=now, rule_id=d.rule, case_id=d.case_id,
                                     exercise=bool(case.get("exercise")) if case else False,
                                     labels={"category": str(case.get("category", ""))}
                                     if case else {}, route=rule.route, policy=policy)

                event, _ = await self._records.raise_alert(rt.id, fp, build, actor=actor,
                                                           count_repeat=False)
                rt.track(event)
            elif isinstance(d, Resolve):
                found = await self._records.active(rt.id, fp)
                if found is not None:
                    with contextlib.suppress(NotFound):
                        rt.track(await self._records.transition(
                            rt.id, str(found[0]["id"]), "resolved", actor,
                            functools.partial(resolve, actor=actor, now=now,
                                              resolution="auto")))

    # --- stage 3: silences -----------------------------------------------------------

    async def _reconcile_silences(self, rt: OpState, now: float) -> None:
        """Mark active alerts silenced or not, so everyone sees why an alert is quiet."""
        for alert_id, doc in list(rt.alerts.items()):
            silence = matching(doc, rt.silences.values(), now)
            target = str(silence["id"]) if silence else None
            if doc.get("silenced_by") == target:
                continue

            def change(a: dict[str, Any], silence: Mapping[str, Any] | None = silence,
                       target: str | None = target) -> dict[str, Any]:
                esc = dict(a.get("escalation") or {})
                if esc.get("next_at") is not None:
                    esc["next_at"] = _resume_at(silence, float(esc["next_at"]), now)
                return {**a, "silenced_by": target, "escalation": esc}

            with contextlib.suppress(NotFound, Conflict):
                rt.track(await self._records.transition(
                    rt.id, alert_id, "silenced" if target else "unsilenced", "hub", change,
                    data={"silence": target or doc.get("silenced_by")}))

    # --- stages 4-6: route, escalate, deliver ---------------------------------------

    async def _step(self, rt: OpState, alert_id: str, now: float) -> None:
        found = await self._store.get_record(rt.id, ALERT, alert_id)
        if found is None:
            return
        doc, version = found
        if not _due(doc, now):
            rt.alerts[alert_id] = doc  # acknowledged or moved on elsewhere
            return
        silence = matching(doc, rt.silences.values(), now)
        esc = dict(doc["escalation"])
        if silence is not None:
            esc["next_at"] = _resume_at(silence, float(esc["next_at"]), now)
            with contextlib.suppress(Conflict):
                rt.track(await self._records.transition(
                    rt.id, alert_id, "silenced", "hub",
                    lambda a: {**a, "silenced_by": silence["id"], "escalation": esc},
                    data={"silence": silence["id"]}, expect=version))
            return
        policy = rt.policies.get(str(esc.get("policy") or ""))
        notice, after = plan(policy, doc.get("route") or (), esc, now)
        users = people(notice.targets, await self._members(rt.id), rt.cases.get(
            str(doc.get("case_id") or "")))
        channels = channels_of(notice.targets)
        text = _notice_text(doc, notice, users)
        priority = Priority.URGENT if doc["severity"] == "critical" else Priority.HIGH
        for name in channels:  # idempotent: a retried or raced step posts once
            await self._channels.post_as_hub(
                rt.id, name, text=text, priority=priority,
                client_msg_id=f"{alert_id}:{notice.step}:{notice.reminder}")
        last = {"step": notice.step, "reminder": notice.reminder, "at": now, "users": users,
                "channels": channels}
        try:
            event = await self._records.transition(
                rt.id, alert_id, "notified", "hub",
                lambda a: {**a, "escalation": after, "silenced_by": None, "last_notice": last},
                data={"notice": last}, expect=version)
        except Conflict:
            return  # another node ran this step, or the alert was acknowledged meanwhile
        rt.track(event)

    async def _members(self, op_id: OperationId) -> list[Member]:
        return [Member(u.username, str(m.role), u.agency, not u.disabled)
                for m, u in await self._store.list_members(op_id)]


def _resume_at(silence: Mapping[str, Any] | None, next_at: float, now: float) -> float:
    """When a due notification should be looked at again, given the silence over it."""
    if silence is None:
        return min(next_at, now)  # silence over: resume at once
    ends = silence.get("ends_at")
    return max(next_at, float(ends) if ends is not None else now + SILENCED_RECHECK)


def _due(alert: Mapping[str, Any], now: float) -> bool:
    if alert.get("state") != AlertState.FIRING:
        return False
    at = (alert.get("escalation") or {}).get("next_at")
    return at is not None and float(at) <= now


def _notice_text(alert: Mapping[str, Any], notice: Notice, users: list[str]) -> str:
    head = "[EXERCISE] " if alert.get("exercise") else ""
    head += f"{str(alert['severity']).upper()} alert: {alert['summary']}"
    if notice.reminder:
        head += f" (reminder {notice.reminder}, still not acknowledged)"
    elif notice.step:
        head += f" (escalation step {notice.step + 1}, not acknowledged)"
    if users:
        head += " " + " ".join(f"@{u}" for u in users)
    return head + " Acknowledge it in the alerts panel."

