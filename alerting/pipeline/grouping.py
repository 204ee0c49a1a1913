"""Notice grouping: a storm of alerts becomes a few notices per channel. Pure.

As Alertmanager groups notifications, the hub groups the notices it posts in
channels: alerts that share a *group key* are announced together. The key is
the channel, the alerts' confidentiality label and play marking (a notice never
mixes what different readers may see) and the values the policy's ``group_by``
names: ``rule``, ``severity``, ``source``, ``case``, ``policy`` or
``labels.<name>`` (an Alertmanager-style routing label).

A group's first notice waits ``group_wait`` after its first entry (to gather a
burst); later ones come at most once per ``group_interval``, each with what
changed since the last (new alerts, escalation steps, reminders). Reminders
come as the policy's ``repeat_every`` makes each alert due again, so a group
repeats at that pace. Escalation, acknowledgement and the ledger stay per alert
(alerting.pipeline.stages): grouping changes only what is posted in channels, and when.

A group with one entry when due is posted as that alert's own notice (its
button acknowledges it); with more, as one group notice listing the count, the
first few summaries and the people to act.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerting.rules.expr import ExprError, parse_duration

__all__ = ["DEFAULT", "GROUP_KEYS", "Grouping", "GroupingError", "add", "due_at", "entry_key",
           "group_id", "group_notice_id", "group_text", "parse_grouping", "sent"]

#: What ``group_by`` may name besides ``labels.<name>``.
GROUP_KEYS = ("rule", "severity", "source", "case", "policy")
#: Summaries a group notice lists before "and N more".
SHOWN = 3
#: People a group notice @-mentions before "and N more".
MENTIONED = 12
#: Entries a group remembers as posted, so a step retried after a crash is not
#: announced twice.
REMEMBERED = 2000


class GroupingError(ValueError):
    """An invalid grouping setting; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Grouping:
    by: tuple[str, ...] = ("rule", "severity")
    wait: float = 0.0       # seconds before a new group's first notice
    interval: float = 30.0  # seconds between two notices of one group


#: For alerts with no policy, or a policy that does not say: critical alerts are
#: posted at once; a storm gives one notice per rule, severity and channel per 30 s.
DEFAULT = Grouping()


def parse_grouping(data: Mapping[str, Any], where: str) -> Grouping:
    """The grouping settings of a policy (``group_by``, ``group_wait``, ``group_interval``)."""
    by = data.get("group_by", list(DEFAULT.by))
    if not isinstance(by, list) or len(by) > 8 or not all(
            isinstance(k, str) and (k in GROUP_KEYS or (
                k.startswith("labels.") and 7 < len(k) <= 71)) for k in by):
        raise GroupingError(f"{where}: group_by: a list of up to 8 of "
                            f"{', '.join(GROUP_KEYS)} or labels.<name>")
    try:
        wait = parse_duration(data.get("group_wait", f"{DEFAULT.wait:g}s"))
        interval = parse_duration(data.get("group_interval", f"{DEFAULT.interval:g}s"))
    except ExprError as exc:
        raise GroupingError(f"{where}: group_wait / group_interval: {exc}") from None
    if not 0 <= wait <= 3600:
        raise GroupingError(f"{where}: group_wait: from 0s to 1h")
    if not 1 <= interval <= 86400:
        raise GroupingError(f"{where}: group_interval: from 1s to 24h")
    return Grouping(tuple(dict.fromkeys(by)), wait, interval)


def _value(alert: Mapping[str, Any], key: str) -> object:
    if key.startswith("labels."):
        return (alert.get("labels") or {}).get(key[7:])
    field = {"rule": "rule_id", "case": "case_id"}.get(key, key)
    if key == "policy":
        return (alert.get("escalation") or {}).get("policy")
    return alert.get(field)


def group_id(alert: Mapping[str, Any], grouping: Grouping, channel: str,
             marking: str) -> str:
    """The group an alert's notice in ``channel`` belongs to: an opaque id."""
    key = {"channel": channel, "label": alert.get("label"), "marking": marking,
           "by": {k: _value(alert, k) for k in grouping.by}}
    raw = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return "grp-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def entry_key(alert_id: str, step: int, reminder: int) -> str:
    return f"{alert_id}:{step}:{reminder}"


def add(group: Mapping[str, Any] | None, entry: Mapping[str, Any],
        now: float) -> dict[str, Any] | None:
    """The group with ``entry`` pending, or None when it is pending or posted already."""
    g: dict[str, Any] = dict(group) if group else {"pending": [], "posted": [], "seq": 0,
                                                   "first_at": None, "sent_at": None}
    key = entry["key"]
    if key in g["posted"] or any(e["key"] == key for e in g["pending"]):
        return None
    if not g["pending"]:
        g["first_at"] = now
    g["pending"] = [*g["pending"], dict(entry)]
    return g


def due_at(group: Mapping[str, Any], grouping: Grouping) -> float | None:
    """When the group's pending entries are to be posted (None: nothing pending)."""
    if not group.get("pending"):
        return None
    first = float(group["first_at"]) + grouping.wait
    if group.get("sent_at") is None:
        return first
    return max(first, float(group["sent_at"]) + grouping.interval)


def sent(group: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The group once its pending entries are posted."""
    posted = [*group.get("posted", []), *(e["key"] for e in group["pending"])]
    return {**{k: v for k, v in group.items() if k != "sending"}, "pending": [],
            "posted": posted[-REMEMBERED:], "seq": int(group["seq"]) + 1, "sent_at": now,
            "first_at": None}


def _counts(entries: Sequence[Mapping[str, Any]]) -> tuple[int, int, int]:
    """(new, escalated, reminded) among a group notice's entries."""
    new = sum(1 for e in entries if not e["step"] and not e["reminder"])
    reminded = sum(1 for e in entries if e["reminder"])
    return new, len(entries) - new - reminded, reminded


def _what(entries: Sequence[Mapping[str, Any]]) -> str:
    new, stepped, reminded = _counts(entries)
    parts = [f"{n} {word}" for n, word in ((new, "new"), (stepped, "escalated"),
                                           (reminded, "still not acknowledged")) if n]
    return ", ".join(parts)


def group_notice_id(seed: str, entries: Sequence[Mapping[str, Any]]) -> str:
    """A group notice's client_msg_id: ``group-<digest>-<severity>-<n>-<new>-<escalated>-
    <reminded>``. The digest (of the group and its count of notices) makes a retry the
    same post; the rest lets each client word the notice in its reader's language."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:20]
    counts = "-".join(str(n) for n in (len(entries), *_counts(entries)))
    return f"group-{digest}-{entries[0]['severity']}-{counts}"[:64]


def group_text(entries: Sequence[Mapping[str, Any]], marking: str) -> str:
    """The English text of a group notice (the stored fallback; clients render the
    structured fields in each reader's language)."""
    severity = str(entries[0]["severity"]).upper()
    head = f"[{marking}] " if marking else ""
    summaries = [str(e["summary"]) for e in entries[:SHOWN]]
    more = len(entries) - len(summaries)
    head += f"{severity}: {len(entries)} alerts ({_what(entries)}): " + "; ".join(summaries)
    if more:
        head += f"; and {more} more"
    head += "."
    people = sorted({u for e in entries for u in e["mention"]})
    if people:
        head += " " + " ".join(f"@{u}" for u in people[:MENTIONED])
        if len(people) > MENTIONED:
            head += f" and {len(people) - MENTIONED} more"
    return head + " Acknowledge each in the Alerts tab."
