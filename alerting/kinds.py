"""The record kinds of an operation's log that alerting reads and writes, and the
names of its state documents, each typed by its document (alerting.documents).

Every change to an operation's shared record is a versioned record of one of
these kinds, written with :meth:`hub.engine.port.Store.write_record`, which
also appends the log event and publishes it.
"""

from __future__ import annotations

from typing import Any

from alerting.documents import (
    AlertDoc,
    CapDoc,
    CaseDoc,
    DeliveryDoc,
    DeliveryLog,
    OutgoingState,
    PipelineState,
    PolicyDoc,
    RuleDoc,
    SaltState,
    SilenceDoc,
    SubscriptionDoc,
)
from hub.documents import RecordKind, StateName

__all__ = ["ALERT", "CAP", "CASE", "NOTICE_GROUPS", "OUTGOING_STATE", "PIPELINE_STATE", "POLICY",
           "RULE", "SALT_STATE", "SILENCE", "SUBSCRIPTION", "delivery_key", "log_key"]

CASE: RecordKind[CaseDoc] = RecordKind("case")
ALERT: RecordKind[AlertDoc] = RecordKind("alert")
RULE: RecordKind[RuleDoc] = RecordKind("rule")
POLICY: RecordKind[PolicyDoc] = RecordKind("policy")
SILENCE: RecordKind[SilenceDoc] = RecordKind("silence")
#: A CAP message received: which case and alert it maps onto (alerting/interop/cap_service.py).
CAP: RecordKind[CapDoc] = RecordKind("cap")
#: An outgoing webhook: a URL subscribed to events (a private record).
SUBSCRIPTION: RecordKind[SubscriptionDoc] = RecordKind("outgoing_webhook")

#: The pipeline's cursor and rule-engine state.
PIPELINE_STATE: StateName[PipelineState] = StateName("alerting")
#: The pipeline's notice groups (alerting.pipeline.grouping), by group id.
NOTICE_GROUPS: StateName[dict[str, Any]] = StateName("notice-groups")
#: The webhook dispatcher's cursors and queue.
OUTGOING_STATE: StateName[OutgoingState] = StateName("outgoing")
#: The per-operation secret of the export's commitments (alerting.record.export).
SALT_STATE: StateName[SaltState] = StateName("export_salt")


def delivery_key(delivery_id: str) -> StateName[DeliveryDoc]:
    """The state document of one delivery of one event to a subscription."""
    return StateName(f"delivery:{delivery_id}")


def log_key(subscription_id: str) -> StateName[DeliveryLog]:
    """The state document listing a subscription's deliveries, oldest first."""
    return StateName(f"deliveries:{subscription_id}")
