"""The shapes of the documents alerting keeps: its records and its state.

Each record kind of :mod:`alerting.kinds` is typed by one of these, so a service
reading ``store.get_record(op, CASE, id)`` gets a :class:`CaseDoc` and mypy checks
every field it touches. Fields a document written by an older hub may lack are
``NotRequired`` (read them with ``.get``); the others every stored document has.

Documents are plain JSON objects at run time: the engines store them as they
are, the API answers them as they are. ``tests/alerting/test_documents.py``
holds each shape to what the services really write, on both engines.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

__all__ = [
    "AckDoc",
    "AlertDoc",
    "AlertView",
    "CapDoc",
    "CaseDoc",
    "CaseView",
    "DeliveryAttempt",
    "DeliveryDoc",
    "DeliveryLog",
    "DeliveryView",
    "DryRunMatch",
    "Escalation",
    "LabelDoc",
    "LedgerRow",
    "LocationDoc",
    "OutgoingState",
    "PipelineState",
    "PolicyDoc",
    "PolicyView",
    "RuleDoc",
    "RuleView",
    "SaltState",
    "SilenceDoc",
    "SilenceView",
    "SubscriptionDoc",
    "SubscriptionSettings",
    "SubscriptionView",
]

#: A confidentiality label as a record keeps it (hub.labels.Label.to_dict).
LabelDoc = dict[str, object]


class LocationDoc(TypedDict, total=False):
    lat: float
    lon: float
    place: str


class CaseDoc(TypedDict):
    id: str
    operation_id: str
    title: str
    description: str
    category: str
    severity: str
    status: str
    location: LocationDoc | None
    assignees: list[str]
    fields: dict[str, float | str]
    exercise: bool
    real_world: NotRequired[bool]
    reporting_agency: str
    created_by: str
    created_at: float
    updated_by: str
    updated_at: float
    comments: int
    label: NotRequired[LabelDoc | None]
    #: Files attached to the case (channels.bodies.FileRef as plain values).
    files: NotRequired[list[dict[str, object]]]
    #: The language the title and description are written in, as their writer said;
    #: absent: detected when they are translated, else the operation's default.
    lang: NotRequired[str]


class CaseView(CaseDoc):
    """A case as the API answers it: with its version."""

    version: int


class Escalation(TypedDict):
    """Where an alert's escalation stands (alerting.pipeline.escalation)."""

    policy: str | None
    step: int
    reminders: int
    next_at: float | None


class LastNotice(TypedDict):
    """The last notification of an alert: its step, who and where (stages.Delivery)."""

    step: int
    reminder: int
    at: float
    users: list[str]
    channels: list[str]


class AckDoc(TypedDict):
    by: str
    at: float


class AlertDoc(TypedDict):
    id: str
    operation_id: str
    source: str
    rule_id: str | None
    case_id: str | None
    fingerprint: str
    severity: str
    summary: str
    details: str
    labels: dict[str, Any]
    state: str
    occurrences: int
    first_at: float
    last_at: float
    acked_by: str | None
    acked_at: float | None
    resolved_by: str | None
    resolved_at: float | None
    resolution: str | None
    exercise: bool
    route: list[str]
    escalation: Escalation
    silenced_by: str | None
    last_notice: LastNotice | None
    label: NotRequired[LabelDoc | None]
    real_world: NotRequired[bool]
    ack_agencies: NotRequired[list[str] | None]
    informed_agencies: NotRequired[list[str]]
    raised_by: NotRequired[str | None]
    acks: NotRequired[dict[str, AckDoc]]
    told: NotRequired[dict[str, float]]
    summary_words: NotRequired[dict[str, Any] | None]
    lang: NotRequired[str]  # the language its summary and details are written in, as said
    last_occurrence: NotRequired[str]
    # an alert received from Alertmanager or Grafana (alerting.interop.alertmanager)
    annotations: NotRequired[dict[str, str]]
    links: NotRequired[dict[str, str]]
    starts_at: NotRequired[str]


class LedgerRow(TypedDict):
    """Per agency: when it was told of an alert and when (and by whom) it acknowledged."""

    agency: str
    told_at: float | None
    acked_at: float | None
    acked_by: str | None
    seconds: float | None


