"""What alerting accepts over REST, declared once as typed structs (msgspec).

A route converts the parsed body with :func:`hub.bodies.convert` (strict: no number
as text, no unknown field, each refusal naming its field), the service takes the
struct, and the OpenAPI document shows :func:`hub.bodies.schema` of the same
declaration, so the document is as strict as the hub. What a declaration cannot say
(a channel the caller may post in, a policy that exists) the service checks. Pure.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from channels.bodies import LabelInput
from hub.bodies import NOT_BLANK, pattern

__all__ = ["SEVERITY_NAMES", "PushedAlert", "Target"]

#: The severities, lowest first (``alerting.vocabulary.SEVERITIES``; a test keeps them equal).
SEVERITY_NAMES = Literal["info", "minor", "major", "critical"]
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


class PushedAlert(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/alerts``: an alert a bot or a person pushes."""

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

    def __post_init__(self) -> None:
        if self.exercise is True and self.real_world is True:
            raise ValueError("'real_world' and 'exercise' exclude each other")
