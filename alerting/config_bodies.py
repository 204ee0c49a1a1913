"""What alerting's configuration accepts over REST: rules, escalation policies,
silences and outgoing webhooks, declared once as typed structs (msgspec), as
:mod:`alerting.bodies` does for cases and pushes.

A field a request leaves out stays out of the stored document (its default is the
rule language's, applied when the rule is read), so every optional field is
``X | UNSET`` and :func:`hub.bodies.set_fields` gives the document. What the shape
cannot say is checked by the rule language's parsers when the service saves it, each
refusal naming the part: an expression or a template that does not compile (with its
column), a duration over the maximum, a policy or a channel that does not exist. Pure.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from alerting.bodies import SEVERITY_NAMES, ConfigId, Target
from alerting.rules.template import MAX_TEMPLATE
from channels.bodies import LabelInput
from hub.bodies import NOT_BLANK, pattern
from hub.language.codes import LANG_PATTERN

__all__ = ["ACK_NAMES", "EVENT_NAMES", "GROUPABLE_NAMES", "Duration", "Matcher",
           "NewSubscription", "PolicyBody", "PolicyStep", "RuleBody", "SilenceBody"]

#: A duration with its unit (``alerting.rules.lexer.parse_duration``, which also
#: refuses one over its maximum of 90 days).
Duration = Annotated[str, pattern(
    r"^\s*[0-9]{1,9}(\.[0-9]{1,6})?[smhd]\s*$",
    "a duration: a number with its unit, like 90s, 15m, 2h or 1d")]
#: Who must acknowledge (``alerting.rules.engine.ACK_MODES``; a test keeps them equal).
ACK_NAMES = Literal["any", "each_agency"]
#: The case fields a rate rule may count by (``alerting.rules.engine.GROUPABLE``).
GROUPABLE_NAMES = Literal["category", "created_by", "reporting_agency", "severity", "status"]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Condition = Annotated[str, msgspec.Meta(max_length=2000, pattern=NOT_BLANK,
                                        description="The condition, in the rule language.")]
Targets = Annotated[list[Target], msgspec.Meta(max_length=50)]
UNSET = msgspec.UNSET
#: An http(s) URL with a host, no credentials and a port the hub can use (whether it may
#: be reached, the service checks); a bracketed host must also be an IPv6 address, which
#: the service checks too.
HTTP_URL = (r"^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9._~%!$&'()*+,;=-]+"
            r"|\[[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\])"
            r"(:([0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]"
            r"|6553[0-5]))?([/?#][^\s]*)?$")


class RuleBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True,
               rename={"hold": "for"}):
    """``POST /api/operations/{op}/rules`` (and ``rules/dry-run``): a rule, by its id."""

    #: a case rule (the default kind) needs its condition, a rate rule its threshold
    #: and window
    SCHEMA_RULES: ClassVar[dict[str, Any]] = {
        "if": {"required": ["kind"], "properties": {"kind": {"const": "rate"}}},
        "then": {"required": ["threshold", "window"]},
        "else": {"required": ["when"], "properties": {"when": {"type": "string"}}}}

    id: ConfigId
    name: Name | msgspec.UnsetType = UNSET
    kind: Literal["case", "rate"] | msgspec.UnsetType = UNSET
    when: Condition | msgspec.UnsetType | None = UNSET
    hold: Duration | msgspec.UnsetType = UNSET
    keep_firing_for: Duration | msgspec.UnsetType = UNSET
    severity: SEVERITY_NAMES | msgspec.UnsetType = UNSET
    summary: Annotated[str, msgspec.Meta(
        max_length=MAX_TEMPLATE, description="A template: {title}, {severity} ...")] | \
        msgspec.UnsetType = UNSET
    window: Duration | msgspec.UnsetType = UNSET
    group_by: GROUPABLE_NAMES | msgspec.UnsetType | None = UNSET
    threshold: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | msgspec.UnsetType = UNSET
    route: Targets | msgspec.UnsetType = UNSET
    escalation: ConfigId | msgspec.UnsetType | None = UNSET
    enabled: bool | msgspec.UnsetType = UNSET
    ack: ACK_NAMES | msgspec.UnsetType = UNSET

    def __post_init__(self) -> None:
        if self.kind != "rate" and not isinstance(self.when, str):
            raise ValueError("field 'when' is required: a case rule needs its condition")
        if self.kind == "rate" and UNSET in (self.threshold, self.window):
            raise ValueError("a rate rule needs its 'threshold' and 'window'")


class PolicyStep(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Who is told, then how long to wait for an acknowledgement before the next step."""

    notify: Annotated[list[Target], msgspec.Meta(min_length=1, max_length=50)]
    wait: Duration | msgspec.UnsetType = UNSET


