"""The naive ceiling of the hub's own stack: Starlette on uvicorn, an `await send_text` loop.

Same minimal protocol as ws_broadcast.py, served the way a first Starlette
chat server is written: each publish is encoded once and awaited into each
subscriber's socket in turn. No authentication, no storage, no limits.

    python bench/baselines/starlette_loop.py PORT
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

subscribers: dict[str, set[WebSocket]] = defaultdict(set)
seqs: dict[str, int] = defaultdict(int)


async def endpoint(ws: WebSocket) -> None:
    await ws.accept(subprotocol="liaison.v1.json")
    mine: set[str] = set()
    try:
        while True:
            frame = json.loads(await ws.receive_text())
            kind = frame.get("type")
            if kind == "hello":
                await ws.send_text('{"type": "welcome"}')
            elif kind == "subscribe":
                channel = frame["channel"]
                subscribers[channel].add(ws)
                mine.add(channel)
                await ws.send_text(json.dumps({"type": "subscribed", "channel": channel}))
            elif kind == "publish":
                channel = frame["channel"]
                seqs[channel] += 1
                seq = seqs[channel]
                text = json.dumps({"type": "message", "channel": channel, "seq": seq,
                                   "text": frame["text"]})
                for sub in list(subscribers[channel]):
                    try:
                        await sub.send_text(text)
                    except Exception:
                        subscribers[channel].discard(sub)
                await ws.send_text(json.dumps({"type": "ack", "channel": channel, "seq": seq}))
    except WebSocketDisconnect:
        pass
    finally:
        for channel in mine:
            subscribers[channel].discard(ws)


app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                ws="websockets-sansio", ws_per_message_deflate=False, access_log=False)
