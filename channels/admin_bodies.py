"""What setting up an operation accepts over REST: operations, their channels and
members, and incoming webhooks, declared once as typed structs (msgspec).

A route converts the body (:func:`hub.bodies.convert`: strict, the refusal naming its
field), the service takes the struct, and the OpenAPI document shows
:func:`hub.bodies.schema` of the same declaration. Texts keep the blanks around them
here and lose them when stored, as before. What the shape cannot say (a label the
deployment's policy knows and the author's clearance reaches, agencies that take
part, a code not yet taken) the service checks. Pure.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from channels.bodies import LabelInput
from hub.bodies import NOT_BLANK, pattern

__all__ = [
    "OPERATION_STATUS_NAMES",
    "ROLE_NAMES",
    "ChannelChanges",
    "MemberRole",
    "NewChannel",
    "NewIncomingWebhook",
    "NewOperation",
    "OperationChanges",
    "agencies",
]

#: An operation's status (``hub.models.OPERATION_STATUSES``; a test keeps them equal).
OPERATION_STATUS_NAMES = Literal["planned", "active", "closed"]
#: A member's role (``hub.models.Role``).
ROLE_NAMES = Literal["coordinator", "member", "observer"]
UNSET = msgspec.UNSET

Code = Annotated[str, msgspec.Meta(max_length=32), pattern(
    r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,31}\s*$",
    "a code: letters, digits, '.', '_' or '-' (not first), at most 32")]
OperationName = Annotated[str, msgspec.Meta(max_length=200, pattern=NOT_BLANK)]
ChannelName = Annotated[str, msgspec.Meta(max_length=48), pattern(
    r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,47}\s*$",
    "a channel name: letters, digits, '.', '_' or '-' (not first), at most 48; "
    "stored in lower case")]
Topic = Annotated[str, msgspec.Meta(max_length=500)]
Agencies = Annotated[list[Annotated[str, msgspec.Meta(max_length=64, pattern=NOT_BLANK)]],
                     msgspec.Meta(max_length=64)]
#: The older way to give an operation's label: a level name.
Classification = Annotated[str, msgspec.Meta(max_length=64)]


class NewOperation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations`` (administrators)."""

    code: Code
    name: OperationName
    status: OPERATION_STATUS_NAMES = "active"
    agencies: Agencies | msgspec.UnsetType | None = UNSET
    exercise: bool = False
    label: LabelInput | msgspec.UnsetType = UNSET
    classification: Classification | msgspec.UnsetType = UNSET


class OperationChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PATCH /api/operations/{op}`` (administrators): the fields to change."""

    name: OperationName | msgspec.UnsetType = UNSET
    status: OPERATION_STATUS_NAMES | msgspec.UnsetType = UNSET
    agencies: Agencies | msgspec.UnsetType | None = UNSET
    exercise: bool | msgspec.UnsetType = UNSET
    label: LabelInput | msgspec.UnsetType = UNSET
    classification: Classification | msgspec.UnsetType = UNSET


class NewChannel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/operations/{op}/channels`` (coordinators)."""

    name: ChannelName
    topic: Topic | None = None
    agencies: Agencies | msgspec.UnsetType | None = UNSET
    exercise: bool = False
    label: LabelInput | msgspec.UnsetType = UNSET


class ChannelChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PATCH /api/channels/{ch}`` (coordinators): the fields to change."""

    topic: Topic | msgspec.UnsetType | None = UNSET
    agencies: Agencies | msgspec.UnsetType | None = UNSET
    exercise: bool | msgspec.UnsetType = UNSET
    label: LabelInput | msgspec.UnsetType = UNSET


class MemberRole(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PUT /api/operations/{op}/members/{username}`` (coordinators)."""

    role: ROLE_NAMES = "member"


class NewIncomingWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True,
                         frozen=True):
    """``POST /api/operations/{op}/webhooks`` (coordinators): a URL that posts in one
    channel of the operation."""

    name: Annotated[str, msgspec.Meta(max_length=64, pattern=NOT_BLANK)]
    channel: Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                         description="The channel's id.")]


def agencies(given: list[str] | msgspec.UnsetType | None) -> tuple[str, ...]:
    """The agencies as stored: without the blanks around them, each once, in order."""
    return () if given is UNSET or given is None else \
        tuple(dict.fromkeys(a.strip() for a in given))
