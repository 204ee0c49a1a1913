"""Chat bodies for tests that build messages below the service (engines, node, gateway)."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.bodies import CHAT, ChatBody, Priority
from hub.bodies import encode


def chat(text: str = "hi", priority: Priority = Priority.NORMAL,
         **body: Any) -> dict[str, Any]:
    """The body arguments of a NewMessage or Message saying ``text``."""
    return {"body_type": CHAT, "body": encode(ChatBody(text=text, priority=priority, **body)),
            "body_version": ChatBody.VERSION}


#: The messages table of SQLite schemas 0-2 (chat fields as columns), as release 0.1.0
#: created it; the columns added later (label, real_world) are in ADDED_COLUMNS.
V2_MESSAGES = """CREATE TABLE IF NOT EXISTS messages (
    channel_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, sender_id TEXT NOT NULL,
    sender TEXT NOT NULL, sender_name TEXT NOT NULL, agency TEXT NOT NULL, text TEXT NOT NULL,
    ts REAL NOT NULL, priority TEXT NOT NULL, client_msg_id TEXT NOT NULL,
    PRIMARY KEY (channel_id, seq)) WITHOUT ROWID"""


def first_schema() -> str:
    """SQLite's first schema: today's tables, with the messages table as it was."""
    from hub.engine.sqlite_db import _MESSAGES, SCHEMA

    current = _MESSAGES.replace("TABLE ", "TABLE IF NOT EXISTS ", 1)
    assert current in SCHEMA
    return SCHEMA.replace(current, V2_MESSAGES)


async def sdk_messages(bot: Any, count: int, timeout: float = 30) -> list[Any]:
    """The next ``count`` chat messages an SDK client (liaison_client) receives."""
    from liaison_client import Message

    got: list[Any] = []
    async with asyncio.timeout(timeout):
        async for frame in bot.frames():
            if isinstance(frame, Message):
                got.append(frame)
                if len(got) == count:
                    break
    return got
