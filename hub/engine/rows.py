"""What both engines share about stored rows: which fields may change, and how a
row becomes a model.

An engine reads its own storage (an SQLite row, a Redis hash or stream entry),
hands these functions a mapping of plain values (JSON columns already decoded)
and gets the model back, so the two engines differ only where storage differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.models import (
    AuditRecord,
    Channel,
    ChannelId,
    Message,
    Operation,
    OperationId,
    OpEvent,
    Session,
    User,
    UserId,
)

__all__ = ["CHANNEL_FIELDS", "OPERATION_FIELDS", "USER_FIELDS", "audit_record", "channel",
           "message", "op_event", "operation", "session", "user"]

Row = Mapping[str, Any]

#: The fields ``update_user`` / ``update_operation`` / ``update_channel`` may change.
USER_FIELDS = frozenset({"display_name", "agency", "is_admin", "disabled", "password_hash",
                         "totp_secret", "clearance", "lang"})
OPERATION_FIELDS = frozenset({"name", "status", "classification", "agencies", "exercise"})
CHANNEL_FIELDS = frozenset({"topic", "agencies", "label", "exercise"})


def _optional(d: Row, key: str) -> str:
    """A text field added after the first release: absent from older Redis hashes."""
    return str(d[key] or "") if key in d.keys() else ""  # sqlite3.Row: no 'in'


def _flag(d: Row, key: str) -> bool:
    """A flag added after the first release (absent: false)."""
    return bool(d[key]) if key in d.keys() else False  # sqlite3.Row: no 'in'


def user(d: Row) -> User:
    return User(UserId(d["id"]), d["username"], d["display_name"], d["agency"],
                bool(d["is_admin"]), bool(d["is_bot"]), bool(d["disabled"]),
                d["password_hash"], d["totp_secret"], d["created_at"],
                _optional(d, "clearance"), _optional(d, "lang"))


def session(d: Row) -> Session:
    scope = tuple(d["scope"]) if d["scope"] is not None else None
    return Session(d["id"], d["token_hash"], UserId(d["user_id"]), d["kind"], d["created_at"],
                   d["last_seen_at"], d["expires_at"], d["name"], scope, d["revoked_at"])


def operation(d: Row) -> Operation:
    return Operation(OperationId(d["id"]), d["code"], d["name"], d["status"],
                     d["classification"], tuple(d["agencies"]), d["created_at"],
                     _flag(d, "exercise"))


def channel(d: Row) -> Channel:
    return Channel(ChannelId(d["id"]), OperationId(d["operation_id"]), d["name"], d["topic"],
                   tuple(d["agencies"]), d["created_at"], int(d["last_seq"]),
                   int(d["first_seq"]), _optional(d, "label"), _flag(d, "exercise"))


def message(d: Row) -> Message:
    """An envelope's fields and the body (bytes, as stored) as a message."""
    return Message(ChannelId(d["channel_id"]), int(d["seq"]), d["id"], UserId(d["sender_id"]),
                   d["sender"], d["sender_name"], d["agency"], float(d["ts"]),
                   d["client_msg_id"], d["body_type"], bytes(d["body"]),
                   int(d["body_version"]), _optional(d, "label"), _flag(d, "real_world"))


def op_event(d: Row) -> OpEvent:
    return OpEvent(OperationId(d["operation_id"]), int(d["seq"]), d["kind"], d["action"],
                   d["record_id"], int(d["version"]), d["actor"], float(d["ts"]), d["data"])


def audit_record(d: Row) -> AuditRecord:
    return AuditRecord(int(d["seq"]), d["ts"], d["actor"], d["action"], d["target"],
                       d["outcome"], d["operation_id"], d["client"], d["details"],
                       d["prev_hash"], d["hash"])
