"""Operations, membership, channels and messages: authorize -> store -> broadcast.

Every entry point takes the caller's :class:`~hub.principal.Principal` and goes
through :class:`channels.access.Access` first; both the REST routes and the
WebSocket gateway call these methods, so the two paths cannot disagree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from channels.access import Access
from channels.admin_bodies import (
    ChannelChanges,
    NewChannel,
    NewOperation,
    OperationChanges,
    agencies,
)
from channels.custodians import Custodians
from channels.labelling import channel_label, operation_label
from channels.messages import ChannelMessages
from channels.permissions import Action
from channels.redaction import Redactions
from hub.auditor import Auditor
from hub.clock import Clock
from hub.config import Settings
from hub.engine.port import Broker, Limits, Presence, PresenceEntry, Store
from hub.errors import BadRequest, Conflict, NotFound
from hub.feeds import Feed, FeedItem
from hub.labels import REL_TO
from hub.models import (
    CONTROL_TOPIC,
    Channel,
    ChannelId,
    ControlEvent,
    Membership,
    Operation,
    OperationId,
    Role,
    TypingEvent,
    User,
    new_id,
)
from hub.principal import Principal
from hub.ratelimit import RateLimiter

__all__ = ["ChannelService"]


class ChannelService:
    def __init__(self, *, settings: Settings, store: Store, broker: Broker,
                 presence: Presence, clock: Clock, auditor: Auditor, access: Access,
                 limits: Limits) -> None:
        self._settings = settings
        self._store = store
        self._broker = broker
        self._presence = presence
        self._clock = clock
        self._audit = auditor
        self.access = access
        self.custodians = Custodians(store)
        self._limits = limits  # the publish rate holds across every hub process
        self._typing_limit = RateLimiter(clock, rate=0.5, burst=1)  # one per 2 s
        #: The channels' messages (history, publish, acknowledgements, the hub's notices).
        self.messages = ChannelMessages(settings=settings, store=store, clock=clock,
                                        limits=limits, access=access)
        self.redactions = Redactions(store=store, broker=broker, clock=clock, auditor=auditor,
                                     access=access)
        #: ...and an operation's membership changed (who must acknowledge may have).
        self.on_membership: Callable[[OperationId, str, str], Awaitable[None]] | None = None

    # --- operations --------------------------------------------------------------

    async def create_operation(self, principal: Principal, body: NewOperation,
                               client: str) -> Operation:
        if not principal.is_admin:
            await self._audit.record(actor=principal.username, action="authz.denied",
                                     target="operation:create", outcome="forbidden",
                                     client=client)
            raise NotFound()
        code = body.code.strip()
        label = operation_label(self.access.policy, msgspec.to_builtins(body),
                                self.access.clearance(principal), None)
        assert label is not None
        op = Operation(id=OperationId(new_id("op")), code=code, name=body.name.strip(),
                       status=body.status, classification=label.dumps(),
                       agencies=agencies(body.agencies), created_at=self._clock.now(),
                       exercise=body.exercise)
        if await self._store.get_operation_by_code(code):
            raise Conflict(f"operation code {code} is taken")
        await self._store.create_operation(op)
        await self._audit.record(actor=principal.username, action="operation.create",
                                 target=op.id, outcome="ok", client=client, operation_id=op.id,
                                 details={"code": code})
        return op

    async def update_operation(self, principal: Principal, op_id: str,
                               changes: OperationChanges, client: str) -> Operation:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_OPERATION,
                                            client=client)
        data: dict[str, object] = msgspec.to_builtins(changes)
        fields: dict[str, object] = {}
        if changes.name is not msgspec.UNSET:
            fields["name"] = changes.name.strip()
        if changes.status is not msgspec.UNSET:
            fields["status"] = changes.status
        if changes.agencies is not msgspec.UNSET:
            fields["agencies"] = agencies(changes.agencies)
        if changes.exercise is not msgspec.UNSET:
            fields["exercise"] = changes.exercise
        before = self.access.operation_label(op)
        label = operation_label(
            self.access.policy, data, self.access.clearance(principal), before,
            [(f"channel #{ch.name}", self.access.channel_label(ch))
             for ch in await self._store.list_channels(op.id)])
        if label is not None and label != before:
            fields["classification"] = label.dumps()
        await self._store.update_operation(op.id, **fields)
        self.access.forget()
        await self._audit.record(actor=principal.username, action="operation.update",
                                 target=op.id, outcome="ok", client=client, operation_id=op.id,
                                 details={"fields": sorted(fields)})
        if "classification" in fields and label is not None:
            await self._audit.record(actor=principal.username, action="operation.label",
                                     target=op.id, outcome="ok", client=client,
                                     operation_id=op.id,
                                     details={"from": before.marking(), "to": label.marking()})
        await self._broker.publish(CONTROL_TOPIC, ControlEvent(reason="access"))
        updated = await self._store.get_operation(op.id)
        assert updated is not None
        return updated

    async def list_operations(self, principal: Principal) -> list[tuple[Operation, Role | None]]:
        if principal.is_admin:
            ops = await self._store.list_operations()
        else:
            ops = [op for op in await self._store.list_operations(principal.user_id)
                   if principal.in_scope(op.id)]
        return [(op, await self.access.role(principal, op.id)) for op in ops]

    async def get_operation(self, principal: Principal, op_id: str,
                            client: str) -> tuple[Operation, Role | None]:
        return await self.access.operation(principal, op_id, Action.VIEW_OPERATION,
                                           client=client)

    # --- membership ----------------------------------------------------------------

    async def list_members(self, principal: Principal, op_id: str,
                           client: str) -> list[tuple[Membership, User]]:
        op, _ = await self.access.operation(principal, op_id, Action.VIEW_MEMBERS, client=client)
        return await self._store.list_members(op.id)

    async def set_member(self, principal: Principal, op_id: str, username: str,
                         role: Role, client: str) -> Membership:
        op, my_role = await self.access.operation(principal, op_id, Action.MANAGE_MEMBERS,
                                                  client=client)
        role = Role(role)  # the enum, also when a caller passes its name
        user = await self._store.get_user_by_name(username)
        if user is None:
            raise NotFound("no such user")
        if op.agencies and user.agency not in op.agencies:
            raise BadRequest(f"agency {user.agency} does not take part in {op.code}")
        if not principal.is_admin and user.id == principal.user_id and role != my_role:
            raise BadRequest("coordinators cannot change their own role")
        m = Membership(op.id, user.id, role)
        await self._store.set_membership(m)
        self.access.forget()
        await self._audit.record(actor=principal.username, action="membership.set",
                                 target=user.username, outcome="ok", client=client,
                                 operation_id=op.id, details={"role": str(role)})
        await self._broker.publish(CONTROL_TOPIC, ControlEvent(user_id=user.id,
                                                               reason="membership"))
        if self.on_membership is not None:
            await self.on_membership(op.id, principal.username, client)
        return m

    async def set_custodian(self, principal: Principal, op_id: str, username: str,
                            granted: bool, client: str) -> tuple[Membership, User]:
        """Entrust (or withdraw) the operation's complete record to a member: an
        administrator's act, audited, seen by the members in the member list."""
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_OPERATION,
                                            client=client)
        user = await self._store.get_user_by_name(username)
        member = await self._store.get_membership(op.id, user.id) if user else None
        if user is None or member is None:
            raise NotFound("no such member")
        if granted and user.is_bot:
            raise BadRequest("a bot cannot be a custodian: custody is a person's")
        if await self.custodians.set(op.id, user.id, granted):
            await self._audit.record(actor=principal.username,
                                     action="custodian.grant" if granted else
                                     "custodian.withdraw", target=user.username,
                                     outcome="ok", client=client, operation_id=op.id)
        return member, user

    async def remove_member(self, principal: Principal, op_id: str, username: str,
                            client: str) -> None:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_MEMBERS,
                                            client=client)
        user = await self._store.get_user_by_name(username)
        if user is None or not await self._store.remove_membership(op.id, user.id):
            raise NotFound("no such member")
        self.access.forget()
        await self._audit.record(actor=principal.username, action="membership.remove",
                                 target=user.username, outcome="ok", client=client,
                                 operation_id=op.id)
        await self._broker.publish(CONTROL_TOPIC, ControlEvent(user_id=user.id,
                                                               reason="membership"))
        if self.on_membership is not None:
            await self.on_membership(op.id, principal.username, client)

    # --- channels ------------------------------------------------------------------

    async def create_channel(self, principal: Principal, op_id: str, body: NewChannel,
                             client: str) -> Channel:
        op, _ = await self.access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                            client=client)
        name = body.name.strip().lower()
        asked = agencies(body.agencies)
        if op.agencies and set(asked) - set(op.agencies):
            raise BadRequest("'agencies' must take part in the operation")
        label = channel_label(self.access.policy, msgspec.to_builtins(body),
                              self.access.clearance(principal),
                              ceiling=self.access.operation_label(op), current=None,
                              agencies=None if body.agencies is msgspec.UNSET else asked,
                              taking_part=op.agencies)
        assert label is not None
        ch = Channel(id=ChannelId(new_id("ch")), operation_id=op.id, name=name,
                     topic=(body.topic or "").strip(),
                     agencies=tuple(sorted(label.values(REL_TO) or ())),
                     created_at=self._clock.now(), label=label.dumps(), exercise=body.exercise)
        await self._store.create_channel(ch)
        await self._audit.record(actor=principal.username, action="channel.create",
                                 target=ch.id, outcome="ok", client=client, operation_id=op.id,
                                 details={"name": name, "agencies": list(ch.agencies),
                                          "label": label.marking()})
        return ch

    async def update_channel(self, principal: Principal, ch_id: str, changes: ChannelChanges,
                             client: str) -> Channel:
        # One gate for missing and hidden channels: both answer 404, on every verb.
        ch, op, _ = await self.access.channel(principal, ch_id, Action.MANAGE_CHANNELS,
                                              client=client)
        fields: dict[str, object] = {}
        if changes.topic is not msgspec.UNSET:
            fields["topic"] = (changes.topic or "").strip()
        asked: tuple[str, ...] | None = None
        if changes.agencies is not msgspec.UNSET:
            asked = agencies(changes.agencies)
            if op.agencies and set(asked) - set(op.agencies):
                raise BadRequest("'agencies' must take part in the operation")
        if changes.exercise is not msgspec.UNSET:
            fields["exercise"] = changes.exercise
        before = self.access.channel_label(ch)
        label = channel_label(self.access.policy, msgspec.to_builtins(changes),
                              self.access.clearance(principal),
                              ceiling=self.access.operation_label(op), current=before,
                              agencies=asked, taking_part=op.agencies)
        if label is not None:
            fields["label"] = label.dumps()
            fields["agencies"] = tuple(sorted(label.values(REL_TO) or ()))
        await self._store.update_channel(ch.id, **fields)
        self.access.forget()
        await self._audit.record(actor=principal.username, action="channel.update",
                                 target=ch.id, outcome="ok", client=client, operation_id=op.id,
                                 details={"fields": sorted(fields)})
        if label is not None and label != before:
            await self._audit.record(actor=principal.username, action="channel.label",
                                     target=ch.id, outcome="ok", client=client,
                                     operation_id=op.id,
                                     details={"from": before.marking(), "to": label.marking()})
        # Who may read it changed: every node rechecks its subscribers; else every node
        # forgets what its access checks read of the channel.
        await self._broker.publish(CONTROL_TOPIC, ControlEvent(
            reason="membership" if "agencies" in fields else "access"))
        updated = await self._store.get_channel(ch.id)
        assert updated is not None
        return updated

    async def list_channels(self, principal: Principal, op_id: str,
                            client: str) -> list[Channel]:
        op, role = await self.access.operation(principal, op_id, Action.VIEW_OPERATION,
                                               client=client)
        return [ch for ch in await self._store.list_channels(op.id)
                if principal.is_admin or self.access.visible(principal, role, ch)]

    async def get_channel(self, principal: Principal, ch_id: str, client: str,
                          action: Action = Action.READ_CHANNEL) -> tuple[Channel, Role | None]:
        ch, _, role = await self.access.channel(principal, ch_id, action, client=client)
        return ch, role

    async def channel_members(self, principal: Principal, ch_id: str,
                              client: str) -> list[tuple[Membership, User]]:
        ch, _, _ = await self.access.channel(principal, ch_id, Action.READ_CHANNEL, client=client)
        return [(m, u) for m, u in await self._store.list_members(ch.operation_id)
                if not ch.agencies or u.agency in ch.agencies]

    async def operation_presence(self, principal: Principal, op_id: str,
                                 client: str) -> list[PresenceEntry]:
        """Who is online in the operation's channels the caller may see."""
        seen: dict[str, PresenceEntry] = {}
        for ch in await self.list_channels(principal, op_id, client):
            for entry in await self._presence.members(ch.id):
                seen.setdefault(entry.username, entry)
        return sorted(seen.values(), key=lambda e: e.username)

    # --- chat channels as feeds (hub.feeds.FeedSource) ------------------------------

    async def open_feed(self, principal: Principal, key: str, client: str) -> Feed:
        ch, _ = await self.get_channel(principal, key, client)
        return Feed(key=ch.id, operation_id=ch.operation_id, topic=ch.broker_topic, chat=True)

    async def feed_bounds(self, feed: Feed) -> tuple[int, int]:
        ch = await self._store.get_channel(ChannelId(feed.key))
        if ch is None:
            raise NotFound()
        return ch.first_seq, ch.last_seq

    async def read_feed(self, feed: Feed, after_seq: int, limit: int) -> list[FeedItem]:
        return list(await self._store.read_messages(ChannelId(feed.key), after_seq=after_seq,
                                                    limit=limit))

    async def typing(self, principal: Principal, ch_id: str, client: str) -> None:
        """Tell the channel the caller is typing (ephemeral, at most one per 2 s)."""
        ch, _, _ = await self.access.channel(principal, ch_id, Action.POST, client=client)
        if self._typing_limit.take(f"{principal.user_id}:{ch.id}") > 0:
            return
        user = principal.user
        await self._broker.publish(ch.broker_topic, TypingEvent(ch.id, user.username,
                                                         user.display_name, user.agency))