#: What a policy may group notices by (``alerting.pipeline.grouping.GROUP_KEYS``).
GroupKey = Annotated[str, pattern(
    r"^(rule|severity|source|case|policy|labels\.[\s\S]{1,64})$",
    "one of rule, severity, source, case, policy or labels.<name>")]


class PolicyBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/policies``: an escalation policy, by its id."""

    id: ConfigId
    name: Name | msgspec.UnsetType = UNSET
    steps: Annotated[list[PolicyStep], msgspec.Meta(min_length=1, max_length=20)]
    repeat_every: Duration | msgspec.UnsetType = UNSET
    group_by: Annotated[list[GroupKey], msgspec.Meta(max_length=8)] | msgspec.UnsetType = \
        UNSET
    group_wait: Duration | msgspec.UnsetType = UNSET
    group_interval: Duration | msgspec.UnsetType = UNSET


class Matcher(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """A label of the alert (``alert``, ``rule``, ``severity`` ...) and what it must be."""

    label: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: Annotated[str, msgspec.Meta(max_length=200)]
    op: Literal["=", "!=", "~"] | msgspec.UnsetType = UNSET


#: A silence that names one alert (``alert`` = its id) may leave its end open.
_NAMES_ONE_ALERT: dict[str, Any] = {"properties": {"matchers": {"contains": {
    "required": ["label"], "properties": {"label": {"const": "alert"}, "op": {"const": "="}}}}}}


class SilenceBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/silences``: from ``starts_at`` (now if left out) until
    ``ends_at`` or for ``duration`` (one of them, unless it names one alert)."""

    SCHEMA_RULES: ClassVar[dict[str, Any]] = {
        "not": {"required": ["ends_at", "duration"],
                "properties": {"ends_at": {"type": "number"}, "duration": {"type": "string"}}},
        "anyOf": [{"required": ["ends_at"], "properties": {"ends_at": {"type": "number"}}},
                  {"required": ["duration"], "properties": {"duration": {"type": "string"}}},
                  _NAMES_ONE_ALERT]}

    matchers: Annotated[list[Matcher], msgspec.Meta(min_length=1, max_length=20)]
    reason: Annotated[str, msgspec.Meta(max_length=500, pattern=NOT_BLANK,
                                        description="Why, in a few words.")]
    starts_at: float | msgspec.UnsetType = UNSET
    ends_at: float | msgspec.UnsetType | None = UNSET
    duration: Duration | msgspec.UnsetType | None = UNSET
    label: LabelInput | msgspec.UnsetType | None = UNSET

    def __post_init__(self) -> None:
        ends = self.ends_at not in (None, UNSET)
        lasts = self.duration not in (None, UNSET)
        if ends and lasts:
            raise ValueError("a silence takes 'ends_at' or 'duration', not both")
        if not ends and not lasts and not any(
                m.label == "alert" and m.op in ("=", UNSET) for m in self.matchers):
            raise ValueError("field 'ends_at' is required unless the silence names one "
                             "alert (then it ends with that alert)")


#: The events a subscription can take (``alerting.interop.outgoing.EVENT_TYPES``).
EVENT_NAMES = Literal["alert.fired", "alert.notified", "alert.acknowledged", "alert.resolved",
                      "case.created", "case.updated", "case.closed", "message.created"]
_MESSAGES: dict[str, Any] = {"required": ["events"],
                             "properties": {"events": {"contains": {"const": "message.created"}}}}
_CHANNELS: dict[str, Any] = {"required": ["channels"],
                             "properties": {"channels": {"minItems": 1}}}


class NewSubscription(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/webhooks``: a URL to send the events to. Message
    events need the channels whose messages to send, and channels need message events.
    Whether the URL may be reached (no credentials, no private address) the service
    checks."""

    SCHEMA_RULES: ClassVar[dict[str, Any]] = {"allOf": [
        {"if": _CHANNELS, "then": _MESSAGES}, {"if": _MESSAGES, "then": _CHANNELS}]}

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=HTTP_URL,
                                     description="An http(s) URL.")]
    name: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType = UNSET
    events: Annotated[list[EVENT_NAMES], msgspec.Meta(
        min_length=1, description="The alert events if left out.")] | msgspec.UnsetType = \
        UNSET
    channels: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
                        msgspec.Meta(max_length=20)] | msgspec.UnsetType = UNSET
    format: Literal["hub", "slack"] | msgspec.UnsetType = UNSET
    lang: Annotated[str, msgspec.Meta(pattern=LANG_PATTERN, description=(
        "The language a Slack-compatible delivery speaks: the hub's words in it, and "
        "texts in their kept translation into it (default en)."))] | msgspec.UnsetType = \
        UNSET

    def __post_init__(self) -> None:
        messages = self.events is not UNSET and "message.created" in self.events
        if messages and not self.channels:
            raise ValueError("'message.created' needs the 'channels' whose messages to send")
        if self.channels and not messages:
            raise ValueError("'channels' needs 'message.created' in 'events'")
