"""Who holds an operation's complete record: its custodians.

A custodian is a member of the operation to whom an administrator has entrusted
the whole record — for an inquiry, a court or an ombudsman office. Their export
holds every record, whatever its label (:mod:`alerting.record.export`); everyone
else's export keeps its filtering. The grant is per operation, audited, and
shown to the operation's members beside each member's role.

The set is one internal document of the operation (user ids, so a renamed user
keeps the grant); membership is checked where the grant is used, so removing a
member ends their custody too.
"""

from __future__ import annotations

from typing import TypedDict

from hub.documents import StateName
from hub.engine.port import Records
from hub.models import OperationId, UserId

__all__ = ["Custodians"]



class CustodianState(TypedDict):
    users: list[str]  # user ids


STATE: StateName[CustodianState] = StateName("custodians")


class Custodians:
    def __init__(self, store: Records) -> None:
        self._store = store

    async def of(self, op_id: OperationId) -> frozenset[UserId]:
        doc = await self._store.get_state(op_id, STATE)
        return frozenset(UserId(u) for u in doc["users"]) if doc is not None else frozenset()

    async def set(self, op_id: OperationId, user_id: UserId, granted: bool) -> bool:
        """Grant or withdraw; whether anything changed."""
        current = await self.of(op_id)
        wanted = current | {user_id} if granted else current - {user_id}
        if wanted == current:
            return False
        doc: CustodianState = {"users": sorted(wanted)}
        await self._store.put_state(op_id, STATE, doc)
        return True
