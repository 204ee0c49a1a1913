"""liaison_client/chat.py is generated from the hub's chat declarations: it must be what
the generator writes today (regenerate: python -m channels.sdk > liaison_client/chat.py)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from channels.bodies import ChatFields, PublishFrame
from channels.sdk import generate
from liaison_client import chat

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_sdk_declarations_are_current() -> None:
    committed = (ROOT / "liaison_client" / "chat.py").read_text(encoding="utf-8")
    assert committed == generate(), (
        "liaison_client/chat.py is stale: run .venv/bin/python -m channels.sdk > "
        "liaison_client/chat.py")


def test_the_sdk_knows_every_body_field_and_frame_field() -> None:
    assert chat.BODY_FIELDS == tuple(f.name for f in msgspec.structs.fields(ChatFields))
    assert set(chat.PUBLISH_FIELDS) == set(PublishFrame.__struct_fields__)
