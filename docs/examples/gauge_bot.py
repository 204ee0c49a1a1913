"""A river-gauge bot written with liaison_client (see docs/bot.md).

It posts each reading to a channel, raises an alert when the level passes the
alarm mark (the same fingerprint while it stays high: one alert, counted
repeats), resolves it when the level falls back, and answers "!level" in the
channel. Run it with a bot token scoped to the operation:

    LIAISON_URL=https://hub.example.org LIAISON_TOKEN=lht_... \\
        python docs/examples/gauge_bot.py OP-DELTA ch_Zk3aB9xQ
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import AsyncIterator, Callable

from liaison_client import Client, Message, Rest

ALARM_METRES = 4.0


async def readings(every: float) -> AsyncIterator[float]:
    """Stands in for the gauge: a level that drifts up and down."""
    level = 3.5
    while True:
        level = max(0.0, level + random.uniform(-0.2, 0.3))
        yield round(level, 2)
        await asyncio.sleep(every)


async def run(url: str, token: str, operation: str, channel: str, *,
              source: Callable[[], AsyncIterator[float]] = lambda: readings(60.0),
              rounds: int | None = None) -> None:
    ws_url = url.replace("http", "ws", 1).rstrip("/") + "/ws"
    async with Client(ws_url, token, name="gauge-bot/1") as hub, Rest(url, token) as rest:
        await hub.subscribe(channel)
        last: list[float] = []

        async def answer() -> None:  # "!level" in the channel gets the last reading
            async for frame in hub.frames():
                if isinstance(frame, Message) and frame.text.strip() == "!level" and last:
                    await hub.publish(channel, f"Gauge 7 reads {last[-1]:.2f} m")

        answering = asyncio.create_task(answer())
        alert: dict | None = None  # type: ignore[type-arg]
        done = 0
        async for level in source():
            last.append(level)
            await hub.publish(channel, f"Gauge 7: {level:.2f} m")  # resent if the hub is away
            if level >= ALARM_METRES:
                alert = await rest.push_alert(
                    operation, f"Gauge 7 above {ALARM_METRES} m ({level:.2f} m)",
                    severity="critical", fingerprint="gauge-7-high",
                    labels={"gauge": "7"}, route=["channel:alerts"])
            elif alert is not None:
                await rest.resolve_alert(operation, alert["id"])
                alert = None
            done += 1
            if rounds is not None and done >= rounds:
                break
        answering.cancel()


if __name__ == "__main__":
    asyncio.run(run(os.environ["LIAISON_URL"], os.environ["LIAISON_TOKEN"], sys.argv[1],
                    sys.argv[2]))
