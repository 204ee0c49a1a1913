"""Redacting a message: its text and files gone for every reader, the act audited.

A message posted to the wrong channel, or a photo that shows what it must not, is
redacted by its sender or a coordinator of its operation, with a reason. The
message keeps its place (its seq, sender and time: the conversation around it still
reads in order) but its body becomes ``[redacted]`` with who redacted it and when
(:class:`~channels.bodies.Redaction`); its files go from the body, so no route
serves them again, and their bytes are deleted unless another message or case
still carries the same file (``on_redacted``, set by the composition root to the
blob sweep's :meth:`~channels.blob_sweep.BlobSweep.release`). Readers connected now
are told (a ``redacted`` frame to those who could read it); everyone else reads the
redacted body from the store. The reason and the files' digests are in the audit
record only (``message.redact``), never in the message.

Hub notices and acknowledgements are the record of what the hub did and who
acknowledged: they are not redacted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict

import msgspec

from channels.access import Access
from channels.blob_sweep import named_files
from channels.bodies import REDACTED_TEXT, ChatBody, Redaction, chat_body
from channels.messages import readable
from channels.permissions import Action
from hub.auditor import Auditor
from hub.bodies import encode
from hub.clock import Clock
from hub.engine.port import Broker, Store
from hub.errors import BadRequest, Forbidden, NotFound
from hub.models import ACK_PREFIX, HUB_SENDER, RedactedEvent, Role
from hub.principal import Principal

__all__ = ["Redacted", "Redactions"]


class Redacted(TypedDict):
    channel: str
    seq: int
    redacted_by: str
    redacted_at: float
    files_deleted: int  # kept files deleted (those no other item still carries)


class Redactions:
    def __init__(self, *, store: Store, broker: Broker, clock: Clock, auditor: Auditor,
                 access: Access) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock
        self._audit = auditor
        self._access = access
        #: Set by the composition root: delete these kept files unless still carried;
        #: answers how many were deleted.
        self.on_redacted: Callable[[Sequence[str]], Awaitable[int]] | None = None

    async def redact(self, principal: Principal, ch_id: str, seq: int, reason: str,
                     client: str) -> Redacted:
        ch, _, role = await self._access.channel(principal, ch_id, Action.READ_CHANNEL,
                                                 client=client)
        message = await readable(self._store, self._access, principal, ch, seq)
        if message.sender_id == HUB_SENDER or message.client_msg_id.startswith(ACK_PREFIX):
            raise BadRequest("the hub's notices and acknowledgements are not redacted")
        if message.sender_id != principal.user_id and role is not Role.COORDINATOR \
                and not principal.is_admin:
            raise Forbidden("only its sender or a coordinator redacts a message")
        body = chat_body(message)
        if not isinstance(body.redacted, msgspec.UnsetType):  # already: nothing more to do
            return {"channel": ch.id, "seq": seq, "redacted_by": body.redacted.by,
                    "redacted_at": body.redacted.at, "files_deleted": 0}
        digests = list(dict.fromkeys(named_files(msgspec.to_builtins(body.files))
                                     if not isinstance(body.files, msgspec.UnsetType)
                                     else []))
        at = self._clock.now()
        gone = ChatBody(text=REDACTED_TEXT, priority=body.priority, reply_to=body.reply_to,
                        redacted=Redaction(by=principal.username, at=at))
        if not await self._store.redact_message(ch.id, seq, encode(gone)):
            raise NotFound()  # dropped by retention meanwhile
        for key in (await self._store.read_notes(ch.id, [seq])).get(seq, {}):
            await self._store.put_note(ch.id, seq, key, b"")  # its translations go too
        await self._audit.record(actor=principal.username, action="message.redact",
                                 target=f"{ch.id}:{seq}", outcome="ok", client=client,
                                 operation_id=ch.operation_id,
                                 details={"reason": reason, "files": digests})
        await self._broker.publish(ch.broker_topic, RedactedEvent(
            ch.id, seq, message.label_json, principal.username, at))
        deleted = await self.on_redacted(digests) if digests and self.on_redacted else 0
        return {"channel": ch.id, "seq": seq, "redacted_by": principal.username,
                "redacted_at": at, "files_deleted": deleted}
