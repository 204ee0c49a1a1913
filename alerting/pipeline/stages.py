"""The alert pipeline's stages as pure functions: plain data in, plain data out.

:mod:`alerting.pipeline.operation` runs them in this order, doing the reads and writes
between them:

0. **read** — :func:`following` says whether the events the broker delivered
   continue the log from the pipeline's cursor (else the log is read back);
1. **match** — :meth:`alerting.rules.engine.RuleEngine.evaluate` over the cases an
   event changed (:func:`case_before` gives the rule engine the case as it was);
2. **fingerprint** — :func:`fingerprint_of` names the alert a decision is
   about and :func:`alert_from` builds the one a Fire raises (the store then
   deduplicates: one active alert per fingerprint);
3. **silence** — :func:`silencing` is the one place that decides whether an
   alert is silenced, and what happens to its escalation meanwhile;
4. **route**, 5. **escalate**, 6. **notify** — :func:`delivery` turns a due
   alert, its policy and the operation's members into the notice: its text,
   the people and channels it goes to, and the escalation state after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerting.cases.case import play_marking
from alerting.documents import AlertDoc, Escalation, LabelDoc, LastNotice
from alerting.pipeline.ack_rule import AckSet
from alerting.pipeline.alerts import fingerprint, new_alert, pending_agencies
from alerting.pipeline.escalation import EscalationPolicy, Notice, idle_state, plan
from alerting.pipeline.routing import Member, channels_of, people
from alerting.pipeline.silences import matching
from alerting.rules.engine import Decision, Fire, Rule
from alerting.vocabulary import AlertState, Severity
from channels.bodies import Priority
from hub.models import OpEvent

__all__ = ["SILENCED_RECHECK", "Delivery", "Silencing", "alert_from", "case_before",
           "delivery", "due", "fingerprint_of", "following", "notice_id", "notice_text",
           "resume_at",
           "silencing"]

#: How long a due notification under a silence without an end waits before
#: the silence is looked at again.
SILENCED_RECHECK = 60.0


# --- 0. read ---------------------------------------------------------------------------


def following(heard: Sequence[OpEvent], cursor: int) -> list[OpEvent] | None:
    """The heard events after ``cursor`` if they continue the log without a gap.

    None when they cannot stand in for reading the log: nothing was heard (a
    timer or a catch-up woke the pipeline), or an event is missing between
    the cursor and them (the broker lost it, or it is still on its way). An
    empty list means everything heard has been read already.
    """
    if not heard:
        return None
    new = [e for e in heard if e.seq > cursor]
    for expected, event in enumerate(new, start=cursor + 1):
        if event.seq != expected:
            return None
    return new


# --- 1. match --------------------------------------------------------------------------


def case_before(record: Mapping[str, Any], action: str,
                changes: object) -> dict[str, Any] | None:
    """The case as it was before a logged change (None for a new case).

    The log event carries the new record and ``changes`` as {field: [old,
    new]}; rules that fire on a transition ("becomes critical") compare both.
    """
    if action == "created" or not isinstance(changes, dict):
        return None
    return {**record, **{k: v[0] for k, v in changes.items()
                         if isinstance(v, list | tuple) and len(v) == 2}}


# --- 2. fingerprint ---------------------------------------------------------------------


def fingerprint_of(op_id: str, decision: Decision) -> str:
    """The alert a rule's decision is about: one per operation, rule and key."""
    return fingerprint({"operation": op_id, "rule": decision.rule, "key": decision.key})


def alert_from(op_id: str, fire: Fire, rule: Rule, case: Mapping[str, Any] | None,
               policies: Collection[str], now: float,
               agencies: AckSet | None = None,
               counted_label: LabelDoc | None = None) -> Callable[[str], AlertDoc]:
    """How to build the alert a Fire raises, given the id the store assigns
    (``agencies``: who must acknowledge it and who is only informed, for a rule that
    says ``ack: each_agency``).
    Its label is its case's; a rate rule's, ``counted_label``: one that admits only
    readers who may see every case it counted."""
    policy = rule.escalation or ("default" if "default" in policies else None)
    fp = fingerprint_of(op_id, fire)

    def build(alert_id: str) -> AlertDoc:
        return new_alert(alert_id=alert_id, operation_id=op_id, source="rule", fp=fp,
                         severity=fire.severity, summary=fire.summary, details="", now=now,
                         rule_id=fire.rule, case_id=fire.case_id,
                         exercise=bool(case.get("exercise")) if case else False,
                         labels={"category": str(case.get("category", ""))} if case else {},
                         route=rule.route, policy=policy,
                         label=case.get("label") if case else counted_label,
                         real_world=bool(case.get("real_world")) if case else False,
                         ack_agencies=agencies.required if agencies else None,
                         informed_agencies=agencies.informed if agencies else ())

    return build


# --- 3. silence --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Silencing:
    """Whether an alert is silenced now, and how the stored alert must change if at all."""

    by: str | None  # the silence covering the alert (None: not silenced)
    action: str | None  # "silenced" / "unsilenced" to log, or None: nothing changes
    alert: AlertDoc  # the alert after the decision


