"""bench/hostile_load.py still measures (no timing is asserted here): every message
reaches the listener while every hostile document of bench/hostile.py is answered
by a refusal or a result, never a server error or a dropped connection."""

from __future__ import annotations

import argparse

from bench.hostile import HOSTILE
from bench.hostile_load import run


async def test_every_hostile_document_is_refused_cleanly_while_messages_flow() -> None:
    result = await run(argparse.Namespace(messages=40, rate=20.0, attackers=1))
    assert result["baseline"]["n"] == result["under_attack"]["n"] == 40
    answers = result["answers"]
    assert {name.rsplit(": ", 1)[0] for name in answers} == {h.name for h in HOSTILE}
    for name, _ in answers.items():
        answer = name.rsplit(": ", 1)[1]
        assert answer in ("200", "400", "403", "413", "error frame") \
            or answer == "closed 1009", name  # 1009: a frame past max_frame_bytes
