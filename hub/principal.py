"""Who is asking: the principal every authorization decision is about.

:mod:`hub.auth` makes one from a login session or an API token; every feature
takes one. Kept apart from authentication so a feature's type needs none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.models import OperationId, User, UserId

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a user, through a login session or an API token."""

    user: User
    session_id: str
    kind: str  # "session" | "token"
    scope: tuple[OperationId, ...] | None
    expires_at: float | None

    @property
    def user_id(self) -> UserId:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def agency(self) -> str:
        return self.user.agency

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin and self.kind == "session"

    def in_scope(self, op_id: OperationId) -> bool:
        return self.scope is None or op_id in self.scope
