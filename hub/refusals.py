"""Refused credentials from one address are audited, but not without end.

Each refusal of a presented credential (an API token, a session cookie, an
incoming webhook's secret) is worth a record, until one address has had
``limit`` refused within ``window`` seconds: then one ``throttled`` record
says so, and the rest of that window goes unrecorded, so a script retrying a
revoked credential, or a flood of guesses, cannot fill the audit log. The
counts live in the engine's Limits, shared by every hub process, and under
their own keys: they never throttle password logins.
"""

from __future__ import annotations

from hub.auditor import Auditor
from hub.clock import Clock
from hub.engine.port import Limits

__all__ = ["RefusalLog"]


class RefusalLog:
    def __init__(self, *, auditor: Auditor, limits: Limits, clock: Clock, limit: int,
                 window: float) -> None:
        self._audit = auditor
        self._limits = limits
        self._clock = clock
        self.limit = limit
        self.window = window

    async def refused(self, kind: str, *, actor: str, action: str, target: str,
                      outcome: str, client: str, operation_id: str = "",
                      details: dict[str, object] | None = None) -> None:
        """Count a refusal of ``kind`` (``auth``, ``hook``) from ``client``; audit it
        while the address is within its limit."""
        n = await self._limits.fail(f"{kind}:addr:{client}", self.window, self._clock.now(),
                                    self.limit + 1)
        if n <= self.limit:
            await self._audit.record(actor=actor, action=action, target=target,
                                     outcome=outcome, client=client,
                                     operation_id=operation_id, details=details)
        elif n == self.limit + 1:
            await self._audit.record(
                actor=actor, action=action, target="-", outcome="throttled", client=client,
                details={"reason": f"more than {self.limit} refused from this address: the "
                                   f"rest within {self.window:g} s are not recorded"})
