"""The decision table, exhaustively for the roles that matter."""

from __future__ import annotations

import pytest

from channels.permissions import Action, Decision, decide
from hub.models import Role

A, F, H = Decision.ALLOW, Decision.FORBID, Decision.HIDE


def d(action: Action, role: Role | None, *, admin: bool = False, scope: bool = True,
      agency: str = "POLICE", restricted: tuple[str, ...] | None = None,
      open_op: bool = True) -> Decision:
    return decide(action, is_admin=admin, role=role, in_scope=scope, agency=agency,
                  channel_agencies=restricted, operation_open=open_op)


@pytest.mark.parametrize("role,read,post", [
    (Role.COORDINATOR, A, A), (Role.MEMBER, A, A), (Role.OBSERVER, A, F), (None, H, H),
])
def test_channel_read_and_post_by_role(role: Role | None, read: Decision, post: Decision) -> None:
    assert d(Action.READ_CHANNEL, role, restricted=()) is read
    assert d(Action.POST, role, restricted=()) is post


def test_agency_restriction_hides_from_other_agencies() -> None:
    assert d(Action.READ_CHANNEL, Role.MEMBER, agency="ARMY", restricted=("POLICE",)) is H
    assert d(Action.POST, Role.COORDINATOR, agency="ARMY", restricted=("POLICE",)) is H
    assert d(Action.READ_CHANNEL, Role.MEMBER, agency="POLICE", restricted=("POLICE",)) is A


def test_token_scope_hides_everything_outside() -> None:
    for action in Action:
        assert d(action, Role.COORDINATOR, scope=False, restricted=()) is H


def test_management() -> None:
    assert d(Action.MANAGE_CHANNELS, Role.COORDINATOR) is A
    assert d(Action.MANAGE_CHANNELS, Role.MEMBER) is F
    assert d(Action.MANAGE_MEMBERS, Role.OBSERVER) is F
    assert d(Action.MANAGE_MEMBERS, None) is H
    assert d(Action.MANAGE_OPERATION, Role.COORDINATOR) is F
    assert d(Action.MANAGE_OPERATION, None, admin=True) is A


def test_admins_manage_but_read_only_as_members() -> None:
    assert d(Action.VIEW_OPERATION, None, admin=True) is A
    assert d(Action.MANAGE_MEMBERS, None, admin=True) is A
    assert d(Action.READ_CHANNEL, None, admin=True, restricted=()) is F
    assert d(Action.READ_CHANNEL, Role.MEMBER, admin=True, restricted=()) is A


def test_nobody_posts_in_a_closed_operation() -> None:
    assert d(Action.POST, Role.COORDINATOR, restricted=(), open_op=False) is F
    assert d(Action.READ_CHANNEL, Role.MEMBER, restricted=(), open_op=False) is A