def due(alert: Mapping[str, Any], now: float) -> bool:
    """Whether a firing alert's next notification is due."""
    if alert.get("state") != AlertState.FIRING:
        return False
    at = (alert.get("escalation") or {}).get("next_at")
    return at is not None and float(at) <= now


def resume_at(silence: Mapping[str, Any] | None, next_at: float, now: float) -> float:
    """When a notification should be looked at again, given the silence over it."""
    if silence is None:
        return min(next_at, now)  # silence over: resume at once
    ends = silence.get("ends_at")
    return max(next_at, float(ends) if ends is not None else now + SILENCED_RECHECK)


def silencing(alert: AlertDoc, silences: Iterable[Mapping[str, Any]],
              now: float) -> Silencing:
    """Whether the alert is silenced now, decided once for every stage after this one.

    The alert's ``silenced_by`` follows the silence that covers it (so everyone
    sees why it is quiet), and a notification that fell due under a silence
    waits for its end (or :data:`SILENCED_RECHECK`); when the silence is gone
    the escalation resumes at once.
    """
    silence = matching(alert, silences, now)
    target = str(silence["id"]) if silence is not None else None
    current = alert.get("silenced_by")
    if current == target and not (target is not None and due(alert, now)):
        return Silencing(target, None, {**alert})
    esc: Escalation = {**(alert.get("escalation") or idle_state())}
    if esc["next_at"] is not None:
        esc["next_at"] = resume_at(silence, esc["next_at"], now)
    return Silencing(target, "silenced" if target else "unsilenced",
                     {**alert, "silenced_by": target, "escalation": esc})


# --- 4-6. route, escalate, notify --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification of an alert: who and where, what it says, what comes next."""

    step: int
    reminder: int
    users: list[str]
    channels: list[str]
    text: str
    priority: Priority
    escalation: Escalation  # the alert's escalation state after this notification
    #: The client_msg_id of its channel notices, so a retried step posts once; it names
    #: the alert (the client shows the alert's state on it). A notice that may reach
    #: readers the alert is hidden from uses :func:`notice_id` instead.
    message_id: str
    #: Those the notice @-mentions: the people told, less observers (who may not act).
    mentioned: list[str]

    def record(self, now: float) -> LastNotice:
        """What the alert keeps as its ``last_notice`` (and the ``notified`` event says)."""
        return {"step": self.step, "reminder": self.reminder, "at": now, "users": self.users,
                "channels": self.channels}


def delivery(alert: AlertDoc, policy: EscalationPolicy | None, members: Sequence[Member],
             case: Mapping[str, Any] | None, now: float) -> Delivery:
    """Route and escalate a due alert: the notification to send now."""
    notice, after = plan(policy, alert.get("route") or (), alert.get("escalation") or idle_state(),
                         now)
    pending = pending_agencies(alert)
    if pending:  # the agencies that acknowledged are not told again; those only
        # informed (nobody there may acknowledge) are told once, at the first step
        first = notice.step == 0 and not notice.reminder
        informed = set(alert.get("informed_agencies") or ()) if first else set()
        members = [m for m in members if m.agency in pending or m.agency in informed]
    users = people(notice.targets, [m for m in members if not m.bot], case)
    observers = {m.username for m in members if m.role == "observer"}
    critical = alert.get("severity") == Severity.CRITICAL.label()
    priority = Priority.URGENT if critical else Priority.HIGH
    mentioned = [u for u in users if u not in observers]
    return Delivery(notice.step, notice.reminder, users, channels_of(notice.targets),
                    notice_text(alert, notice, mentioned), priority, after,
                    f"{alert.get('id')}:{notice.step}:{notice.reminder}", mentioned)


def notice_id(alert: Mapping[str, Any], step: int, reminder: int) -> str:
    """The same for every retry of one notice, and telling nothing of its alert.

    Alert ids derive from fingerprints, which can be guessed; the alert's
    ``first_at`` (to the microsecond, never shown to those it is hidden from)
    makes the digest impossible to confirm a guess against.
    """
    seed = f"{alert.get('id')}\n{alert.get('first_at')!r}\n{step}\n{reminder}"
    return "notice-" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def notice_text(alert: Mapping[str, Any], notice: Notice, users: Sequence[str]) -> str:
    marking = play_marking(alert)
    head = f"[{marking}] " if marking else ""
    head += f"{str(alert['severity']).upper()} alert: {alert['summary']}"
    if notice.reminder:
        head += f" (reminder {notice.reminder}, still not acknowledged)"
    elif notice.step:
        head += f" (escalation step {notice.step + 1}, not acknowledged)"
    if users:
        head += " " + " ".join(f"@{u}" for u in users)
    pending = pending_agencies(alert)
    if pending:
        head += f" Each agency must acknowledge; still to: {', '.join(pending)}."
    return head + " Acknowledge it with its button, here or in the Alerts tab."
