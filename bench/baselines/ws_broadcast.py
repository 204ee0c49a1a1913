"""The lower bound: a bare `websockets` server using its own broadcast().

It speaks just enough of the hub's protocol for the same load generator:
``hello`` gets a ``welcome``, ``subscribe`` a ``subscribed``, and a
``publish`` is stamped with the channel's next seq, sent to every subscriber
of the channel with one ``broadcast()`` (the frame encoded once), and acked.
No authentication, no storage, no limits.

    python bench/baselines/ws_broadcast.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict

from websockets.asyncio.server import ServerConnection, broadcast, serve

subscribers: dict[str, set[ServerConnection]] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)


async def handle(ws: ServerConnection) -> None:
    mine: set[str] = set()
    try:
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "hello":
                await ws.send('{"type": "welcome"}')
            elif kind == "subscribe":
                channel = frame["channel"]
                subscribers[channel].add(ws)
                mine.add(channel)
                await ws.send(json.dumps({"type": "subscribed", "channel": channel}))
            elif kind == "publish":
                channel = frame["channel"]
                seqs[channel] += 1
                seq = seqs[channel]
                broadcast(subscribers[channel], json.dumps(
                    {"type": "message", "channel": channel, "seq": seq, "text": frame["text"]}))
                await ws.send(json.dumps({"type": "ack", "channel": channel, "seq": seq}))
    finally:
        for channel in mine:
            subscribers[channel].discard(ws)


async def main(port: int) -> None:
    async with serve(handle, "127.0.0.1", port, max_queue=None, compression=None,
                     subprotocols=["liaison.v1.json"]):  # type: ignore[list-item]
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
