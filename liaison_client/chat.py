"""The chat declarations of the hub (generated from channels/bodies.py: do not edit;
`python -m channels.sdk > liaison_client/chat.py` writes it again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["BODY_FIELDS", "PUBLISH_FIELDS", "PUBLISH_OPTIONS", "Message"]

#: What a chat message says (its body), as the hub declares it.
BODY_FIELDS = ("text", "priority", "reply_to", "lang")
#: What a publish may say of the message besides its body.
PUBLISH_OPTIONS = ("label", "ack", "real_world", "attach")
#: Every field of the publish frame.
PUBLISH_FIELDS = ("ack", "ack_of", "attach", "channel", "client_msg_id", "label", "lang",
                  "priority", "real_world", "ref", "reply_to", "text")


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A chat message: its envelope, then what it says."""

    channel: str
    seq: int
    id: str
    sender: str
    sender_name: str
    agency: str
    ts: float
    files: list[Any] | None = None
    redacted: dict[str, Any] | None = None
    text: str = ""
    priority: str = "normal"
    reply_to: int | None = None
    lang: str | None = None
    ack_of: int | None = None  # the urgent message's seq, on an acknowledgement
    client_msg_id: str | None = None  # what a notice of the hub's is about
    label: dict[str, Any] | None = None  # its own label, when narrower
    real_world: bool = False  # a real event inside an exercise

    @property
    def feed(self) -> str:
        return self.channel
