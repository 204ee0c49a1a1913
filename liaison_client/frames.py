"""The hub's frames as typed objects (docs/protocol.md). :func:`parse` reads one."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from liaison_client.chat import Message

__all__ = ["Ack", "CaseAck", "ErrorFrame", "Frame", "Message", "OpEvent", "Other", "Reset",
           "Subscribed", "Unsubscribed", "Welcome", "parse"]


@dataclass(frozen=True, slots=True)
class Welcome:
    connection_id: str
    user: dict[str, Any]
    format: str
    limits: dict[str, Any]
    server_time: float
    node: str = ""
    protocol: int = 1
    session_expires_at: float | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    channel: str
    since_seq: int
    head_seq: int | None  # unknown after retention
    first_seq: int
    ref: str | None = None
    operation: str | None = None


@dataclass(frozen=True, slots=True)
class OpEvent:
    feed: str
    seq: int
    kind: str
    action: str
    id: str
    version: int
    actor: str
    ts: float
    record: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # changes, notice, comment...


@dataclass(frozen=True, slots=True)
class Ack:
    channel: str
    client_msg_id: str
    seq: int
    id: str
    ts: float
    duplicate: bool
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class CaseAck:
    operation: str
    id: str
    action: str
    version: int
    event_seq: int
    duplicate: bool
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Reset:
    channel: str
    reason: str
    first_seq: int
    head_seq: int | None  # unknown after retention


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    channel: str
    reason: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    code: str
    reason: str
    retryable: bool
    ref: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Other:
    """Any other frame (presence, typing, pong, board...), as it came."""

    type: str
    data: dict[str, Any]


Frame = (Welcome | Subscribed | Message | OpEvent | Ack | CaseAck | Reset | Unsubscribed
         | ErrorFrame | Other)
_OP_FIELDS = {"type", "feed", "seq", "kind", "action", "id", "version", "actor", "ts", "record"}


#: What a ``message`` frame may carry (liaison_client/chat.py, generated from the hub's
#: declarations); a field of a newer hub is left out, never an error.
_MESSAGE_FIELDS = frozenset(f.name for f in fields(Message))


def parse(d: dict[str, Any]) -> Frame:
    """One frame from the hub as its typed object (unknown types as :class:`Other`)."""
    kind = d.get("type")
    if kind == "message":
        return Message(**{k: v for k, v in d.items() if k in _MESSAGE_FIELDS})
    if kind == "op_event":
        return OpEvent(d["feed"], d["seq"], d["kind"], d["action"], d["id"], d["version"],
                       d["actor"], d["ts"], d.get("record"),
                       {k: v for k, v in d.items() if k not in _OP_FIELDS})
    if kind == "ack":
        return Ack(d["channel"], d["client_msg_id"], d["seq"], d["id"], d["ts"],
                   bool(d.get("duplicate")), d.get("ref"))
    if kind == "case_ack":
        return CaseAck(d["operation"], d["id"], d["action"], d["version"], d["event_seq"],
                       bool(d.get("duplicate")), d.get("ref"))
    if kind == "subscribed":
        return Subscribed(d["channel"], d["since_seq"], d["head_seq"], d["first_seq"],
                          d.get("ref"), d.get("operation"))
    if kind == "welcome":
        return Welcome(d["connection_id"], d["user"], d["format"], d.get("limits", {}),
                       d["server_time"], d.get("node", ""), d.get("protocol", 1),
                       d.get("session_expires_at"), d.get("ref"))
    if kind == "reset":
        return Reset(d["channel"], d["reason"], d["first_seq"], d.get("head_seq"))
    if kind == "unsubscribed":
        return Unsubscribed(d["channel"], d["reason"], d.get("ref"))
    if kind == "error":
        return ErrorFrame(d["code"], d.get("reason", ""), bool(d.get("retryable")),
                          d.get("ref"), d.get("retry_after"))
    return Other(str(kind), d)
