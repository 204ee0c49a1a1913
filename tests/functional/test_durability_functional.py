"""kill -9 right after acks, restart: every acknowledged message is there."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from hub.config import Settings
from liaison.app import build_services
from tests.conftest import PASSWORD, WsClient, seed
from tests.procs import HubProcess

pytestmark = pytest.mark.slow


async def test_kill9_after_acks_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = build_services(Settings(data_dir=data_dir))
    hub = services.hub
    await hub.engine.store.open()
    _, chans = await seed(services)
    await hub.engine.store.close()
    ch = chans["A/general"].id

    log = tmp_path / "hub.log"
    node = await HubProcess(log, data_dir=data_dir).start()
    url = node.url
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            token = (await http.post("/api/auth/login", json={
                "username": "alice", "password": PASSWORD, "bearer": True})).json()["token"]
        from websockets.asyncio.client import connect

        ws = await connect(url.replace("http", "ws") + "/ws", subprotocols=["liaison.v1.json"])  # type: ignore[list-item]
        client = WsClient(ws, "json")
        await client.send({"type": "hello", "token": token})
        assert (await client.recv())["type"] == "welcome"

        acked: dict[str, int] = {}
        in_flight = 20

        # Keep 20 publishes in flight; kill the hub the moment 300 acks are in.
        async def pump() -> None:
            n = 0
            while True:
                cmid = uuid.uuid4().hex
                await client.send({"type": "publish", "channel": ch, "text": f"report {cmid}",
                                   "client_msg_id": cmid, "ref": cmid})
                n += 1
                if n >= in_flight:
                    break

        await pump()
        while len(acked) < 300:
            frame = await client.recv(timeout=10)
            if frame["type"] == "ack":
                acked[frame["client_msg_id"]] = frame["seq"]
                cmid = uuid.uuid4().hex
                await client.send({"type": "publish", "channel": ch,
                                   "text": f"report {cmid}", "client_msg_id": cmid,
                                   "ref": cmid})
        node.kill9()
        await ws.close()
    finally:
        node.stop()

    node = await HubProcess(log, data_dir=data_dir).start()
    url = node.url
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            token = (await http.post("/api/auth/login", json={
                "username": "bruno", "password": PASSWORD, "bearer": True})).json()["token"]
            stored: dict[str, int] = {}
            after = 0
            while True:
                page = (await http.get(f"/api/channels/{ch}/messages",
                                       params={"after_seq": after, "limit": 500},
                                       headers={"Authorization": f"Bearer {token}"})).json()
                for m in page["messages"]:
                    stored[m["text"].removeprefix("report ")] = m["seq"]
                if not page["messages"]:
                    break
                after = page["messages"][-1]["seq"]
        for cmid, seq in acked.items():
            assert stored.get(cmid) == seq, f"acked message {cmid} (seq {seq}) lost"
        seqs = sorted(stored.values())
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free after the crash too
    finally:
        node.stop()
