"""What a chat message says, and the frame and REST body that send one. Pure, no I/O.

The core carries a message as an envelope around this feature's body (see
:mod:`hub.bodies`): :class:`ChatFields` is declared once and shared by the stored
:class:`ChatBody`, the WebSocket :class:`PublishFrame` and the REST :class:`PostMessage`,
so a field added here is stored, delivered, replayed, validated and documented
(OpenAPI, the SDK's generated frames) without another edit on the server.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from hub.bodies import NOT_BLANK, Body, Frame, Ref, Reply, decode, schema
from hub.boundary import MAX_INT
from hub.labels import LABEL_SCHEMA_MARK
from hub.language.codes import LANG_PATTERN
from hub.models import ACK_PREFIX, Message

__all__ = ["CHAT", "MAX_FILES", "REDACTED_TEXT", "AckReply", "ChatBody", "ChatFields", "FileRef",
           "LabelObject", "PostMessage", "Priority", "PublishFrame", "RedactMessage",
           "Redaction", "ReviewTranslation", "TranslationNote", "TypingFrame", "body_of",
           "chat_body", "message_schema"]

#: The chat body's type name, as stored with every message.
CHAT = "chat"

Id = Annotated[str, msgspec.Meta(max_length=64)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_INT)]
Name = Annotated[str, msgspec.Meta(max_length=64)]
#: What a message says: at least one character that is not blank.
Text = Annotated[str, msgspec.Meta(pattern=NOT_BLANK)]
#: Upload ids (``POST /api/uploads``) a publish attaches.
Attach = Annotated[list[Id], msgspec.Meta(max_length=10)]


class LabelObject(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A label given as ``{"level", "categories": {name: [values]}}``."""

    level: Name
    categories: dict[Name, list[Name]] = msgspec.field(default_factory=dict)


#: A level name or a :class:`LabelObject`, checked by the service against the policy
#: (the OpenAPI document states the deployment's levels and categories in its place).
LabelInput = Annotated[Name | LabelObject,
                       msgspec.Meta(extra_json_schema={LABEL_SCHEMA_MARK: True})]


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ChatFields(msgspec.Struct, kw_only=True, frozen=True):
    """The fields of a chat message's body (shared by what stores and what sends it)."""

    text: Annotated[Text, msgspec.Meta(description="What it says; never blank.")] = ""
    priority: Annotated[Priority, msgspec.Meta(
        description="normal, high, or urgent (asks for acknowledgement).")] = Priority.NORMAL
    reply_to: Annotated[Seq, msgspec.Meta(
        description="A threaded reply: the seq of the message of this channel it answers."
    )] | msgspec.UnsetType = msgspec.UNSET
    lang: Annotated[str, msgspec.Meta(pattern=LANG_PATTERN, description=(
        "The language the text is in (ISO 639: 'en', 'es'); else the operation's default."
    ))] | msgspec.UnsetType = msgspec.UNSET


Digest = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
#: Files one message may carry.
MAX_FILES = 10


class FileRef(msgspec.Struct, kw_only=True, frozen=True):
    """A file a message carries: what the hub made of a finished upload (channels/uploads.py).
    Its bytes are read at ``/api/channels/{ch}/messages/{seq}/files/{index}``."""

    upload: Id
    name: Annotated[str, msgspec.Meta(max_length=200)]
    #: Decided by the hub from the bytes (an image re-encoded: image/jpeg, png or webp).
    type: Name
    size: Annotated[int, msgspec.Meta(ge=0)]
    sha256: Digest
    width: int | None = None
    height: int | None = None
    #: An image's preview (<= 100 KB) and thumbnail (<= 15 KB), by digest.
    preview: Digest | None = None
    thumbnail: Digest | None = None


class Redaction(msgspec.Struct, kw_only=True, frozen=True):
    """Who redacted a message, and when (the reason is in the audit trail only)."""

    by: Name
    at: float


#: What a redacted message says in place of its text (clients show ``redacted``).
REDACTED_TEXT = "[redacted]"


class ChatBody(Body, ChatFields, frozen=True):
    """A chat message's body as stored and carried."""

    BODY_TYPE: ClassVar[str] = CHAT

    files: Annotated[list[FileRef], msgspec.Meta(
        max_length=MAX_FILES, description="The files the message carries.")] | \
        msgspec.UnsetType = msgspec.UNSET
    redacted: Annotated[Redaction, msgspec.Meta(
        description="Set once the message was redacted: its text and files are gone."
    )] | msgspec.UnsetType = msgspec.UNSET


class RedactMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/channels/{id}/messages/{seq}/redact``."""

    #: Why (kept in the audit trail, never in the message).
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NOT_BLANK)]


def chat_body(message: Message) -> ChatBody:
    """What a stored message says (its body read as chat)."""
    return decode(message.body, ChatBody)


def _check_post(fields: ChatFields, client_msg_id: str, ack: str | None) -> None:
    if not fields.text.strip():
        raise ValueError("field 'text' is empty")
    if not client_msg_id or client_msg_id.startswith(ACK_PREFIX):
        raise ValueError("field 'client_msg_id' is empty or reserved")
    if ack is not None and fields.priority is not Priority.URGENT:
        raise ValueError("field 'ack' may only be each_agency, on an urgent message")


class PublishFrame(Frame, ChatFields, tag="publish", kw_only=True, frozen=True):
    """Post a message to a channel, or (``ack_of``) acknowledge an urgent one."""

    ref: Ref = None
    channel: Id
    client_msg_id: Id = ""
    #: Acknowledge the urgent message with this seq instead (text and id are the hub's).
    ack_of: Seq | None = None
    #: The message's own label, narrower than its channel's.
    label: LabelInput | None = None
    #: "each_agency": an urgent message every agency taking part must acknowledge.
    ack: Literal["each_agency"] | None = None
    #: A real event reported in an exercise: marked REAL WORLD everywhere.
    real_world: bool = False
    #: Finished uploads of the sender's to this channel, to carry as the message's files.
    attach: Attach = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ack_of is None:
            _check_post(self, self.client_msg_id, self.ack)


class TypingFrame(Frame, tag="typing", kw_only=True, frozen=True):
    """The sender is typing in a channel it is subscribed to."""

    ref: Ref = None
    channel: Id


class AckReply(Reply, tag="ack", kw_only=True, frozen=True):
    """The answer to ``publish``, sent once the message is stored (durable);
    ``duplicate``: a retry of a message already stored, answered with its seq."""

    ref: str | None
    channel: str
    client_msg_id: str
    seq: int
    id: str
    ts: float
    duplicate: bool


class PostMessage(ChatFields, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/channels/{id}/messages``: the body of the REST publish."""

    text: Text
    client_msg_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    label: LabelInput | None = None
    ack: Literal["each_agency"] | None = None
    real_world: bool = False
    #: Finished uploads of the sender's to this channel, to carry as the message's files.
    attach: Attach = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        _check_post(self, self.client_msg_id, self.ack)


#: The envelope's fields of a ``message`` (frame and REST answer), beside the body's.
_ENVELOPE: dict[str, Any] = {
    "channel": {"type": "string"}, "seq": {"type": "integer", "minimum": 1},
    "id": {"type": "string"}, "sender": {"type": "string"},
    "sender_name": {"type": "string"}, "agency": {"type": "string"},
    "ts": {"type": "number"}, "label": {"type": "object"}, "real_world": {"type": "boolean"},
    "ack_of": {"type": "integer"}, "client_msg_id": {"type": "string"},
    "duplicate": {"type": "boolean"}}


class TranslationNote(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """A message's text machine translated into one language, and where it came from
    (kept beside the message; channels/translations.py)."""

    text: str
    source: Annotated[str, msgspec.Meta(description="The original's language.")]
    engine: Annotated[str, msgspec.Meta(description="apertium or libretranslate.")]
    route: Annotated[list[str], msgspec.Meta(
        description="The languages it went through: two, or three when pivoted.")]
    pivoted: bool = False
    detected: Annotated[bool, msgspec.Meta(
        description="The original's language was detected, its sender did not say it."
    )] = False
    glossary_version: int = 0
    missing_terms: Annotated[list[str], msgspec.Meta(
        description="Agreed terms with no form in this language: kept as written."
    )] = msgspec.field(default_factory=list)
    at: float = 0.0
    reviewed_by: Annotated[str | None, msgspec.Meta(
        description="The translator who corrected it: then it is what readers of this "
                    "language are shown.")] = None
    reviewed_at: float | None = None
    machine_text: Annotated[str | None, msgspec.Meta(
        description="What the engine had made, kept when a translator corrected it."
    )] = None


class ReviewTranslation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True,
                        frozen=True):
    """``PUT /api/channels/{id}/messages/{seq}/translations/{lang}``: a translator's
    corrected text."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=8000, pattern=NOT_BLANK)]


def message_schema() -> dict[str, Any]:
    """The OpenAPI schema of a message as the API answers it: envelope and chat body,
    and, read with ``lang``, its translation into that language."""
    body = schema(ChatBody)
    always = [f.encode_name for f in msgspec.structs.fields(ChatBody)
              if f.default is not msgspec.UNSET]  # stored with its default: always there
    return {"type": "object",
            "properties": {**body["properties"], **_ENVELOPE,
                           "translation": schema(TranslationNote)},
            "required": ["channel", "seq", "id", "sender", "ts", *always]}


def body_of(fields: ChatFields) -> ChatBody:
    """The body a frame or a REST post carries."""
    return ChatBody(**{name: getattr(fields, name) for name in ChatFields.__struct_fields__})