class AlertView(AlertDoc):
    """An alert as the API answers it (alerting.pipeline.alerts.answered)."""

    version: int
    pending_agencies: list[str]
    ledger: list[LedgerRow]


#: A rule as kept: its checked body (alerting.config_bodies.RuleBody), ``route``
#: resolved to channel ids. What each setting means: alerting.rules.engine. (Declared
#: by call: one of its settings is named "for".)
RuleDoc = TypedDict("RuleDoc", {
    "id": str, "name": str, "kind": str, "when": str | None, "for": str,
    "keep_firing_for": str, "severity": str, "summary": str, "window": str,
    "group_by": str | None, "threshold": int, "route": list[str], "escalation": str | None,
    "enabled": bool, "ack": str}, total=False)


#: A rule as the API lists it: a "global" rule (from the hub's rule file) has no
#: version; "health" says whether the pipeline evaluates it.
RuleView = TypedDict("RuleView", {
    "id": str, "name": str, "kind": str, "when": str | None, "for": str,
    "keep_firing_for": str, "severity": str, "summary": str, "window": str,
    "group_by": str | None, "threshold": int, "route": list[str], "escalation": str | None,
    "enabled": bool, "ack": str, "version": int, "global": bool,
    "health": dict[str, object]}, total=False)


class DryRunMatch(TypedDict):
    """What a rule's condition matches now (``rules/dry-run``)."""

    key: str
    case_id: str | None
    summary: str
    count: int


class PolicyDoc(TypedDict, total=False):
    """An escalation policy as kept (alerting.config_bodies.PolicyBody)."""

    id: str
    name: str
    steps: list[dict[str, Any]]
    repeat_every: str
    group_by: list[str]
    group_wait: str
    group_interval: str


class PolicyView(PolicyDoc):
    version: int


class SilenceDoc(TypedDict):
    id: str
    matchers: list[dict[str, str]]
    reason: str
    starts_at: float
    ends_at: float | None
    created_by: str
    created_at: float
    expired_by: str | None
    label: NotRequired[LabelDoc]


class SilenceView(SilenceDoc):
    version: int


class CapDoc(TypedDict):
    """A CAP message received and the case and alert it maps onto."""

    id: str
    sender: str
    identifier: str
    sent: str
    msg_type: str
    status: str
    references: list[str]
    root: str
    case_id: str | None
    fingerprint: str
    action: str


class SubscriptionSettings(TypedDict):
    """What a manager sets of an outgoing webhook (alerting.interop.outgoing)."""

    name: str
    url: str
    events: list[str]
    channels: list[str]
    format: str
    lang: NotRequired[str]  # a Slack-compatible delivery's language (older ones: en)


class SubscriptionView(SubscriptionSettings):
    """An outgoing webhook subscription as its managers see it: never its secret."""

    id: str
    state: str
    disabled_reason: str | None
    created_by: str
    created_at: float
    since_seq: int
    since_channels: dict[str, int]


class SubscriptionDoc(SubscriptionView):
    """An outgoing webhook subscription as kept (a private record: it holds its secret)."""

    secret: str


class DeliveryAttempt(TypedDict):
    at: float
    status: int | None
    error: str | None


class DeliveryView(TypedDict):
    """One delivery of one event to an outgoing webhook, as its log shows it."""

    id: str
    subscription_id: str
    event: str
    ts: float
    state: str  # pending, delivered, failed, cancelled
    attempts: int
    created_at: float
    next_at: float | None
    last_status: int | None
    last_error: str | None
    delivered_at: float | None
    log: list[DeliveryAttempt]


class DeliveryDoc(DeliveryView):
    """A delivery as kept (a state document): with the payload it sends."""

    payload: dict[str, object]


class DeliveryLog(TypedDict):
    """A subscription's deliveries, oldest first."""

    ids: list[str]


class OutgoingState(TypedDict):
    """The webhook dispatcher's place in an operation: its cursor in the log, per
    subscription and channel the last message seq read, and the deliveries due."""

    cursor: int
    channels: dict[str, int]
    queue: dict[str, float]


class PipelineState(TypedDict, total=False):
    """The pipeline's cursor in the operation's log and its rule engine's snapshot."""

    cursor: int
    engine: dict[str, Any]


class SaltState(TypedDict):
    """The per-operation secret the export's commitments are salted with."""

    secret: str
