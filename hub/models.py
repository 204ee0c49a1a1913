"""Records the engine stores and the events its broker carries.

Plain frozen dataclasses with no behaviour beyond conversion to wire dicts; this
module imports only the project's pure helpers (labels, bodies).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from hub.bodies import fields
from hub.labels import stored_view

__all__ = [
    "CONTROL_TOPIC",
    "HUB_SENDER",
    "AuditRecord",
    "Channel",
    "ChannelId",
    "ControlEvent",
    "Event",
    "Membership",
    "Message",
    "MessageEvent",
    "OpEvent",
    "OpEventPosted",
    "Operation",
    "OperationId",
    "PresenceEvent",
    "RedactedEvent",
    "ResyncEvent",
    "Role",
    "Session",
    "TranslatedEvent",
    "TypingEvent",
    "User",
    "UserId",
    "channel_topic",
    "new_id",
    "ops_topic",
]

UserId = NewType("UserId", str)
OperationId = NewType("OperationId", str)
ChannelId = NewType("ChannelId", str)


#: Broker topic for revocations and membership changes.
CONTROL_TOPIC = "control"


def new_id(prefix: str) -> str:
    """A short random identifier (72 bits) such as ``ch_Zk3...``."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


class Role(StrEnum):
    COORDINATOR = "coordinator"
    MEMBER = "member"
    OBSERVER = "observer"


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    username: str
    display_name: str
    agency: str
    is_admin: bool = False
    is_bot: bool = False
    disabled: bool = False
    password_hash: str = field(default="", repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    created_at: float = 0.0
    #: The user's clearance as stored: a label's JSON ({"level", "categories"}); empty
    #: is the policy's lowest level (hub.labels reads it).
    clearance: str = ""
    #: The language the person reads in (ISO 639: "es"); empty: their device's.
    lang: str = ""

    def public(self) -> dict[str, object]:
        return {"id": self.id, "username": self.username, "display_name": self.display_name,
                "agency": self.agency, "is_admin": self.is_admin, "is_bot": self.is_bot,
                "disabled": self.disabled, "totp_enabled": self.totp_secret is not None,
                "lang": self.lang or None}


@dataclass(frozen=True, slots=True)
class Session:
    """A login session or an API token; only the SHA-256 of the secret is stored."""

    id: str  # public identifier, safe to log and show
    token_hash: str = field(repr=False)
    user_id: UserId
    kind: str  # "session" | "token"
    created_at: float
    last_seen_at: float
    expires_at: float | None  # absolute expiry; None = no absolute expiry (tokens)
    name: str = ""
    scope: tuple[OperationId, ...] | None = None  # tokens: operations they may touch
    revoked_at: float | None = None

    def public(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "user_id": self.user_id,
                "scope": list(self.scope) if self.scope is not None else None,
                "created_at": self.created_at, "expires_at": self.expires_at,
                "revoked": self.revoked_at is not None}


@dataclass(frozen=True, slots=True)
class Operation:
    id: OperationId
    code: str
    name: str
    status: str  # "planned" | "active" | "closed"
    classification: str
    agencies: tuple[str, ...]
    created_at: float
    #: The whole operation is an exercise: what happens in it is play unless marked real.
    exercise: bool = False

    def public(self) -> dict[str, object]:
        return {"id": self.id, "code": self.code, "name": self.name, "status": self.status,
                "classification": stored_view(self.classification)[1],
                "agencies": list(self.agencies), "exercise": self.exercise,
                "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class Membership:
    operation_id: OperationId
    user_id: UserId
    role: Role


@dataclass(frozen=True, slots=True)
class Channel:
    id: ChannelId
    operation_id: OperationId
    name: str
    topic: str
    #: Agencies allowed to see the channel; empty means every agency of the operation.
    agencies: tuple[str, ...]
    created_at: float
    last_seq: int = 0
    first_seq: int = 1  # oldest seq still retained
    #: The channel's confidentiality label as stored (a label's JSON); empty: the
    #: operation's. Its "REL TO" values are ``agencies``, kept in step on every write.
    label: str = ""
    #: An exercise channel (play), in an operation that may be real.
    exercise: bool = False

    @property
    def broker_topic(self) -> str:
        """Broker topic, derived server-side from the operation and channel ids."""
        return channel_topic(self.operation_id, self.id)

    def public(self) -> dict[str, object]:
        return {"id": self.id, "operation_id": self.operation_id, "name": self.name,
                "topic": self.topic, "agencies": list(self.agencies),
                "restricted": bool(self.agencies), "last_seq": self.last_seq,
                "first_seq": self.first_seq, "created_at": self.created_at,
                "exercise": self.exercise}


#: The sender of the messages the hub posts itself (alert notices). Their
#: client_msg_id says what they are about (an alert notice's is
#: ``<alert id>:<step>:<reminder>``), so their frames carry it.
HUB_SENDER = UserId("hub")

#: An acknowledgement of an urgent message is a message of its own, whose
#: client_msg_id is ``ack:<seq>``: one per person and message, retries included.
ACK_PREFIX = "ack:"


def ack_client_msg_id(seq: int) -> str:
    return f"{ACK_PREFIX}{seq}"


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a channel: the envelope the core stores, orders, replicates and
    delivers, around the body its feature declared (opaque here: msgpack bytes with
    their type and schema version, see :mod:`hub.bodies`)."""

    channel_id: ChannelId
    seq: int
    id: str
    sender_id: UserId
    sender: str  # username at send time
    sender_name: str  # display name at send time
    agency: str
    ts: float
    client_msg_id: str
    body_type: str
    body: bytes
    body_version: int = 1
    #: The message's own confidentiality label as stored (a label's JSON), when it is
    #: narrower than its channel's; empty: the channel's (the common case).
    label_json: str = ""
    #: A real event reported in an exercise channel or operation: marked REAL WORLD.
    real_world: bool = False

    @property
    def feed_key(self) -> str:
        return self.channel_id

    @property
    def label(self) -> object:
        """Its own label (a dict), or None when it has its channel's: a reader the
        channel admits but this label does not is not sent it (hub.gateway)."""
        return json.loads(self.label_json) if self.label_json else None

    def frame(self) -> dict[str, object]:
        """The ``message`` frame: the body's fields beside the envelope's (which win)."""
        frame: dict[str, object] = {"type": "message", **fields(self.body),
                                    "channel": self.channel_id, "seq": self.seq, "id": self.id,
                                    "sender": self.sender, "sender_name": self.sender_name,
                                    "agency": self.agency, "ts": self.ts}
        if self.label_json:
            frame["label"] = self.label
        if self.real_world:
            frame["real_world"] = True
        if self.client_msg_id.startswith(ACK_PREFIX):
            frame["ack_of"] = int(self.client_msg_id[len(ACK_PREFIX):])
        elif self.sender_id == HUB_SENDER:
            frame["client_msg_id"] = self.client_msg_id  # what the notice is about
        return frame


@dataclass(frozen=True, slots=True)
class OpEvent:
    """One change to an operation's shared record (a case, an alert...), in order.

    Every operation has one event log; ``seq`` is gap-free within it, like a
    channel's message seq, and clients subscribe to it as feed ``ops:<op id>``.
    """

    operation_id: OperationId
    seq: int
    kind: str  # "case", "alert", ...
    action: str  # "created", "updated", "commented", ...
    record_id: str
    version: int  # the record's version after this change
    actor: str
    ts: float
    data: dict[str, object]  # {"record": {...}, "changes": {...}, ...}

    @property
    def feed_key(self) -> str:
        return f"ops:{self.operation_id}"

    @property
    def label(self) -> object:
        """The confidentiality label of the record this event carries (None if none):
        a subscriber below it is not sent the event (hub.gateway)."""
        record = self.data.get("record")
        return record.get("label") if isinstance(record, dict) else None

    def frame(self) -> dict[str, object]:
        return {"type": "op_event", "feed": self.feed_key, "seq": self.seq,
                "kind": self.kind, "action": self.action, "id": self.record_id,
                "version": self.version, "actor": self.actor, "ts": self.ts, **self.data}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    ts: float
    actor: str
    action: str
    target: str
    outcome: str
    operation_id: str
    client: str
    details: dict[str, object]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, object]:
        return {"seq": self.seq, "ts": self.ts, "actor": self.actor, "action": self.action,
                "target": self.target, "outcome": self.outcome,
                "operation_id": self.operation_id, "client": self.client,
                "details": self.details, "prev_hash": self.prev_hash, "hash": self.hash}


# --- Broker events -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageEvent:
    message: Message
    published_at: float  # monotonic-free wall clock; for the fan-out latency metric


@dataclass(frozen=True, slots=True)
class OpEventPosted:
    event: OpEvent
    published_at: float


@dataclass(frozen=True, slots=True)
class TypingEvent:
    channel_id: ChannelId
    user: str
    display_name: str
    agency: str


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    channel_id: ChannelId


@dataclass(frozen=True, slots=True)
class RedactedEvent:
    """Message ``seq`` of a channel was redacted: its readers' screens drop it now (the
    store already holds the redacted body for every later read)."""

    channel_id: ChannelId
    seq: int
    label_json: str  # the message's own label ("" if none), for who may hear of it
    by: str
    at: float


@dataclass(frozen=True, slots=True)
class TranslatedEvent:
    """Message ``seq`` of a channel now reads in ``lang`` too: its readers in that
    language get the translation (``note``: the stored translation's opaque body).

    With ``case``: that case of an operation reads in ``lang`` at version ``seq``, told
    to the readers of the operation's feed (``channel_id``: its key, ``ops:<id>``). With
    ``alert``: that alert's texts read in ``lang`` (the note names the texts it
    translates; ``seq`` is 0), told there too."""

    channel_id: ChannelId
    seq: int
    lang: str
    label_json: str  # the item's own label ("" if none), for who may hear of it
    note: bytes
    case: str = ""
    alert: str = ""


@dataclass(frozen=True, slots=True)
class ControlEvent:
    """Tells every node to close sockets of a revoked session or user."""

    session_id: str | None = None
    user_id: UserId | None = None
    reason: str = "revoked"


@dataclass(frozen=True, slots=True)
class ResyncEvent:
    """The broker may have missed events (it reconnected): fill every gap from the store."""


Event = (MessageEvent | OpEventPosted | TypingEvent | PresenceEvent | RedactedEvent
         | TranslatedEvent | ControlEvent | ResyncEvent)


def channel_topic(operation_id: str, channel_id: str) -> str:
    """Broker topic of a chat channel."""
    return f"ch:{operation_id}:{channel_id}"


def ops_topic(operation_id: str) -> str:
    """Broker topic of an operation's event log."""
    return f"ops:{operation_id}"
