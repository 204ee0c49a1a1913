"""Incoming webhooks: scripts written for Slack or Mattermost post into one channel.

A coordinator creates a webhook bound to one channel of their operation; the
answer carries its URL, ``/hooks/<operation>/<webhook>/<secret>``, once. The
secret is a separate credential: it can post to that channel and do nothing
else, it is stored only as its SHA-256 (it is 256 random bits, so a slow hash
adds nothing), compared in constant time, never logged or audited, and
revoking the webhook ends it. Webhooks are records of the operation (kind
``webhook``), so both engines keep them and their changes are versioned; the
log event of a change carries no part of the record (a private write).

A post is rendered by :mod:`channels.slack` and stored as one or more messages
from the webhook itself (sender ``hook:<id>``, agency ``WEBHOOK``, display name
"<name given by the script> via <webhook>"): a script can say who it is, never
pass for a member. With an ``Idempotency-Key`` a retried post is stored once.
Each webhook has its own rate limit, held across every hub process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import NotRequired, TypedDict

from channels.access import Access
from channels.admin_bodies import NewIncomingWebhook
from channels.bodies import CHAT, ChatBody
from channels.permissions import Action
from channels.slack import render, split_text
from channels.slack_bodies import SlackPayload
from hub.auditor import Auditor
from hub.bodies import convert, encode
from hub.clock import Clock
from hub.config import Settings
from hub.documents import RecordKind
from hub.engine.port import Limits, NewMessage, RecordWrite, Store
from hub.errors import BadRequest, ErrorCode, Forbidden, LimitExceeded, NotFound
from hub.models import Channel, ChannelId, Message, OperationId, UserId, new_id
from hub.openapi import nullable, number, obj, string
from hub.principal import Principal
from hub.refusals import RefusalLog

__all__ = ["KIND", "SCHEMAS", "SENDER_AGENCY", "IncomingWebhooks", "hook_path"]



class HookDoc(TypedDict):
    """An incoming webhook as kept: the hash of its secret, never the secret."""

    id: str
    name: str
    channel_id: str
    secret_sha256: str
    created_by: str
    created_at: float
    revoked_at: float | None
    revoked_by: str | None


class HookView(TypedDict):
    """An incoming webhook as its managers see it (``path`` only when just created)."""

    id: str
    name: str
    channel_id: str
    created_by: str
    created_at: float
    revoked_at: float | None
    revoked_by: str | None
    path: NotRequired[str]


KIND: RecordKind[HookDoc] = RecordKind("webhook")
#: The REST answers about incoming webhooks, for the OpenAPI document.
SCHEMAS = {"IncomingWebhook": obj(
    {"id": string(), "name": string(), "channel_id": string(), "created_by": string(),
     "created_at": number(), "revoked_at": nullable(number()),
     "revoked_by": nullable(string()), "path": string(), "url": string(),
     "secret": string()}, "id", "name", "channel_id")}
SENDER_AGENCY = "WEBHOOK"
_MAX_KEY = 200


def hook_path(op_id: str, hook_id: str, secret: str) -> str:
    return f"/hooks/{op_id}/{hook_id}/{secret}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def public(doc: HookDoc) -> HookView:
    """A webhook as its managers see it: never the secret or its hash."""
    return {"id": doc["id"], "name": doc["name"], "channel_id": doc["channel_id"],
            "created_by": doc["created_by"], "created_at": doc["created_at"],
            "revoked_at": doc["revoked_at"], "revoked_by": doc["revoked_by"]}


class IncomingWebhooks:
    def __init__(self, *, settings: Settings, store: Store, clock: Clock, auditor: Auditor,
                 access: Access, limits: Limits, refusals: RefusalLog) -> None:
        self._settings = settings
        self._refusals = refusals
        self._store = store
        self._clock = clock
        self._audit = auditor
        self._access = access
        self._limits = limits

    # --- managing (coordinators) --------------------------------------------------

    async def create(self, principal: Principal, op_id: str, body: NewIncomingWebhook,
                     client: str) -> tuple[HookView, str]:
        """A new webhook and its secret (shown this once)."""
        name, channel = body.name, body.channel
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)
        ch, _, _ = await self._access.channel(principal, channel, Action.MANAGE_CHANNELS,
                                              client=client)
        if ch.operation_id != op.id:
            raise BadRequest("'channel' must be the id of a channel of the operation")
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        doc: HookDoc = {"id": new_id("hook"), "name": name.strip(), "channel_id": ch.id,
               "secret_sha256": _digest(secret), "created_by": principal.username,
               "created_at": now, "revoked_at": None, "revoked_by": None}
        await self._store.write_record(RecordWrite(
            operation_id=op.id, kind=KIND, record_id=doc["id"], doc=doc,
            expected_version=None, action="created", actor=principal.username, ts=now,
            extra={}, private=True))
        await self._audit.record(actor=principal.username, action="webhook.create",
                                 target=str(doc["id"]), outcome="ok", client=client,
                                 operation_id=op.id,
                                 details={"channel": ch.id, "name": doc["name"]})
        return {**public(doc), "path": hook_path(op.id, doc["id"], secret)}, secret

    async def list_hooks(self, principal: Principal, op_id: str,
                         client: str) -> list[HookView]:
        op, role = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                                client=client)
        visible = {ch.id for ch in await self._store.list_channels(op.id)
                   if self._access.visible(principal, role, ch)}
        docs = [doc for doc, _ in await self._store.list_records(op.id, KIND)
                if doc["channel_id"] in visible]
        return [public(doc) for doc in sorted(docs, key=lambda d: d["created_at"])]

    async def revoke(self, principal: Principal, op_id: str, hook_id: str,
                     client: str) -> HookView:
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)
        found = await self._store.get_record(op.id, KIND, hook_id[:64])
        if found is None:
            raise NotFound()
        doc, version = found
        await self._access.channel(principal, doc["channel_id"],
                                   Action.MANAGE_CHANNELS, client=client)
        if doc["revoked_at"] is None:
            now = self._clock.now()
            doc = {**doc, "revoked_at": now, "revoked_by": principal.username}
            await self._store.write_record(RecordWrite(
                operation_id=op.id, kind=KIND, record_id=hook_id, doc=doc,
                expected_version=version, action="revoked", actor=principal.username, ts=now,
                extra={}, private=True))
            await self._audit.record(actor=principal.username, action="webhook.revoke",
                                     target=hook_id, outcome="ok", client=client,
                                     operation_id=op.id)
        return public(doc)

    # --- posting (scripts, with the secret) --------------------------------------------

    async def post(self, op_id: str, hook_id: str, secret: str, payload: Mapping[str, object],
                   *, idempotency_key: str | None, client: str) -> list[Message]:
        """Store what the payload says in the webhook's channel; the messages stored."""
        doc = await self._authenticate(op_id, hook_id, secret, client)
        if idempotency_key is not None and not (
                0 < len(idempotency_key) <= _MAX_KEY and idempotency_key.isprintable()):
            raise BadRequest(f"'Idempotency-Key' must be 1 to {_MAX_KEY} printable characters")
        post = render(convert(payload, SlackPayload))
        parts = split_text(post.text, self._settings.max_text_chars)
        for _ in parts:  # the rate limit counts messages stored, not requests
            wait = await self._limits.take(f"hook:{doc['id']}",
                                           self._settings.webhook_post_rate,
                                           self._settings.webhook_post_burst, self._clock.now())
            if wait > 0:
                raise LimitExceeded("this webhook posts too fast", code=ErrorCode.RATE_LIMITED,
                                    retry_after=round(wait, 3))
        op = await self._store.get_operation(OperationId(op_id))
        ch = await self._store.get_channel(ChannelId(doc["channel_id"]))
        if op is None or ch is None:
            raise NotFound()
        if op.status == "closed":
            raise Forbidden("the operation is closed: nobody posts in it")
        if not await self._creator_may_post(doc, ch):
            await self._audit.record(actor="webhook", action="webhook.refused",
                                     target=doc["id"], outcome="creator_left",
                                     client=client, operation_id=op.id)
            raise NotFound()  # to the script, like a revoked webhook
        name = doc["name"]
        shown = f"{post.username} via {name}" if post.username and post.username != name \
            else name
        key = hashlib.sha256(f"{doc['id']}\n{idempotency_key}".encode()).hexdigest()[:32] \
            if idempotency_key is not None else secrets.token_hex(16)
        stored = []
        for i, text in enumerate(parts):
            new = NewMessage(channel_id=ch.id, id=new_id("msg"),
                             sender_id=UserId(f"hook:{doc['id']}"), sender=f"hook:{doc['id']}",
                             sender_name=shown[:200], agency=SENDER_AGENCY,
                             ts=self._clock.now(), client_msg_id=f"hook:{key}:{i}",
                             body_type=CHAT, body=encode(ChatBody(text=text,
                                                                  priority=post.priority)),
                             body_version=ChatBody.VERSION)
            message, _ = await self._store.append_message(
                new, retain=self._settings.retention_messages)
            stored.append(message)
        return stored

    async def _creator_may_post(self, doc: HookDoc, ch: Channel) -> bool:
        """A webhook posts for its creator: only while they may still manage the channel
        (a member with that role, not disabled, cleared for it)."""
        user = await self._store.get_user_by_name(doc["created_by"])
        if user is None or user.disabled:
            return False
        who = Principal(user, "", "session", None, None)
        role = await self._access.role(who, ch.operation_id)
        return self._access.allows(who, role, ch, Action.MANAGE_CHANNELS)

    async def _authenticate(self, op_id: str, hook_id: str, secret: str,
                            client: str) -> HookDoc:
        found = await self._store.get_record(OperationId(op_id[:64]), KIND, hook_id[:64]) \
            if op_id and hook_id else None
        doc = found[0] if found else None
        good = doc is not None and hmac.compare_digest(
            doc["secret_sha256"], _digest(secret[:256]))
        if doc is None or not good or doc["revoked_at"] is not None:
            outcome = "unknown" if doc is None else "bad_secret" if not good else "revoked"
            await self._refusals.refused("hook", actor="webhook", action="webhook.refused",
                                         target=hook_id[:64], outcome=outcome, client=client,
                                         operation_id=op_id[:64])
            raise NotFound()
        return doc
