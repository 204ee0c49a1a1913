"""Who must acknowledge an "every agency" alert or urgent message. Pure.

The rule (docs/architecture.md, "Who must acknowledge"):

* an agency **must acknowledge** when at least one of its people can read the
  item (its label: the case's, the message's or its channel's) **and** may
  acknowledge it (a coordinator or member, enabled, not a bot);
* an agency whose readers are all observers is **informed**: told, shown, never
  waited for;
* the sender's agency of an urgent message counts as acknowledged by the sender.

The set is computed once, when the alert is raised, and again whenever the
operation's membership changes (:mod:`alerting.pipeline.ack_sets`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerting.documents import AlertDoc
from alerting.pipeline.alerts import pending_agencies
from alerting.pipeline.routing import Member
from alerting.vocabulary import AlertState

__all__ = ["AckSet", "ack_set", "regroup"]

_ACKNOWLEDGERS = ("coordinator", "member")


@dataclass(frozen=True, slots=True)
class AckSet:
    required: tuple[str, ...]  # each must acknowledge
    informed: tuple[str, ...]  # can read it, nobody there may acknowledge


def ack_set(members: Iterable[Member]) -> AckSet:
    """The rule above, for the members who can read the item."""
    required: set[str] = set()
    reading: set[str] = set()
    for m in members:
        if m.bot or not m.active:
            continue
        reading.add(m.agency)
        if m.role in _ACKNOWLEDGERS:
            required.add(m.agency)
    return AckSet(tuple(sorted(required)), tuple(sorted(reading - required)))


def regroup(alert: AlertDoc, now_set: AckSet, now: float) -> AlertDoc:
    """The alert with ``now_set`` as its agencies. Acknowledgements already given are
    kept (the ledger is history); if no agency is left pending the alert is
    acknowledged, by the last agency that did."""
    out: AlertDoc = {**alert, "ack_agencies": list(now_set.required) or None,
                     "informed_agencies": list(now_set.informed)}
    if alert.get("state") != AlertState.FIRING or pending_agencies(out):
        return out
    acks = out.get("acks") or {}
    last = max(acks.values(), key=lambda a: a["at"], default=None)
    if last is None:
        return out  # nobody acknowledged yet: anyone's acknowledgement will do
    return {**out, "state": str(AlertState.ACKNOWLEDGED), "acked_by": last["by"],
            "acked_at": now, "escalation": {**out["escalation"], "next_at": None}}
