"""Outgoing webhooks as coordinators manage them: subscribe, list, disable, the log.

A subscription is a record of the operation (kind ``outgoing_webhook``); its
signing secret is shown once, at creation, kept in the record (the hub must
sign with it) and never returned, logged or put in a log event. It takes the
events of the operation from the moment it is made: the record remembers the
operation log's head and each chosen channel's last message then. The
deliveries themselves are made by :mod:`alerting.interop.outgoing_dispatcher`.

A delivery links the files of its message or case (:func:`outgoing.file_link`):
:meth:`OutgoingWebhooks.link_reader` checks such a link and names who reads the
file through it (the subscription's creator), or answers NotFound for any link
that is not the hub's, has expired, or belongs to a subscription no longer active.
"""

from __future__ import annotations

import hmac

import msgspec

from alerting.config_bodies import NewSubscription
from alerting.documents import DeliveryDoc, DeliveryView, SubscriptionDoc, SubscriptionView
from alerting.interop.outgoing import (
    LinkedFile,
    check_subscription,
    link_signature,
    linked_file,
    new_secret,
)
from alerting.interop.outgoing_sender import Refused, Sender
from alerting.kinds import SUBSCRIPTION, delivery_key, log_key
from channels.access import Access
from channels.permissions import Action
from hub.auditor import Auditor
from hub.clock import Clock
from hub.engine.port import RecordWrite, Store
from hub.errors import BadRequest, NotFound
from hub.models import ChannelId, OperationId, Role, new_id
from hub.principal import Principal

__all__ = ["OutgoingWebhooks", "public"]

LOG_PAGE = 100


def public(doc: SubscriptionDoc) -> SubscriptionView:
    """A subscription as its managers see it: never its secret."""
    return {"id": doc["id"], "url": doc["url"], "name": doc["name"], "events": doc["events"],
            "channels": doc["channels"], "format": doc["format"],
            "lang": doc.get("lang", "en"), "state": doc["state"],
            "disabled_reason": doc["disabled_reason"], "created_by": doc["created_by"],
            "created_at": doc["created_at"], "since_seq": doc["since_seq"],
            "since_channels": doc["since_channels"]}


class OutgoingWebhooks:
    def __init__(self, *, store: Store, clock: Clock, auditor: Auditor, access: Access,
                 sender: Sender) -> None:
        self._store = store
        self._clock = clock
        self._audit = auditor
        self._access = access
        self._sender = sender

    async def create(self, principal: Principal, op_id: str, data: NewSubscription,
                     client: str) -> tuple[SubscriptionView, str]:
        """A new subscription and its signing secret (shown this once)."""
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)
        settings = check_subscription(msgspec.to_builtins(data))
        since_channels: dict[str, int] = {}
        for ch_id in settings["channels"]:
            ch, _, _ = await self._access.channel(principal, ch_id, Action.MANAGE_CHANNELS,
                                                  client=client)
            if ch.operation_id != op.id:
                raise BadRequest("'channels' must be channels of this operation")
            since_channels[ch.id] = ch.last_seq
        try:
            await self._sender.check(settings["url"])
        except Refused as exc:
            raise BadRequest(f"'url': {exc}") from None
        _, head = await self._store.op_event_bounds(op.id)
        secret = new_secret()
        now = self._clock.now()
        doc: SubscriptionDoc = {**settings, "id": new_id("wh"), "secret": secret, "state": "active",
               "disabled_reason": None, "created_by": principal.username, "created_at": now,
               "since_seq": head, "since_channels": since_channels}
        await self._store.write_record(RecordWrite(
            op.id, SUBSCRIPTION, doc["id"], doc, None, "created", principal.username,
            now, {}, private=True))
        await self._audit.record(actor=principal.username, action="outgoing_webhook.create",
                                 target=doc["id"], outcome="ok", client=client,
                                 operation_id=op.id,
                                 details={"url": settings["url"], "events": settings["events"]})
        return public(doc), secret

    async def _visible(self, principal: Principal, role: Role | None,
                       doc: SubscriptionDoc) -> bool:
        """A subscription is seen by those who see every channel whose messages it sends."""
        for ch_id in doc["channels"]:
            ch = await self._store.get_channel(ChannelId(ch_id))
            if ch is None or not self._access.visible(principal, role, ch):
                return False
        return True

    async def list_subscriptions(self, principal: Principal, op_id: str,
                                 client: str) -> list[SubscriptionView]:
        op, role = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                                client=client)
        out = [public(doc) for doc, _ in await self._store.list_records(op.id, SUBSCRIPTION)
               if await self._visible(principal, role, doc)]
        return sorted(out, key=lambda d: d["created_at"])

    async def _mine(self, principal: Principal, op_id: str, sub_id: str,
                    client: str) -> tuple[OperationId, SubscriptionDoc, int]:
        op, role = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                                client=client)
        found = await self._store.get_record(op.id, SUBSCRIPTION, sub_id[:64])
        if found is None or not await self._visible(principal, role, found[0]):
            raise NotFound()
        return op.id, found[0], found[1]

    async def link_reader(self, op_id: str, sub_id: str, ref: str, expires: int,
                          sig: str) -> tuple[Principal, LinkedFile]:
        """Who reads the file a delivery's link names, and which file; NotFound for any
        link the hub did not sign, past ``expires``, or of a subscription not active."""
        target = linked_file(ref)
        found = await self._store.get_record(OperationId(op_id[:64]), SUBSCRIPTION,
                                             sub_id[:64]) if target else None
        if target is None or found is None or found[0]["state"] != "active" \
                or expires < self._clock.now() or not hmac.compare_digest(
                    sig.encode(), link_signature(found[0]["secret"], op_id, sub_id, ref,
                                                 expires).encode()):
            raise NotFound()
        user = await self._store.get_user_by_name(found[0]["created_by"])
        if user is None or user.disabled:
            raise NotFound()
        return Principal(user, "", "session", None, None), target

    async def disable(self, principal: Principal, op_id: str, sub_id: str,
                      client: str) -> SubscriptionView:
        op, doc, version = await self._mine(principal, op_id, sub_id, client)
        if doc["state"] != "disabled":
            doc = {**doc, "state": "disabled",
                   "disabled_reason": f"disabled by {principal.username}"}
            await self._store.write_record(RecordWrite(
                op, SUBSCRIPTION, sub_id, doc, version, "disabled", principal.username,
                self._clock.now(), {}, private=True))
            await self._audit.record(actor=principal.username,
                                     action="outgoing_webhook.disable", target=sub_id,
                                     outcome="ok", client=client, operation_id=op)
        return public(doc)

    async def deliveries(self, principal: Principal, op_id: str, sub_id: str,
                         client: str) -> list[DeliveryView]:
        """The subscription's delivery log, newest first (without the bodies)."""
        op, _, _ = await self._mine(principal, op_id, sub_id, client)
        index = await self._store.get_state(op, log_key(sub_id))
        out: list[DeliveryView] = []
        for delivery_id in reversed(index["ids"][-LOG_PAGE:] if index else []):
            doc = await self._store.get_state(op, delivery_key(delivery_id))
            if doc is not None:
                out.append(_without_payload(doc))
        return out


def _without_payload(doc: DeliveryDoc) -> DeliveryView:
    return {"id": doc["id"], "subscription_id": doc["subscription_id"], "event": doc["event"],
            "ts": doc["ts"], "state": doc["state"], "attempts": doc["attempts"],
            "created_at": doc["created_at"], "next_at": doc["next_at"],
            "last_status": doc["last_status"], "last_error": doc["last_error"],
            "delivered_at": doc["delivered_at"], "log": doc["log"]}
