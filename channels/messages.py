"""Chat messages of a channel: history, publishing (idempotent), acknowledgements of urgent
messages, and the notices the hub posts itself. The channel service holds one
(``ChannelService.messages``); it shares the service's access gate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from channels.access import Access
from channels.bodies import CHAT, ChatBody, FileRef, Priority, chat_body
from channels.labelling import channel_ref, item_label
from channels.permissions import Action
from hub.bodies import encode
from hub.clock import Clock
from hub.config import Settings
from hub.engine.port import Limits, Messages, NewMessage, Store
from hub.errors import BadRequest, ErrorCode, LimitExceeded, NotFound
from hub.labels import Label
from hub.models import (
    HUB_SENDER,
    Channel,
    Message,
    OperationId,
    ack_client_msg_id,
    new_id,
)
from hub.principal import Principal

__all__ = ["ChannelMessages", "readable"]


async def readable(store: Messages, access: Access, principal: Principal, ch: Channel,
                   seq: int) -> Message:
    """Chat message ``seq`` of ``ch`` for ``principal``, who may read the channel: NotFound
    where there is none, or where its label is above what they may see (the same)."""
    found = await store.read_messages(ch.id, after_seq=seq - 1, limit=1) if seq >= 1 else []
    if not found or found[0].seq != seq or found[0].body_type != CHAT or not (
            found[0].label_json == "" or access.sees(principal, {"label": found[0].label})):
        raise NotFound()
    return found[0]


class ChannelMessages:
    """A channel's messages: read, publish, acknowledge, and the hub's own notices."""

    def __init__(self, *, settings: Settings, store: Store, clock: Clock, limits: Limits,
                 access: Access) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._limits = limits  # the publish rate holds across every hub process
        self.access = access
        #: Set by the composition root: an urgent message every agency must acknowledge
        #: was stored; an urgent message (its seq) was acknowledged.
        self.on_each_agency: Callable[[Principal, Channel, Message], Awaitable[None]] | None \
            = None
        self.on_acknowledged: Callable[[Principal, Channel, int], Awaitable[None]] | None = None
        #: Set by the composition root: a message was stored now (its translations start).
        self.on_stored: Callable[[Principal, Channel, Message], Awaitable[None]] | None = None
        #: Set by the composition root: the files a publish attaches (channels/uploads.py).
        self.attachable: Callable[[Principal, Channel, Sequence[str]],
                                  Awaitable[list[FileRef]]] | None = None

    async def history(self, principal: Principal, ch_id: str, *, before_seq: int | None,
                      after_seq: int | None, limit: int,
                      client: str) -> tuple[list[Message], bool]:
        """A page of the channel (messages above the caller's clearance left out), and
        whether more may follow in the direction read."""
        ch, _, _ = await self.access.channel(principal, ch_id, Action.READ_CHANNEL, client=client)
        if after_seq is not None:
            page = await self._store.read_messages(ch.id, after_seq=after_seq,
                                                   before_seq=before_seq, limit=limit)
        else:
            page = (await self._store.read_messages(ch.id, before_seq=before_seq, limit=limit,
                                                    newest_first=True))[::-1]
        return ([m for m in page if m.label_json == ""
                 or self.access.sees(principal, {"label": m.label})], len(page) == limit)

    async def publish(self, principal: Principal, ch_id: str, *, body: ChatBody,
                      client_msg_id: str, client: str,
                      ack_of: int | None = None, label: object = None,
                      ack: str | None = None,
                      real_world: bool = False,
                      attach: Sequence[str] = ()) -> tuple[Message, bool]:
        """Store a message saying ``body`` and broadcast it; returns (message, created).
        ``attach``: finished uploads of the caller's to this channel, carried as its files.

        Safe to retry with the same ``client_msg_id``: the second call returns
        the stored message with ``created=False`` and broadcasts nothing.
        """
        wait = await self._limits.take(f"publish:{principal.user_id}",
                                       self._settings.publish_rate,
                                       self._settings.publish_burst, self._clock.now())
        if wait > 0:
            raise LimitExceeded("publishing too fast", code=ErrorCode.RATE_LIMITED,
                                retry_after=round(wait, 3))
        if len(body.text) > self._settings.max_text_chars:
            raise LimitExceeded(f"text longer than {self._settings.max_text_chars} characters")
        ch, op, _ = await self.access.channel(principal, ch_id, Action.POST, client=client)
        if real_world and not (ch.exercise or op.exercise):
            raise BadRequest("'real_world' marks a real event inside an exercise; this "
                             "channel and its operation are not one")
        own = ""
        if isinstance(label, msgspec.Struct):
            label = msgspec.to_builtins(label)
        if label is not None:  # narrower than the channel's, else nothing to keep
            ceiling = self.access.channel_label(ch)
            chosen = item_label(self.access.policy, label, self.access.clearance(principal),
                                ceiling)
            own = "" if chosen == ceiling else chosen.dumps()
        if ack_of is not None:  # an acknowledgement is labelled as what it acknowledges
            body, client_msg_id, own = await self._acknowledgement(principal, ch, ack_of)
        elif attach:
            if self.attachable is None:
                raise BadRequest("'attach': this hub takes no files")
            body = msgspec.structs.replace(
                body, files=await self.attachable(principal, ch, attach))
        user = principal.user
        new = NewMessage(channel_id=ch.id, id=new_id("msg"), sender_id=user.id,
                         sender=user.username, sender_name=user.display_name,
                         agency=user.agency, ts=self._clock.now(), client_msg_id=client_msg_id,
                         body_type=CHAT, body=encode(body), body_version=ChatBody.VERSION,
                         label_json=own, real_world=real_world and ack_of is None)
        stored, created = await self._store.append_message(
            new, retain=self._settings.retention_messages)
        # Each agency must acknowledge it: the alerting feature tracks it as an alert
        # (escalation to the agencies still to acknowledge, the ledger), told by hooks
        # the composition root sets, since channels know nothing of alerts.
        if ack == "each_agency" and self.on_each_agency is not None:
            await self.on_each_agency(principal, ch, stored)
        if ack_of is not None and self.on_acknowledged is not None:
            await self.on_acknowledged(principal, ch, ack_of)
        if created and self.on_stored is not None:
            await self.on_stored(principal, ch, stored)
        return stored, created

    async def file(self, principal: Principal, ch_id: str, seq: int, index: int,
                   client: str) -> FileRef:
        """File ``index`` of message ``seq``, for a reader of the message: one who may
        read the channel and see the message's label. Anything else is NotFound, like a
        file that is not."""
        ch, _, _ = await self.access.channel(principal, ch_id, Action.READ_CHANNEL,
                                             client=client)
        files = chat_body(await readable(self._store, self.access, principal, ch, seq)).files
        if isinstance(files, msgspec.UnsetType) or not 0 <= index < len(files):
            raise NotFound()
        return files[index]

    async def _acknowledgement(self, principal: Principal, ch: Channel,
                               seq: int) -> tuple[ChatBody, str, str]:
        """Body, client_msg_id and label of an acknowledgement of urgent message ``seq``
        (one the caller may not see is as if it did not exist)."""
        found = await self._store.read_messages(ch.id, after_seq=seq - 1, limit=1)
        if not found or found[0].seq != seq or found[0].body_type != CHAT \
                or chat_body(found[0]).priority is not Priority.URGENT \
                or not self.access.sees(principal, {"label": found[0].label}):
            raise BadRequest("only an urgent message of this channel can be acknowledged")
        return (ChatBody(text=f"acknowledged message #{seq}"), ack_client_msg_id(seq),
                found[0].label_json)

    async def post_as_hub(self, op_id: OperationId, channel_name: str, *, text: str,
                          client_msg_id: str, priority: Priority,
                          label: Label | None = None,
                          hidden_msg_id: str | None = None,
                          real_world: bool = False) -> Message | None:
        """The hub itself posts into an operation's channel (alert notices).

        Idempotent by ``client_msg_id`` like any publish, so a notice retried
        or raced by two nodes appears once. None if there is no such channel.
        ``channel_name`` may be the channel's :func:`channel_ref`, as a route keeps a
        channel some of its readers may not see.
        ``label``: that of what the notice is about; when some reader of the channel
        may not see it, the notice says only that something above the channel's
        marking needs attention, never what, and carries ``hidden_msg_id`` (which
        names nothing) instead of ``client_msg_id``.
        ``real_world``: the notice is about a real event inside an exercise; the message
        is marked so, and every output shows REAL WORLD, never also EXERCISE.
        """
        chosen = [c for c in await self._store.list_channels(op_id)
                  if channel_name in (c.name, channel_ref(c))]
        if not chosen:
            return None
        ch = chosen[0]
        marking = self.access.channel_label(ch)
        if label is not None and not self.access.policy.covers(marking, label):
            client_msg_id = hidden_msg_id or \
                "notice-" + hashlib.sha256(client_msg_id.encode()).hexdigest()[:32]
            text = (f"[{label.level}] An alert needs attention. Its details are above this "
                    f"channel's marking ({marking.marking()}): those cleared for them see "
                    "it in the Alerts panel.")
        body = ChatBody(text=text[:self._settings.max_text_chars], priority=priority)
        new = NewMessage(channel_id=ch.id, id=new_id("msg"), sender_id=HUB_SENDER,
                         sender="hub", sender_name="Liaison Hub", agency="HUB",
                         ts=self._clock.now(), client_msg_id=client_msg_id, body_type=CHAT,
                         body=encode(body), body_version=ChatBody.VERSION,
                         real_world=real_world)
        message, _ = await self._store.append_message(
            new, retain=self._settings.retention_messages)
        return message
