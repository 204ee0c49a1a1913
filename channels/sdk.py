"""Writes the bot SDK's chat declarations (``liaison_client/chat.py``) from this feature's
own (:mod:`channels.bodies`), so a body field added on the server reaches the SDK, or
``tests/liaison_client/test_generated.py`` fails until it is regenerated::

    .venv/bin/python -m channels.sdk > liaison_client/chat.py

The SDK stands alone (it never imports the hub), hence generated code, not an import.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

import msgspec

from channels.bodies import ChatBody, ChatFields, PostMessage, PublishFrame

__all__ = ["generate"]

#: The envelope of a ``message`` frame as the SDK reads it (the core's, hub.models).
_ENVELOPE = ("channel: str", "seq: int", "id: str", "sender: str", "sender_name: str",
             "agency: str", "ts: float")
_ENVELOPE_EXTRA = (
    ("ack_of", "int | None = None", "the urgent message's seq, on an acknowledgement"),
    ("client_msg_id", "str | None = None", "what a notice of the hub's is about"),
    ("label", "dict[str, Any] | None = None", "its own label, when narrower"),
    ("real_world", "bool = False", "a real event inside an exercise"))


def _annotation(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _annotation(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        parts = [_annotation(a) for a in typing.get_args(hint) if a is not msgspec.UnsetType]
        return " | ".join(dict.fromkeys(parts))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "str"
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return "dict[str, Any]"
    if origin is not None:
        return "dict[str, Any]" if origin is dict else "list[Any]"
    return "None" if hint is type(None) else hint.__name__


def _default(field: msgspec.structs.FieldInfo) -> str:
    value = field.default
    if value is msgspec.UNSET or value is None:
        return "None"
    return _quoted(repr(value.value if isinstance(value, enum.Enum) else value))


def _body_fields() -> list[str]:
    """The stored body's fields: what a message says and what the hub adds (its files)."""
    lines = []
    for f in msgspec.structs.fields(ChatBody):
        kind = _annotation(f.type)
        if f.default is msgspec.UNSET and "None" not in kind:
            kind += " | None"
        lines.append(f"    {f.name}: {kind} = {_default(f)}")
    return lines


def _names(label: str, names: list[str]) -> list[str]:
    """``LABEL = ("a", "b")`` wrapped at 100 columns."""
    lines, line = [], f"{label} = ("
    for i, name in enumerate(names):
        part = f'"{name}"' + ("," if i < len(names) - 1 or len(names) == 1 else "")
        if len(line) + len(part) + 2 > 99:
            lines.append(line.rstrip())
            line = " " * (len(label) + 4)
        line += part + " "
    return [*lines, line.rstrip() + ")"]


def _quoted(text: str) -> str:
    return text.replace("'", '"')


def generate() -> str:
    body = [f.name for f in msgspec.structs.fields(ChatFields)]
    options = [f.name for f in msgspec.structs.fields(PostMessage)
               if f.name not in body and f.name != "client_msg_id"]
    frame = sorted(f.name for f in msgspec.structs.fields(PublishFrame))
    out = [
        '"""The chat declarations of the hub (generated from channels/bodies.py: do not edit;',
        '`python -m channels.sdk > liaison_client/chat.py` writes it again)."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from typing import Any",
        "",
        '__all__ = ["BODY_FIELDS", "PUBLISH_FIELDS", "PUBLISH_OPTIONS", "Message"]',
        "",
        "#: What a chat message says (its body), as the hub declares it.",
        *_names("BODY_FIELDS", body),
        "#: What a publish may say of the message besides its body.",
        *_names("PUBLISH_OPTIONS", options),
        "#: Every field of the publish frame.",
        *_names("PUBLISH_FIELDS", frame),
        "",
        "",
        "@dataclass(frozen=True, slots=True, kw_only=True)",
        "class Message:",
        '    """A chat message: its envelope, then what it says."""',
        "",
        *(f"    {line}" for line in _ENVELOPE),
        *_body_fields(),
        *(f"    {name}: {kind}  # {why}" for name, kind, why in _ENVELOPE_EXTRA),
        "",
        "    @property",
        "    def feed(self) -> str:",
        "        return self.channel",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(generate(), end="")
