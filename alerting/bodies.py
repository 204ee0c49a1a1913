"""What alerting accepts over REST, declared once as typed structs (msgspec).

A route converts the parsed body with :func:`hub.bodies.convert` (strict: no number
as text, no unknown field, each refusal naming its field), the service takes the
struct, and the OpenAPI document shows :func:`hub.bodies.schema` of the same
declaration, so the document is as strict as the hub. What a declaration cannot say
(a channel the caller may post in, a policy that exists) the service checks. Pure.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from channels.bodies import LabelInput
from channels.languages import Lang
from hub.bodies import NOT_BLANK, pattern

__all__ = ["CASE_CATEGORY_NAMES", "CASE_STATUS_NAMES", "SEVERITY_NAMES", "CaseChanges",
           "CaseComment", "Location", "NewCase", "PushedAlert", "Target", "case_fields"]

#: The severities, lowest first (``alerting.vocabulary.SEVERITIES``; a test keeps them equal).
SEVERITY_NAMES = Literal["info", "minor", "major", "critical"]
#: Case categories and statuses (``alerting.vocabulary``; a test keeps them equal).
CASE_CATEGORY_NAMES = Literal["incident", "request", "complaint", "casualty", "detention",
                              "other"]
CASE_STATUS_NAMES = Literal["open", "in_progress", "resolved", "closed"]
#: Who an alert goes to: a group, a role, an agency, a person or a channel.
Target = Annotated[str, pattern(
    r"^(assignees|coordinators|everyone|role:(coordinator|member|observer)"
    r"|(agency|user|channel):[^\n]{1,64})$",
    "a target: assignees, coordinators, everyone, role:<coordinator|member|observer>, "
    "agency:<agency>, user:<username> or channel:<name>")]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: The id of a rule or an escalation policy (``alerting.rules.engine.is_config_id``).
ConfigId = Annotated[str, pattern(r"^[\w.-]{1,64}$", "an id of 1-64 letters, digits, "
                                                    "'-', '_' or '.'")]
LabelValue = Annotated[str, msgspec.Meta(max_length=500)] | int | float


#: ``exercise`` and ``real_world`` are not both true (as their ``__post_init__`` checks).
PLAY_OR_REAL: dict[str, Any] = {"not": {
    "required": ["exercise", "real_world"],
    "properties": {"exercise": {"const": True}, "real_world": {"const": True}}}}


class PushedAlert(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/alerts``: an alert a bot or a person pushes."""

    SCHEMA_RULES: ClassVar[dict[str, Any]] = PLAY_OR_REAL

    summary: Annotated[str, msgspec.Meta(
        max_length=500, pattern=NOT_BLANK, description="What is wrong, in one line.")]
    severity: SEVERITY_NAMES = "major"
    details: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    fingerprint: Id | None = msgspec.field(default=None)
    labels: Annotated[dict[Annotated[str, msgspec.Meta(max_length=64)], LabelValue],
                      msgspec.Meta(max_length=32)] = msgspec.field(default_factory=dict)
    case: Id | None = msgspec.field(default=None)
    exercise: bool | msgspec.UnsetType = msgspec.UNSET
    real_world: bool | msgspec.UnsetType = msgspec.UNSET
    route: Annotated[list[Target], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list)
    escalation: ConfigId | None = msgspec.field(default=None)
    label: LabelInput | None = None
    lang: Annotated[Lang, msgspec.Meta(description=(
        "The language the summary and details are written in; else detected among the "
        "operation's languages, else its default."))] | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.exercise is True and self.real_world is True:
            raise ValueError("'real_world' and 'exercise' exclude each other")


IdempotencyKey = Annotated[str, msgspec.Meta(
    min_length=1, max_length=64,
    description="The same key again returns the first answer instead of writing twice.")]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
FieldName = Annotated[str, pattern(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$",
                                   "a field name: a letter or '_', then up to 39 letters, "
                                   "digits or '_'")]
