"""A message as the Redis engine keeps and carries it: a stream entry's fields and the
broker event other nodes receive. The body stays opaque (base64 of its msgpack, as a
Redis reply is text here); what an older node wrote is read through hub.engine.legacy.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from hub.engine import legacy
from hub.engine import rows as rowmap
from hub.engine.port import NewMessage
from hub.models import Message

__all__ = ["ENTRY_FIELDS", "EVENT_KIND", "entry_args", "from_entry", "from_event"]

#: A stream entry's fields, in the order the broker event carries their values.
ENTRY_FIELDS = ("id", "sender_id", "sender", "sender_name", "agency", "ts", "client_msg_id",
                "label", "real_world", "body_type", "body_version", "body")
#: The broker event of a message (an older node's was "m", by position).
EVENT_KIND = "M"
_LEGACY_EVENT = ("id", "sender_id", "sender", "sender_name", "agency", "text", "ts",
                 "priority", "client_msg_id", "label", "real_world")


def entry_args(msg: NewMessage | Message) -> list[str]:
    """The entry's field, value pairs as the append script takes them."""
    values = (msg.id, msg.sender_id, msg.sender, msg.sender_name, msg.agency, repr(msg.ts),
              msg.client_msg_id, msg.label_json, "1" if msg.real_world else "",
              msg.body_type, str(msg.body_version),
              base64.b64encode(msg.body).decode("ascii"))
    return [part for pair in zip(ENTRY_FIELDS, values, strict=True) for part in pair]


def from_entry(ch_id: str, seq: int | str, fields: Mapping[str, str]) -> Message:
    """A stream entry (of this release or an older one) as a message."""
    found: dict[str, object] = dict(legacy.entry(dict(fields))) if "body" not in fields \
        else {**fields, "body": base64.b64decode(fields["body"])}
    return rowmap.message({**found, "channel_id": ch_id, "seq": seq})


def from_event(item: Sequence[object]) -> Message:
    """A broker event ``[kind, channel id, seq, values...]`` as a message."""
    kind, ch_id, seq, *values = item
    names = ENTRY_FIELDS if kind == EVENT_KIND else _LEGACY_EVENT
    fields = {name: "" if value is None else str(value) if not isinstance(value, str)
              else value for name, value in zip(names, values, strict=False)}
    return from_entry(str(ch_id), str(seq), fields)
