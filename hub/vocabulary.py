"""The core's own words on the wire: operation statuses, and which WebSocket close codes a
client should retry. The features keep theirs (severities, case and alert states,
categories: :mod:`alerting.vocabulary`, which also writes ``web/vocabulary.js`` from
both). Pure: no I/O.
"""

from __future__ import annotations

from hub.errors import CloseCode

__all__ = ["CLOSE_RETRY", "CLOSE_TERMINAL", "OPERATION_STATUSES", "words"]

OPERATION_STATUSES: tuple[str, ...] = ("planned", "active", "closed")

#: What a client sees without a close frame (network gone) or from a restarting
#: proxy; the hub never sends these itself, but a client must treat them too.
_OBSERVED_RETRY = (1006, 1012)
#: Close codes after which a client reconnects (with backoff) and resumes.
CLOSE_RETRY: tuple[int, ...] = tuple(sorted(
    {int(c) for c in CloseCode if c.retryable} | set(_OBSERVED_RETRY)))
#: Close codes after which reconnecting cannot help until the user acts (log in again).
CLOSE_TERMINAL: tuple[int, ...] = tuple(sorted(
    int(c) for c in (CloseCode.POLICY, CloseCode.UNAUTHENTICATED, CloseCode.SESSION_EXPIRED)))


def words() -> dict[str, object]:
    """The core's words as the browser client gets them."""
    return {"OPERATION_STATUSES": list(OPERATION_STATUSES), "CLOSE_RETRY": list(CLOSE_RETRY),
            "CLOSE_TERMINAL": list(CLOSE_TERMINAL)}
