"""kill -9 right after acks, restart: every acknowledged message is there."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from hub.app import create_app
from hub.config import Settings
from tests.conftest import PASSWORD, WsClient, free_port, seed

pytestmark = pytest.mark.slow


def _spawn(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIAISON_DATA_DIR": str(data_dir), "LIAISON_PORT": str(port),
           "LIAISON_PUBLISH_RATE": "100000", "LIAISON_PUBLISH_BURST": "100000"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert proc.poll() is None, "hub exited during start-up"
            try:
                if (await http.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("hub never became ready")


async def test_kill9_after_acks_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = create_app(Settings(data_dir=data_dir))
    hub = app.state.hub
    await hub.engine.store.open()
    _, chans = await seed(hub)
    await hub.engine.store.close()
    ch = chans["A/general"].id

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "hub.log"
    proc = _spawn(data_dir, port, log)
    try:
        await _wait_ready(url, proc)
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
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        await ws.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _spawn(data_dir, port, log)
    try:
        await _wait_ready(url, proc)
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
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
