"""docs/examples/gauge_bot.py, the bot of docs/bot.md, against a real hub that restarts."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from channels.bodies import chat_body
from tests.conftest import RunningHub
from tests.web.pages import bot_token

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "gauge_bot.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("gauge_bot", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_documented_bot_posts_alerts_and_survives_a_restart(
        running_hub: RunningHub, start_hub: Any) -> None:
    hub = running_hub
    bot = _load()
    r = await hub.api("POST", f"/api/operations/{hub.ops['A'].id}/channels", "alice",
                      json={"name": "alerts"})
    assert r.status_code == 201
    levels = [3.8, 4.1, 4.3, 3.9, 3.7, 4.2]
    restarted: list[RunningHub] = []

    async def source() -> AsyncIterator[float]:
        for i, level in enumerate(levels):
            if i == 3:  # the hub goes away and comes back under the bot
                await hub.stop()
                again = await start_hub(hub.settings, seeded=False,
                                        port=hub._server.config.port)  # type: ignore[union-attr]
                again.ops, again.channels = hub.ops, hub.channels
                restarted.append(again)
            yield level

    channel = hub.ch("A/general")
    await asyncio.wait_for(bot.run(hub.url, await bot_token(hub), hub.ops["A"].code, channel,
                                   source=source, rounds=len(levels)), 60)
    [again] = restarted
    from hub.models import ChannelId
    store = again.hub.engine.store
    texts = [chat_body(m).text for m in await store.read_messages(ChannelId(channel), after_seq=0,
                                                       limit=100)]
    assert texts == [f"Gauge 7: {level:.2f} m" for level in levels]  # each once, in order
    r = await again.api("GET", f"/api/operations/{hub.ops['A'].id}/alerts", "alice")
    alerts = sorted(r.json()["alerts"], key=lambda a: a["first_at"])
    assert [(a["state"], a["occurrences"]) for a in alerts] == [("resolved", 2),
                                                                ("firing", 1)]
