"""What files an operation takes: a narrower list of kinds and smaller limits than the hub's.

The hub takes the kinds :mod:`hub.filetypes` recognises, each file up to
``max_upload_bytes``. A coordinator may narrow that for their operation (a police
operation that takes photos and PDFs only, a cell on a small disk): ``allowed``, a
subset of the hub's kinds; ``max_file_bytes``, at most the hub's limit; and
``max_operation_bytes``, what all the operation's kept files may weigh together.

Each is checked as early as it can be: the length of a file and the room left in the
operation when its upload is created, before any byte is sent (413); the kind the
client declares then too, and the kind decided from the bytes when the upload
completes (415), before the file becomes visible. What the operation keeps is
counted as uploads complete (``files:usage``, a state document of the operation);
two hub processes completing uploads at the same instant may each see the room the
other is about to take, so the total can pass the limit by the files completing at
that instant, never by more.

The policy is a state document of the operation (``files:policy``); setting it is
audited.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, TypedDict

import msgspec

from channels.access import Access
from channels.permissions import Action
from hub.auditor import Auditor
from hub.clock import Clock
from hub.config import Settings
from hub.documents import StateName
from hub.engine.port import Records
from hub.errors import BadRequest, LimitExceeded, UnsupportedMedia
from hub.filetypes import FileKind
from hub.models import OperationId
from hub.principal import Principal

__all__ = ["POLICY", "USAGE", "FilePolicies", "FilePolicyBody", "FilePolicyView"]


class FilePolicyBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PUT /api/operations/{id}/file-policy``: null (or absent) keeps the hub's own."""

    #: The kinds the operation takes, decided from the bytes; a subset of the hub's.
    allowed: Annotated[list[FileKind], msgspec.Meta(min_length=1, max_length=10)] | None = None
    #: The largest file, in bytes; at most the hub's ``max_upload_bytes``.
    max_file_bytes: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None
    #: What all the operation's kept files may weigh together, in bytes.
    max_operation_bytes: Annotated[int, msgspec.Meta(ge=1, le=2**53)] | None = None


class FilePolicyDoc(TypedDict):
    allowed: list[str] | None
    max_file_bytes: int | None
    max_operation_bytes: int | None
    updated_by: str
    updated_at: float


class UsageDoc(TypedDict):
    bytes: int  # what the operation's completed uploads keep


class FilePolicyView(TypedDict):
    """The policy in force: the operation's narrowing, the hub's limits where it has none,
    and what the operation keeps now."""

    allowed: list[str]
    max_file_bytes: int
    max_operation_bytes: int | None
    used_bytes: int
    narrowed: bool


POLICY: StateName[FilePolicyDoc] = StateName("files:policy")
USAGE: StateName[UsageDoc] = StateName("files:usage")


class FilePolicies:
    def __init__(self, *, store: Records, access: Access, auditor: Auditor, clock: Clock,
                 settings: Settings) -> None:
        self._store = store
        self._access = access
        self._audit = auditor
        self._clock = clock
        self._settings = settings
        self._counting = asyncio.Lock()

    async def view(self, principal: Principal, op_id: str, client: str) -> FilePolicyView:
        op, _ = await self._access.operation(principal, op_id, Action.VIEW_OPERATION,
                                             client=client)
        return await self.in_force(op.id)

    async def in_force(self, op_id: OperationId) -> FilePolicyView:
        doc = await self._store.get_state(op_id, POLICY)
        used = await self._store.get_state(op_id, USAGE)
        hub_max = self._settings.max_upload_bytes
        return {"allowed": doc["allowed"] if doc and doc["allowed"] else [str(k) for k in FileKind],
                "max_file_bytes": min(hub_max, doc["max_file_bytes"] or hub_max) if doc
                else hub_max,
                "max_operation_bytes": doc["max_operation_bytes"] if doc else None,
                "used_bytes": used["bytes"] if used else 0, "narrowed": doc is not None}

    async def set(self, principal: Principal, op_id: str, body: FilePolicyBody,
                  client: str) -> FilePolicyView:
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)  # its coordinators
        if body.max_file_bytes is not None \
                and body.max_file_bytes > self._settings.max_upload_bytes:
            raise BadRequest(f"'max_file_bytes': at most the hub's max_upload_bytes "
                             f"({self._settings.max_upload_bytes})")
        doc: FilePolicyDoc = {
            "allowed": sorted({str(k) for k in body.allowed}) if body.allowed else None,
            "max_file_bytes": body.max_file_bytes,
            "max_operation_bytes": body.max_operation_bytes,
            "updated_by": principal.username, "updated_at": self._clock.now()}
        await self._store.put_state(op.id, POLICY, doc)
        await self._audit.record(actor=principal.username, action="operation.file_policy",
                                 target=op.id, outcome="ok", client=client,
                                 operation_id=op.id,
                                 details={"allowed": doc["allowed"],
                                          "max_file_bytes": doc["max_file_bytes"],
                                          "max_operation_bytes": doc["max_operation_bytes"]})
        return await self.in_force(op.id)

    async def admit(self, op_id: OperationId, length: int, declared: str) -> None:
        """Refuse an upload the operation will not take, before any byte is sent."""
        policy = await self.in_force(op_id)
        if length > policy["max_file_bytes"]:
            raise LimitExceeded(f"a file of {length} bytes is over this operation's limit "
                                f"of {policy['max_file_bytes']}")
        room = policy["max_operation_bytes"]
        if room is not None and policy["used_bytes"] + length > room:
            raise LimitExceeded(f"this operation keeps {policy['used_bytes']} bytes of files "
                                f"of the {room} it may: no room for {length} more")
        if declared in {str(k) for k in FileKind} and declared not in policy["allowed"]:
            raise UnsupportedMedia(self._refusal(policy, declared))

    async def accept(self, op_id: OperationId, kind: FileKind) -> None:
        """Refuse a file whose bytes are of a kind the operation does not take."""
        policy = await self.in_force(op_id)
        if str(kind) not in policy["allowed"]:
            raise UnsupportedMedia(self._refusal(policy, str(kind)))

    async def kept(self, op_id: OperationId, size: int) -> None:
        """Count ``size`` more bytes kept by the operation."""
        async with self._counting:  # one count at a time in this process
            used = await self._store.get_state(op_id, USAGE)
            now: UsageDoc = {"bytes": (used["bytes"] if used else 0) + size}
            await self._store.put_state(op_id, USAGE, now)

    @staticmethod
    def _refusal(policy: FilePolicyView, kind: str) -> str:
        return f"this operation does not take {kind} files: it takes " \
               f"{', '.join(policy['allowed'])}"
