"""Who may do what in an operation and its channels: pure decisions, no I/O.

Three outcomes: ALLOW; FORBID (the caller may know the thing exists but
their role does not allow the action; reported as 403 / ``forbidden``); and
HIDE (the caller may not know it exists; reported exactly like a thing that
does not exist: 404 / ``not_found``).

Rules:
* An API token only reaches operations in its scope, and never acts as admin.
* Members (any role) see their operation, its member list, its shared record
  (cases, alerts, rules, the board, the event log) and the channels open to
  their agency. Global admins see and manage every operation, its members and
  channels, but read its content (channel messages and the shared record)
  only as members: to a non-member admin those answer ``forbidden``.
* A channel whose confidentiality label the caller's clearance does not reach
  (hub.labels) is hidden from them, admins included: need-to-know has no
  administrator exception.
* Coordinators (and admins) manage channels and members; members post and
  edit the operation's records (cases, alerts); observers only read. Nobody
  posts or edits in a closed operation.
"""

from __future__ import annotations

from enum import Enum, StrEnum

from hub.models import Role

__all__ = ["Action", "Decision", "decide"]


class Action(StrEnum):
    VIEW_OPERATION = "view_operation"
    MANAGE_OPERATION = "manage_operation"
    VIEW_MEMBERS = "view_members"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CHANNELS = "manage_channels"
    READ_CHANNEL = "read_channel"
    POST = "post"
    READ_RECORDS = "read_records"  # cases, alerts, rules, board, the operation's event log
    EDIT_RECORDS = "edit_records"  # create and change cases, acknowledge alerts


class Decision(Enum):
    ALLOW = "allow"
    FORBID = "forbid"
    HIDE = "hide"


_MANAGERS = {Role.COORDINATOR}
_POSTERS = {Role.COORDINATOR, Role.MEMBER}


def decide(action: Action, *, is_admin: bool, role: Role | None, in_scope: bool,
           agency: str, channel_agencies: tuple[str, ...] | None = None,
           operation_open: bool = True, cleared: bool = True) -> Decision:
    """Decide one action. ``channel_agencies`` is None for operation-level actions;
    ``cleared`` says whether the caller's clearance reaches the channel's label."""
    if not in_scope or (role is None and not is_admin) or not cleared:
        return Decision.HIDE
    agency_ok = not channel_agencies or agency in channel_agencies

    if action in (Action.VIEW_OPERATION, Action.VIEW_MEMBERS):
        return Decision.ALLOW
    if action is Action.READ_RECORDS:
        return Decision.ALLOW if role is not None else Decision.FORBID
    if action is Action.MANAGE_OPERATION:
        return Decision.ALLOW if is_admin else Decision.FORBID
    if action in (Action.MANAGE_MEMBERS, Action.MANAGE_CHANNELS):
        if channel_agencies is not None and not agency_ok and not is_admin:
            return Decision.HIDE
        return Decision.ALLOW if is_admin or role in _MANAGERS else Decision.FORBID
    # Reading and posting in a channel.
    if not agency_ok:
        return Decision.FORBID if is_admin else Decision.HIDE
    if role is None:
        return Decision.FORBID  # an admin who is not a member
    if action is Action.READ_CHANNEL:
        return Decision.ALLOW
    if action in (Action.POST, Action.EDIT_RECORDS) and role in _POSTERS and operation_open:
        return Decision.ALLOW
    return Decision.FORBID
