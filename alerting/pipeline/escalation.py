"""Escalation policies: who is told when, until someone acknowledges. Pure.

A policy is data::

    {"id": "default", "name": "Critical cases",
     "steps": [{"notify": ["assignees", "channel:alerts"], "wait": "5m"},
               {"notify": ["coordinators"], "wait": "10m"},
               {"notify": ["everyone"]}],
     "repeat_every": "15m"}

Step 0 runs when the alert fires; each step's ``wait`` is the time before the
next one; after the last step, ``repeat_every`` (if set) reminds the last
step's targets again and again. Acknowledging or resolving the alert stops it
(``next_at`` becomes None). Without a policy an alert is told once to its
route's targets.

The escalation state lives in the alert record (``escalation``: policy,
step, reminders, next_at), so it survives restarts and the node that runs a
step is the one whose versioned write of that state wins: each step is
notified exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerting.documents import Escalation
from alerting.pipeline.grouping import DEFAULT, Grouping, GroupingError, parse_grouping
from alerting.pipeline.routing import TargetError, check_targets
from alerting.rules.engine import is_config_id
from alerting.rules.expr import ExprError, parse_duration

__all__ = [
    "EscalationPolicy",
    "Notice",
    "PolicyError",
    "Step",
    "initial_state",
    "parse_policy",
    "plan",
]

DEFAULT_TARGETS = ("coordinators",)
_KEYS = {"id", "name", "steps", "repeat_every", "group_by", "group_wait", "group_interval"}


class PolicyError(ValueError):
    """An invalid policy; the message names the policy and the part."""


@dataclass(frozen=True, slots=True)
class Step:
    notify: tuple[str, ...]
    wait: float = 0.0


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    id: str
    name: str
    steps: tuple[Step, ...]
    repeat_every: float = 0.0
    #: How its alerts' channel notices are grouped (alerting.pipeline.grouping).
    grouping: Grouping = DEFAULT


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: escalation step ``step`` (reminder ``reminder`` of it)."""

    step: int
    reminder: int
    targets: tuple[str, ...]


def parse_policy(data: Mapping[str, Any]) -> EscalationPolicy:
    if not isinstance(data, Mapping):
        raise PolicyError("a policy must be an object")
    pid = data.get("id")
    if not is_config_id(pid):
        raise PolicyError("policy: 'id' must be 1-64 letters, digits, '-', '_' or '.'")
    unknown = set(data) - _KEYS
    if unknown:
        raise PolicyError(f"policy '{pid}': {sorted(unknown)[0]}: unknown setting")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not 0 < len(raw_steps) <= 20:
        raise PolicyError(f"policy '{pid}': steps: must be a list of 1-20 steps")
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"policy '{pid}': steps[{i}]"
        if not isinstance(raw, Mapping) or set(raw) - {"notify", "wait"}:
            raise PolicyError(f"{where}: a step is {{notify: [...], wait: '5m'}}")
        try:
            targets = check_targets(raw.get("notify"), f"{where}.notify")
            wait = parse_duration(raw.get("wait", "0s"))
        except (TargetError, ExprError) as exc:
            raise PolicyError(str(exc) if isinstance(exc, TargetError)
                              else f"{where}.wait: {exc}") from None
        if not targets:
            raise PolicyError(f"{where}.notify: name at least one target")
        if wait <= 0 and i < len(raw_steps) - 1:
            raise PolicyError(f"{where}.wait: every step but the last needs a wait, like 5m")
        steps.append(Step(targets, wait))
    try:
        repeat = parse_duration(data.get("repeat_every", "0s"))
    except ExprError as exc:
        raise PolicyError(f"policy '{pid}': repeat_every: {exc}") from None
    if 0 < repeat < 60:
        raise PolicyError(f"policy '{pid}': repeat_every: at least 1m")
    name = data.get("name", pid)
    if not isinstance(name, str) or len(name) > 200:
        raise PolicyError(f"policy '{pid}': name: at most 200 characters")
    try:
        grouping = parse_grouping(data, f"policy '{pid}'")
    except GroupingError as exc:
        raise PolicyError(str(exc)) from None
    return EscalationPolicy(pid, name, tuple(steps), repeat, grouping)


def idle_state() -> Escalation:
    """No escalation under way (an alert kept before escalation existed had none)."""
    return {"policy": None, "step": 0, "reminders": 0, "next_at": None}


def initial_state(policy_id: str | None, now: float) -> Escalation:
    """A new alert's escalation: step 0 is due at once."""
    return {"policy": policy_id, "step": 0, "reminders": 0, "next_at": now}


def plan(policy: EscalationPolicy | None, route_targets: Sequence[str], state: Escalation,
         now: float) -> tuple[Notice, Escalation]:
    """The notification due now and the escalation state after it.

    The alert's own route targets join step 0. Without a policy there is one
    step (the route targets, or the coordinators) and no reminder.
    """
    steps = policy.steps if policy is not None else \
        (Step(tuple(route_targets) or DEFAULT_TARGETS),)
    repeat = policy.repeat_every if policy is not None else 0.0
    i = state.get("step", 0)
    reminders = state.get("reminders", 0)
    out: Escalation = {**idle_state(), **state}
    if i < len(steps):
        step = steps[i]
        targets = step.notify
        if i == 0 and policy is not None:
            targets = tuple(dict.fromkeys((*route_targets, *targets)))
        notice = Notice(i, 0, targets)
        out["step"] = i + 1
        if i + 1 < len(steps):
            out["next_at"] = now + step.wait
        else:
            out["next_at"] = now + repeat if repeat else None
        return notice, out
    notice = Notice(len(steps) - 1, reminders + 1, steps[-1].notify)
    out["reminders"] = reminders + 1
    out["next_at"] = now + repeat if repeat else None
    return notice, out
