"""What the alert pipeline keeps in memory for one operation (see
:mod:`alerting.pipeline.consumer`)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from alerting.documents import AlertDoc, CaseDoc, SilenceDoc
from alerting.kinds import ALERT
from alerting.pipeline.escalation import EscalationPolicy
from alerting.pipeline.grouping import Grouping, due_at
from alerting.rules.engine import RuleEngine
from alerting.vocabulary import AlertState
from hub.models import OperationId, OpEvent

__all__ = ["OpState", "group_due"]


class OpState:
    """What the pipeline keeps in memory for one operation."""

    def __init__(self, op_id: OperationId) -> None:
        self.id = op_id
        self.engine = RuleEngine([])
        self.cases: dict[str, CaseDoc] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.alerts: dict[str, AlertDoc] = {}  # active ones
        self.policies: dict[str, EscalationPolicy] = {}
        self.silences: dict[str, SilenceDoc] = {}
        #: Notice groups by id (alerting.pipeline.grouping): what waits to be posted in channels.
        self.groups: dict[str, dict[str, Any]] = {}
        self.cursor = 0
        self.fresh = False  # no saved state: evaluate every case once
        self.lock = asyncio.Lock()

    def newer(self, kind: str, record_id: str, version: int) -> bool:
        if version < self.versions.get((kind, record_id), 0):
            return False
        self.versions[(kind, record_id)] = version
        return True

    def track(self, event: OpEvent) -> None:
        """Keep the active alerts current from an alert event (ours or another node's)."""
        doc = event.data.get("record")
        if event.kind != ALERT or not isinstance(doc, dict) or \
                not self.newer(ALERT, event.record_id, event.version):
            return
        if doc.get("state") == AlertState.RESOLVED:
            self.alerts.pop(event.record_id, None)
        else:
            self.alerts[event.record_id] = cast(AlertDoc, doc)  # an alert event's record

    def next_due(self) -> float | None:
        times = [d for d in (self.engine.next_deadline(),) if d is not None]
        for a in self.alerts.values():
            at = a["escalation"]["next_at"] if a.get("escalation") else None
            if a["state"] == AlertState.FIRING and at is not None:
                times.append(at)
        for s in self.silences.values():
            times += [t for t in (s["starts_at"], s["ends_at"]) if t is not None]
        times += [t for t in (group_due(g) for g in self.groups.values()) if t is not None]
        return min(times) if times else None


def group_due(group: dict[str, Any]) -> float | None:
    """When a notice group's pending entries are to be posted (its settings are kept in it)."""
    return due_at(group, Grouping((), float(group["wait"]), float(group["interval"])))