FieldValue = Annotated[str, msgspec.Meta(max_length=500)] | int | float
Title = Annotated[str, msgspec.Meta(max_length=200, pattern=NOT_BLANK,
                                    description="At least one character that is not blank.")]


class Location(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Where a case is: a point (``lat`` and ``lon`` together), a place name, or both."""

    SCHEMA_RULES: ClassVar[dict[str, Any]] = {
        "dependentRequired": {"lat": ["lon"], "lon": ["lat"]}}
    lat: Latitude | msgspec.UnsetType = msgspec.UNSET
    lon: Longitude | msgspec.UnsetType = msgspec.UNSET
    place: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if (self.lat is msgspec.UNSET) != (self.lon is msgspec.UNSET):
            raise ValueError("'location.lat' and 'location.lon' go together")


class _CaseFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """What a person may set on a case; a field left out is not set (nor changed)."""

    SCHEMA_RULES: ClassVar[dict[str, Any]] = PLAY_OR_REAL

    description: Annotated[str, msgspec.Meta(max_length=10_000)] | msgspec.UnsetType = \
        msgspec.UNSET
    category: CASE_CATEGORY_NAMES | msgspec.UnsetType = msgspec.UNSET
    severity: SEVERITY_NAMES | msgspec.UnsetType = msgspec.UNSET
    status: CASE_STATUS_NAMES | msgspec.UnsetType = msgspec.UNSET
    location: Location | msgspec.UnsetType | None = msgspec.UNSET
    assignees: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
                         msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    fields: Annotated[dict[FieldName, FieldValue], msgspec.Meta(
        max_length=32, description="Custom fields: numbers or short texts.")] | \
        msgspec.UnsetType = msgspec.UNSET
    exercise: bool | msgspec.UnsetType = msgspec.UNSET
    real_world: bool | msgspec.UnsetType = msgspec.UNSET
    label: LabelInput | msgspec.UnsetType | None = msgspec.UNSET
    lang: Annotated[Lang, msgspec.Meta(description=(
        "The language the title and description are written in; else detected among the "
        "operation's languages, else its default."))] | msgspec.UnsetType = msgspec.UNSET
    idempotency_key: IdempotencyKey | None = None
    #: Finished uploads of the caller's for this operation (``Upload-Metadata``
    #: ``operation``), added to the case's files; a photo's position (uploaded with
    #: ``position`` ``attach``) becomes the case's location when it has none.
    attach: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]],
                      msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.exercise is True and self.real_world is True:
            raise ValueError("'real_world' and 'exercise' exclude each other: a real event "
                             "raised during an exercise is real_world, not exercise")


class NewCase(_CaseFields, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/cases`` (and a ``case`` frame's ``create``)."""

    title: Title


class CaseChanges(_CaseFields, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PATCH /api/operations/{op}/cases/{case}``: the fields to change, at ``version``
    (or the ``If-Match`` header)."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    version: Annotated[int, msgspec.Meta(ge=1, description="The version you last saw.")]


class ReviewCaseTranslation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True,
                            frozen=True):
    """``PUT /api/operations/{op}/cases/{case}/translations/{lang}``: a translator's
    corrected title and description."""

    title: Title
    description: Annotated[str, msgspec.Meta(max_length=10_000)] = ""


class CaseComment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/cases/{case}/comments``."""

    text: Annotated[str, msgspec.Meta(max_length=4000, pattern=NOT_BLANK)]
    idempotency_key: IdempotencyKey | None = None


_NOT_FIELDS = frozenset({"version", "idempotency_key", "attach"})


def case_fields(data: _CaseFields) -> dict[str, Any]:
    """The case fields a request set, as plain values (what the case document holds)."""
    return {name: msgspec.to_builtins(value) for name in data.__struct_fields__
            if name not in _NOT_FIELDS
            and (value := getattr(data, name)) is not msgspec.UNSET}
