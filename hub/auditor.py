"""Writes audit records through the store; the one place actions are audited from."""

from __future__ import annotations

import logging

from hub.clock import Clock
from hub.engine.port import AuditEntry, AuditLog

__all__ = ["Auditor"]

log = logging.getLogger("hub.audit")


class Auditor:
    """Appends security-relevant actions to the hash-chained audit log.

    Records hold who, what, on what, outcome, when, from where and in which
    operation: never passwords, tokens or message bodies (callers pass ids).
    """

    def __init__(self, store: AuditLog, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def record(self, *, actor: str, action: str, target: str, outcome: str,
                     client: str = "", operation_id: str = "",
                     details: dict[str, object] | None = None) -> None:
        entry = AuditEntry(ts=self._clock.now(), actor=actor, action=action, target=target,
                           outcome=outcome, operation_id=operation_id, client=client,
                           details=details)
        await self._store.append_audit(entry)
        log.debug("audit", extra={"actor": actor, "action": action, "target": target,
                                 "outcome": outcome, "operation": operation_id,
                                 "client": client})
