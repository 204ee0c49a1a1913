"""The alert pipeline of one operation: its log in, alerts and notices out.

:meth:`Pipeline.run` reads the operation's new log events from the cursor and takes them
through the stages in order; each stage's decision is a pure function of
:mod:`alerting.pipeline.stages` (or the rule engine), and this module does only the reads
and writes around them:

1. **match** — a case event goes through the rule engine (a rule, policy or
   silence event updates what the next stages use) -> Fire / Resolve;
2. **fingerprint and deduplicate** — a Fire raises its fingerprint's alert
   unless one is active; a Resolve resolves the active one
   (:class:`~alerting.pipeline.records.AlertRecords`);
3. **silence** — every active alert is marked silenced or not, decided once
   here; the next stages skip silenced alerts;
4. **route**, 5. **escalate**, 6. **notify** — a due alert's notification:
   an idempotent notice in its channels, and a ``notified`` event naming
   the people (their clients turn it into a desktop notification).

Every write is a versioned record write, so the effects are safe when two nodes briefly
both run the pipeline: alert ids come from the fingerprint (one create wins), a notification
expects the version it read (one wins), and channel notices carry a client_msg_id derived
from alert, step and reminder.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from alerting.cases.case import play_marking
from alerting.documents import AlertDoc, LabelDoc, PipelineState, PolicyDoc, RuleDoc
from alerting.kinds import ALERT, CASE, NOTICE_GROUPS, PIPELINE_STATE, POLICY, RULE, SILENCE
from alerting.pipeline.ack_rule import ack_set
from alerting.pipeline.ack_sets import readers
from alerting.pipeline.alerts import resolve, told
from alerting.pipeline.escalation import PolicyError, parse_policy
from alerting.pipeline.grouping import (
    DEFAULT,
    Grouping,
    add,
    entry_key,
    group_id,
    group_notice_id,
    group_text,
    sent,
)
from alerting.pipeline.opstate import OpState, group_due
from alerting.pipeline.records import AlertRecords
from alerting.pipeline.routing import Member
from alerting.pipeline.stages import (
    Delivery,
    alert_from,
    case_before,
    delivery,
    due,
    fingerprint_of,
    following,
    notice_id,
    silencing,
)
from alerting.rules.engine import Decision, Fire, Resolve, Rule, RuleEngine, RuleError, parse_rule
from alerting.vocabulary import AlertState
from channels.bodies import Priority
from hub.documents import record_in
from hub.engine.port import Store
from hub.errors import Conflict, NotFound
from hub.labels import Label
from hub.models import OperationId, OpEvent

if TYPE_CHECKING:
    from channels.service import ChannelService

__all__ = ["PAGE", "Pipeline"]

log = logging.getLogger("alerting.pipeline.operation")

PAGE = 500


def _labelled(label: LabelDoc | None, alert: AlertDoc) -> AlertDoc:
    return {**alert, "label": label}


class Pipeline:
    def __init__(self, *, store: Store, records: AlertRecords, channels: ChannelService,
                 global_rules: Sequence[RuleDoc] = (),
                 global_policies: Sequence[PolicyDoc] = ()) -> None:
        self._store = store
        self._records = records
        self._channels = channels
        self._global_rules = list(global_rules)
        self._global_policies = [parse_policy(p) for p in global_policies]

    async def run(self, rt: OpState, now: float, heard: Sequence[OpEvent] = ()) -> None:
        """Take the operation's new events and due timers through every stage.

        ``heard`` are events as the broker delivered them: when they continue
        the log exactly from the cursor, the pipeline takes them as they are
        and does not read the log back (the write's own hot path); any gap,
        and any event the broker lost, is read from the store.
        """
        evaluated = rt.fresh  # the rule engine's state may have moved: save it
        if rt.fresh:  # no saved state: every case is new to the rules
            rt.fresh = False
            await self._relabel(rt, None, None)  # label changes before the cursor, too
            await self._deduplicate(rt, rt.engine.evaluate(rt.cases, now), now)
        events = following(heard, rt.cursor)
        from_log = events is None
        if events is None:
            events = await self._store.read_op_events(rt.id, after_seq=rt.cursor, limit=PAGE)
        while events:
            for event in events:
                await self._deduplicate(rt, await self._match(rt, event, now), now)
                rt.cursor = event.seq
                evaluated = evaluated or event.kind in (CASE, RULE)
            if not from_log or len(events) < PAGE:
                break
            events = await self._store.read_op_events(rt.id, after_seq=rt.cursor, limit=PAGE)
        deadline = rt.engine.next_deadline()
        if deadline is not None and deadline <= now:  # a timed condition flipped
            evaluated = True
            await self._deduplicate(rt, rt.engine.evaluate(rt.cases, now, changed=[]), now)
        silenced = await self._silence(rt, now)
        for alert_id in [a for a, doc in rt.alerts.items() if due(doc, now)]:
            if alert_id not in silenced:
                await self._notify(rt, alert_id, now)
        await self._post_groups(rt, now)
        if evaluated:  # alert, policy and silence events alone replay harmlessly
            state: PipelineState = {"cursor": rt.cursor, "engine": rt.engine.snapshot()}
            await self._store.put_state(rt.id, PIPELINE_STATE, state)

    # --- 1. match ------------------------------------------------------------------

    async def _match(self, rt: OpState, event: OpEvent, now: float) -> list[Decision]:
        case = record_in(CASE, event.kind, event.data)
        if event.kind == ALERT:
            rt.track(event)
        elif case is not None:
            if not rt.newer(CASE, event.record_id, event.version):
                return []  # replaying after a restart: the newer state is already known
            rt.cases[event.record_id] = case
            changes = event.data.get("changes")
            if isinstance(changes, dict) and "label" in changes:
                await self._relabel(rt, event.record_id, case.get("label"))
            before = case_before(case, event.action, changes)
            return rt.engine.evaluate(rt.cases, now, changed=[event.record_id],
                                      previous={event.record_id: before} if before else None)
        elif event.kind == RULE:
            snapshot = rt.engine.snapshot()
            rt.engine = RuleEngine(await self.rules(rt.id))
            rt.engine.restore(snapshot)
            return rt.engine.evaluate(rt.cases, now)
        elif (policy := record_in(POLICY, event.kind, event.data)) is not None:
            self.add_policy(rt, policy)
        elif (silence := record_in(SILENCE, event.kind, event.data)) is not None:
            rt.silences[event.record_id] = silence
        return []

    async def _relabel(self, rt: OpState, case_id: str | None, label: LabelDoc | None) -> None:
        """A case's label changed: its alerts take it too, resolved ones included (their
        summaries, notices and CAP documents carry the case's content).

        With ``case_id`` None, every alert takes its case's label as it is now: for a
        pipeline that starts with no saved state, whose cursor begins past the
        changes made before it.
        """
        resolved = [(str(doc["id"]), doc) for doc, _ in await self._store.list_records(
            rt.id, ALERT) if str(doc.get("id")) not in rt.alerts]
        for alert_id, doc in [*rt.alerts.items(), *resolved]:
            of = doc.get("case_id")
            if case_id is None and isinstance(of, str) and of in rt.cases:
                label = rt.cases[of].get("label")
                if label is None:
                    continue  # an unlabelled case: its alerts keep the operation's
            elif of != case_id or case_id is None:
                continue
            if doc.get("label") == label:
                continue
            with contextlib.suppress(NotFound, Conflict):
                rt.track(await self._records.transition(
                    rt.id, alert_id, "relabelled", "hub", functools.partial(_labelled, label)))

    def _counted_label(self, rt: OpState, counted: Sequence[str]) -> LabelDoc | None:
        """A rate alert's label: what every case it counts allows (a count of hidden
        cases is as hidden as they are)."""
        policy = self._channels.access.policy
        labels = [lb for lb in (policy.of_record(rt.cases[c].get("label"))
                                for c in counted if c in rt.cases) if lb is not None]
        return policy.join(labels).to_dict() if labels else None

    # --- 2. fingerprint and deduplicate -------------------------------------------------

    async def _deduplicate(self, rt: OpState, decisions: list[Decision], now: float) -> None:
        for d in decisions:
            actor = f"rule:{d.rule}"
            if isinstance(d, Fire):
                rule, case = rt.engine.rules[d.rule], rt.cases.get(d.case_id or "")
                counted = self._counted_label(rt, d.counted)
                agencies = None
                if rule.ack == "each_agency":  # who can read it, as labelled
                    label = case.get("label") if case else counted
                    agencies = ack_set(await readers(
                        self._store, self._channels.access.policy, rt.id,
                        self._channels.access.policy.of_record(label)))
                build = alert_from(rt.id, d, rule, case, rt.policies, now, agencies, counted)
                event, _ = await self._records.raise_alert(rt.id, fingerprint_of(rt.id, d),
                                                           build, actor=actor,
                                                           count_repeat=False)
                rt.track(event)
            elif isinstance(d, Resolve):
                found = await self._records.active(rt.id, fingerprint_of(rt.id, d))
                if found is not None:
                    with contextlib.suppress(NotFound):
                        rt.track(await self._records.transition(
                            rt.id, found[0]["id"], "resolved", actor,
                            functools.partial(resolve, actor=actor, now=now,
                                              resolution="auto")))

    # --- 3. silence ------------------------------------------------------------------

    async def _silence(self, rt: OpState, now: float) -> set[str]:
        """Mark active alerts silenced or not; the ids of the silenced ones."""
        silenced = set()
        silences = list(rt.silences.values())
        for alert_id, doc in list(rt.alerts.items()):
            verdict = silencing(doc, silences, now)
            if verdict.by is not None:
                silenced.add(alert_id)
            if verdict.action is None:
                continue

            def change(a: AlertDoc) -> AlertDoc:  # the stored alert may be newer
                return silencing(a, silences, now).alert

            with contextlib.suppress(NotFound, Conflict):
                rt.track(await self._records.transition(
                    rt.id, alert_id, verdict.action, "hub", change,
                    data={"silence": verdict.by or doc.get("silenced_by")}))
        return silenced

    # --- 4-6. route, escalate, notify -------------------------------------------------

    async def _notify(self, rt: OpState, alert_id: str, now: float) -> None:
        found = await self._store.get_record(rt.id, ALERT, alert_id)
        if found is None:
            return
        doc, version = found
        if not due(doc, now):
            rt.alerts[alert_id] = doc  # acknowledged or moved on elsewhere
            return
        escalation = doc.get("escalation")
        policy = rt.policies.get(escalation.get("policy") or "") if escalation else None
        case = rt.cases.get(doc["case_id"] or "")
        label = self._channels.access.policy.of_record(doc.get("label"))
        members = await self._members(rt.id, label)
        plan = delivery(doc, policy, members, case, now)
        agency_of = {m.username: m.agency for m in members}
        if self._group(rt, doc, policy.grouping if policy else DEFAULT, plan, now):
            # kept before the alert moves on: a crash between the two re-adds nothing
            await self._store.put_state(rt.id, NOTICE_GROUPS, rt.groups)
        last = plan.record(now)
        try:
            event = await self._records.transition(
                rt.id, alert_id, "notified", "hub",
                lambda a: {**a, "escalation": plan.escalation, "silenced_by": None,
                           "last_notice": last,
                           "told": told(a, (agency_of[u] for u in plan.users), now)},
                data={"notice": last}, expect=version)
        except Conflict:
            return  # another node ran this step, or the alert was acknowledged meanwhile
        rt.track(event)

    def _group(self, rt: OpState, doc: AlertDoc, grouping: Grouping,
               plan: Delivery, now: float) -> bool:
        """Put this notification's channel notices in their groups; whether any changed."""
        marking = play_marking(doc)
        entry = {"key": entry_key(doc["id"], plan.step, plan.reminder),
                 "alert": doc["id"], "step": plan.step, "reminder": plan.reminder,
                 "severity": doc.get("severity"), "summary": doc.get("summary"),
                 "mention": plan.mentioned, "text": plan.text,
                 "priority": str(plan.priority), "message_id": plan.message_id,
                 "hidden_id": notice_id(doc, plan.step, plan.reminder)}
        changed = False
        for name in plan.channels:
            gid = group_id(doc, grouping, name, marking)
            group = add(rt.groups.get(gid), entry, now)
            if group is not None:
                rt.groups[gid] = {**group, "channel": name, "label": doc.get("label"),
                                  "marking": marking, "wait": grouping.wait,
                                  "interval": grouping.interval}
                changed = True
        return changed

    async def _post_groups(self, rt: OpState, now: float) -> None:
        """Post every notice group that is due: one entry as its alert's own notice, more
        as one group notice. Idempotent: a group's notice id follows from its count of
        notices, so a post retried after a crash appears once."""
        changed = False
        for gid, group in list(rt.groups.items()):
            due = group_due(group)
            if due is None:
                if group.get("sent_at") is not None and \
                        now - float(group["sent_at"]) > max(3600.0, float(group["interval"])):
                    del rt.groups[gid]  # quiet for long: forget it
                    changed = True
                continue
            if due > now:
                continue
            sending = group.get("sending")
            if not sending or sending.get("seq") != group["seq"]:
                # What this notice says is decided once and kept before it is posted, so a
                # post retried after a crash says the same and is recognised as a retry.
                firing = {a for a, doc in rt.alerts.items() if doc["state"] == AlertState.FIRING}
                keys = [e["key"] for e in group["pending"]
                        if str(e["alert"]) in firing]  # acknowledged: no news
                group = rt.groups[gid] = {**group, "sending": {"seq": group["seq"], "keys": keys}}
                await self._store.put_state(rt.id, NOTICE_GROUPS, rt.groups)
            chosen = set(group["sending"]["keys"])
            entries = [e for e in group["pending"] if e["key"] in chosen]
            label = self._channels.access.policy.of_record(group.get("label"))
            real_world = group.get("marking") == "REAL WORLD"
            if len(entries) == 1:
                [one] = entries
                await self._channels.messages.post_as_hub(
                    rt.id, group["channel"], text=one["text"], priority=Priority(one["priority"]),
                    client_msg_id=one["message_id"], label=label, hidden_msg_id=one["hidden_id"],
                    real_world=real_world)
            elif entries:
                msg_id = group_notice_id(f"{rt.id}\n{gid}\n{group['seq']}", entries)
                urgent = any(e["priority"] == Priority.URGENT for e in entries)
                await self._channels.messages.post_as_hub(
                    rt.id, group["channel"], text=group_text(entries, str(group["marking"])),
                    priority=Priority.URGENT if urgent else Priority.HIGH,
                    client_msg_id=msg_id, label=label,
                    # for readers below the label: an id that says nothing (no severity,
                    # no counts), as the text says nothing
                    hidden_msg_id=msg_id.split("-")[0] + "-" + msg_id.split("-")[1],
                    real_world=real_world)
            rt.groups[gid] = sent(group, now)
            changed = True
        if changed:
            await self._store.put_state(rt.id, NOTICE_GROUPS, rt.groups)

    async def _members(self, op_id: OperationId, label: Label | None = None) -> list[Member]:
        """The operation's members who may be told about something labelled ``label``
        (nobody is notified of what their clearance does not reach)."""
        return await readers(self._store, self._channels.access.policy, op_id, label)

    # --- what the stages work from ----------------------------------------------------

    async def load(self, op_id: OperationId) -> OpState:
        """The operation's pipeline state, from the store (saved cursor and engine state)."""
        rt = OpState(op_id)
        rt.engine = RuleEngine(await self.rules(op_id))
        state = await self._store.get_state(op_id, PIPELINE_STATE)
        if state:
            rt.engine.restore(state.get("engine") or {})
            rt.cursor = int(state.get("cursor", 0))
        else:
            rt.cursor = (await self._store.op_event_bounds(op_id))[1]
            rt.fresh = True
        for case, v in await self._store.list_records(op_id, CASE):
            rt.cases[case["id"]] = case
            rt.versions[(CASE, case["id"])] = v
        for alert, v in await self._store.list_records(op_id, ALERT):
            rt.versions[(ALERT, alert["id"])] = v
            if alert["state"] != AlertState.RESOLVED:
                rt.alerts[alert["id"]] = alert
        rt.policies = {p.id: p for p in self._global_policies}
        for policy, _ in await self._store.list_records(op_id, POLICY):
            self.add_policy(rt, policy)
        rt.silences = {silence["id"]: silence
                       for silence, _ in await self._store.list_records(op_id, SILENCE)}
        rt.groups = dict(await self._store.get_state(op_id, NOTICE_GROUPS) or {})
        return rt

    async def rules(self, op_id: OperationId) -> list[Rule]:
        """The operation's enabled rules and the global ones (the operation's win)."""
        docs = {str(d.get("id")): d for d in self._global_rules}
        docs.update({str(d.get("id")): d for d, _ in await self._store.list_records(op_id, RULE)})
        rules = []
        for doc in docs.values():
            if doc.get("enabled", True):
                try:
                    rules.append(parse_rule(doc))
                except RuleError:
                    log.warning("stored rule no longer valid", extra={"rule": doc.get("id")})
        return rules

    @staticmethod
    def add_policy(rt: OpState, doc: PolicyDoc) -> None:
        try:
            policy = parse_policy(doc)
        except PolicyError:
            log.warning("stored policy no longer valid", extra={"policy": doc.get("id")})
            return
        rt.policies[policy.id] = policy
