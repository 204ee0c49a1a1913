"""The record kinds of an operation's log that alerting reads and writes.

Every change to an operation's shared record is a versioned record of one of
these kinds, written with :meth:`hub.engine.port.Store.write_record`, which
also appends the log event and publishes it.
"""

from __future__ import annotations

__all__ = ["ALERT", "CAP", "CASE", "NOTICE_GROUPS", "OUTGOING_STATE", "PIPELINE_STATE", "POLICY",
           "RULE", "SILENCE", "SUBSCRIPTION", "delivery_key", "log_key"]

CASE = "case"
ALERT = "alert"
RULE = "rule"
POLICY = "policy"
SILENCE = "silence"
#: A CAP message received: which case and alert it maps onto (alerting/interop/cap_service.py).
CAP = "cap"

#: The key under which the pipeline saves its cursor and rule-engine state.
PIPELINE_STATE = "alerting"
#: The key under which the pipeline keeps its notice groups (alerting.pipeline.grouping).
NOTICE_GROUPS = "notice-groups"
#: An outgoing webhook: a URL subscribed to events (a private record).
SUBSCRIPTION = "outgoing_webhook"
#: The key under which the webhook dispatcher keeps its cursors and queue.
OUTGOING_STATE = "outgoing"


def delivery_key(delivery_id: str) -> str:
    """The state document of one delivery of one event to a subscription."""
    return f"delivery:{delivery_id}"


def log_key(subscription_id: str) -> str:
    """The state document listing a subscription's deliveries, oldest first."""
    return f"deliveries:{subscription_id}"
