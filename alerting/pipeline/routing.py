"""Who an alert notification goes to. Pure: targets and members in, people out.

A target is one of:

* ``assignees`` — the people assigned to the alert's case;
* ``coordinators`` — the operation's coordinators (same as ``role:coordinator``);
* ``everyone`` — every member of the operation;
* ``role:<coordinator|member|observer>``, ``agency:<AGENCY>``, ``user:<username>``;
* ``channel:<name>`` — post into that channel of the operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Member", "TargetError", "channels_of", "check_targets", "people"]

ROLES = ("coordinator", "member", "observer")


class TargetError(ValueError):
    """A target that is not one of the forms above."""


@dataclass(frozen=True, slots=True)
class Member:
    username: str
    role: str
    agency: str
    active: bool = True
    bot: bool = False


def check_targets(targets: object, where: str) -> tuple[str, ...]:
    """Validate a list of targets; the error names the offending one."""
    if not isinstance(targets, list | tuple) or len(targets) > 50:
        raise TargetError(f"{where}: must be a list of at most 50 targets")
    out = []
    for t in targets:
        if not isinstance(t, str):
            raise TargetError(f"{where}: targets must be strings")
        kind, sep, value = t.partition(":")
        if not sep and t in ("assignees", "coordinators", "everyone"):
            out.append(t)
        elif sep and kind == "role" and value in ROLES:
            out.append(t)
        elif sep and kind in ("agency", "user", "channel") and 0 < len(value) <= 64:
            out.append(t)
        else:
            raise TargetError(f"{where}: unknown target {t!r} (assignees, coordinators, "
                              "everyone, role:, agency:, user: or channel:)")
    return tuple(out)


def people(targets: Iterable[str], members: Sequence[Member],
           case: Mapping[str, Any] | None) -> list[str]:
    """The usernames the targets name, among the operation's active members, sorted."""
    chosen: set[str] = set()
    assignees = set(case.get("assignees") or ()) if case else set()
    for t in targets:
        kind, _, value = t.partition(":")
        for m in members:
            if not m.active:
                continue
            if (t == "everyone" or (t == "assignees" and m.username in assignees)
                    or (t == "coordinators" and m.role == "coordinator")
                    or (kind == "role" and m.role == value)
                    or (kind == "agency" and m.agency == value)
                    or (kind == "user" and m.username == value)):
                chosen.add(m.username)
    return sorted(chosen)


def channels_of(targets: Iterable[str]) -> list[str]:
    return sorted({t.partition(":")[2] for t in targets if t.startswith("channel:")})
