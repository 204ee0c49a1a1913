"""What releases before the message envelope wrote for a message, read once.

Until SQLite schema 3 and Redis layout 3 a message was stored with its chat fields
(``text``, ``priority``) beside the envelope's, and the inter-node broker carried them
by position. This module is the one place that still knows that layout: the SQLite
migration converts the old table with it, and the Redis engine reads through it the
stream entries and broker events an older node wrote (until the keyspace's streams
are converted, and while old and new nodes run side by side in a rolling upgrade).
Nothing written from now on uses it; a new body field never touches it.
"""

from __future__ import annotations

import msgpack

__all__ = ["BODY_TYPE", "body", "entry"]

#: The one body older releases stored: a chat message's.
BODY_TYPE = "chat"


def body(text: str, priority: str) -> bytes:
    """An old message's fields as a schema-1 chat body."""
    return bytes(msgpack.packb({"text": text, "priority": priority}))


def entry(fields: dict[str, str]) -> dict[str, str | bytes]:
    """An old Redis stream entry's fields in the current layout (body as bytes)."""
    out: dict[str, str | bytes] = {k: v for k, v in fields.items()
                                   if k not in ("text", "priority")}
    out.update(body_type=BODY_TYPE, body_version="1",
               body=body(fields.get("text", ""), fields.get("priority", "normal")))
    return out
