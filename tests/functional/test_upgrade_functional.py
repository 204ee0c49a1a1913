"""Upgrading from the previous release, with its real data, on both engines.

The previous release is its commit (:data:`PREVIOUS`, release 0.1.0), taken from this
repository's history into a folder of its own; it runs from there as its own
process, with the locked dependencies, and writes its data through its own
API: the demo, messages, cases and a case update, the alerts its rules raise and a
bot's alert. Then this release opens the same data directory or Redis keyspace,
migrates it, and must serve every operation, channel, message, case version, alert,
rule, policy, label and audit record exactly as the previous release did; the audit
chain verifies. On Redis, a rolling upgrade of two nodes (old and new side by side
for a while) loses no acknowledged message.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.previous import previous_tree
from tests.procs import HubProcess
from tests.redis_support import cleanup, new_prefix, redis_url

ROOT = Path(__file__).resolve().parents[2]
#: The commit of release 0.1.0, the last before data schemas were recorded.
PREVIOUS = "1a657ec8773415efd897ef7e875f60d82f78be55"


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's tree, from its commit, in a folder of its own."""
    where = tmp_path_factory.mktemp("previous")
    previous_tree(where / "src", commit=PREVIOUS)
    # Run from its own tree, as a checkout: release 0.1.0's wheel did not carry the web
    # client, so an installed 0.1.0 could not serve (fixed in this release).
    return where / "src"


def release_node(tmp: Path, release: Path | None, data_dir: Path, **settings: str) -> HubProcess:
    """A hub process of ``release`` (None: this checkout) on ``data_dir``."""
    return HubProcess(tmp / f"node-{uuid.uuid4().hex[:8]}.log", release=release,
                      data_dir=data_dir, **settings)


def credentials(data_dir: Path) -> dict[str, str]:
    lines = (data_dir / "demo-credentials.txt").read_text().splitlines()
    return {line.split("\t")[0]: line.split("\t")[1] for line in lines if "\t" in line}


async def login(http: httpx.AsyncClient, user: str, password: str) -> dict[str, str]:
    r = await http.post("/api/auth/login",
                        json={"username": user, "password": password, "bearer": True})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def write_history(node: HubProcess, data_dir: Path) -> None:
    """What a day of an operation leaves behind, through the previous release's API."""
    creds = credentials(data_dir)
    bot = {"Authorization": f"Bearer {(data_dir / 'demo-bot-token.txt').read_text().strip()}"}
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        alice = await login(http, "alice", creds["alice"])
        chans = (await http.get("/api/operations/OP-DELTA/channels", headers=alice)).json()
        for ch in chans["channels"][:3]:
            for n in range(4):
                r = await http.post(f"/api/channels/{ch['id']}/messages", headers=alice,
                                    json={"text": f"{ch['name']} {n} — é ✓",
                                          "client_msg_id": f"{ch['id']}-{n}"})
                assert r.status_code in (200, 201), r.text
        made = []
        for title, severity in (("Levee breach", "critical"), ("Road closed", "minor"),
                                ("Shelter full", "major")):
            r = await http.post("/api/operations/OP-DELTA/cases", headers=alice,
                                json={"title": title, "severity": severity,
                                      "location": {"place": "Kerns", "lat": 47.05,
                                                   "lon": 8.31}})
            assert r.status_code == 201, r.text
            made.append(r.json())
        r = await http.patch(f"/api/operations/OP-DELTA/cases/{made[1]['id']}",
                             headers=alice, json={"severity": "critical",
                                                  "version": made[1]["version"]})
        assert r.status_code == 200, r.text
        r = await http.post(f"/api/operations/OP-DELTA/cases/{made[2]['id']}/comments",
                            headers=alice, json={"text": "two buses on the way"})
        assert r.status_code == 200, r.text
        r = await http.post("/api/operations/OP-DELTA/alerts", headers=bot,
                            json={"summary": "River gauge 4 above 5 m", "severity": "critical",
                                  "fingerprint": "gauge-4-high"})
        assert r.status_code in (200, 201, 202), r.text
        async with asyncio.timeout(60):  # the rules raise an alert per critical case
            while len((await http.get("/api/operations/OP-DELTA/alerts",
                                      headers=alice)).json()["alerts"]) < 3:
                await asyncio.sleep(0.1)


async def everything(node: HubProcess, data_dir: Path) -> dict[str, Any]:
    """Every record two members of different agencies can read, by path."""
    creds = credentials(data_dir)
    seen: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        for user in ("alice", "bruno"):  # two agencies, two roles
            auth = await login(http, user, creds[user])

            async def read(path: str, user: str = user, auth: dict[str, str] = auth) -> Any:
                r = await http.get(path, headers=auth)
                assert r.status_code == 200, (path, r.text)
                seen[f"{user} {path}"] = r.json()
                return r.json()

            await read("/api/labels")
            await read("/api/operations")
            op = "/api/operations/OP-DELTA"
            for suffix in ("", "/members", "/rules", "/policies", "/silences", "/alerts",
                           "/events?after_seq=0&limit=500"):
                await read(op + suffix)
            for ch in (await read(op + "/channels"))["channels"]:
                await read(f"/api/channels/{ch['id']}/messages?limit=500")
            for case in (await read(op + "/cases"))["cases"]:
                await read(f"{op}/cases/{case['id']}")
                await read(f"{op}/cases/{case['id']}/timeline")
    return seen


def _kept(before: Any, after: Any) -> bool:
    """``after`` serves everything ``before`` did, unchanged; fields added since (the
    member list's ``custodian``) are new, not a change."""
    if isinstance(before, dict):
        return isinstance(after, dict) and all(
            k in after and _kept(v, after[k]) for k, v in before.items())
    if isinstance(before, list):
        return isinstance(after, list) and len(before) == len(after) and all(
            _kept(b, a) for b, a in zip(before, after, strict=True))
    return bool(before == after)


def audit_lines(node: HubProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in node.cli("audit", "export").splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["embedded", "redis"])
async def test_the_previous_releases_data_is_served_unchanged(
        previous_release: Path, tmp_path: Path, engine: str) -> None:
    data = tmp_path / "data"
    settings: dict[str, str] = {}
    prefix = ""
    if engine == "redis":
        prefix = new_prefix()
        settings = {"engine": redis_url(), "redis_prefix": prefix}
    try:
        old = release_node(tmp_path, previous_release, data, **settings)
        old.cli("seed-demo")
        await old.start()
        try:
            await write_history(old, data)
            before = await everything(old, data)
        finally:
            old.stop()
        audit_before = audit_lines(old)

        new = release_node(tmp_path, None, data, **settings)
        await new.start()
        try:
            async with httpx.AsyncClient(base_url=new.url) as http:
                ready = (await http.get("/readyz")).json()
            assert ready["schema"] == 3, ready  # 3: messages are envelopes and bodies

            after = await everything(new, data)
        finally:
            new.stop()
        assert after.keys() == before.keys()
        changed = [path for path in before if not _kept(before[path], after[path])]
        assert not changed, {p: (before[p], after[p]) for p in changed[:2]}
        assert sum(len(v.get("messages", [])) for v in after.values()
                   if isinstance(v, dict)) >= 24
        audit_after = audit_lines(new)
        assert audit_after[:len(audit_before)] == audit_before
        assert new.cli("audit", "verify").startswith("OK")
    finally:
        if prefix:
            cleanup(redis_url(), prefix)


class Publisher:
    """Publishes one message at a time over WebSocket; when its node goes away, it
    reconnects to another and sends the unacknowledged message again (same id)."""

    def __init__(self, token: str, channel: str) -> None:
        self.token, self.channel = token, channel
        self.acked: dict[str, int] = {}
        self.urls: list[str] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        n = 0
        pending: str | None = None
        while not self.stop.is_set() or pending:
            for url in list(self.urls):
                try:
                    async with connect(url, subprotocols=["liaison.v1.json"],  # type: ignore[list-item]
                                       open_timeout=10) as ws:
                        await ws.send(json.dumps({"type": "hello", "token": self.token}))
                        assert json.loads(await ws.recv())["type"] == "welcome"
                        while not self.stop.is_set() or pending:
                            if pending is None:
                                n += 1
                                pending = f"roll-{n}"
                            await ws.send(json.dumps({"type": "publish", "ref": pending,
                                                      "channel": self.channel,
                                                      "text": pending,
                                                      "client_msg_id": pending}))
                            while True:
                                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                                if frame.get("ref") == pending:
                                    break
                            if frame["type"] == "ack":
                                self.acked[pending] = frame["seq"]
                                pending = None
                            else:
                                await asyncio.sleep(0.05)  # unavailable: send it again
                except AssertionError:
                    raise
                except Exception:  # the node went away (or is going): try the next one
                    await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_rolling_upgrade_on_redis_loses_no_acknowledged_message(
        previous_release: Path, tmp_path: Path) -> None:
    prefix = new_prefix()
    settings = {"engine": redis_url(), "redis_prefix": prefix}
    data = tmp_path / "shared"  # the key files both nodes share
    nodes: list[HubProcess] = []
    try:
        a_old = release_node(tmp_path, previous_release, data, **settings)
        a_old.cli("seed-demo")
        b_old = release_node(tmp_path, previous_release, data, **settings)
        nodes += [a_old, b_old]
        await a_old.start()
        await b_old.start()
        creds = credentials(data)
        async with httpx.AsyncClient(base_url=a_old.url, timeout=30) as http:
            auth = await login(http, "alice", creds["alice"])
            token = auth["Authorization"].removeprefix("Bearer ")
            chans = (await http.get("/api/operations/OP-DELTA/channels",
                                    headers=auth)).json()["channels"]
        channel = chans[0]["id"]
        pub = Publisher(token, channel)
        pub.urls = [a_old.ws_url, b_old.ws_url]
        task = asyncio.create_task(pub.run())

        async def acked_at_least(count: int) -> None:
            async with asyncio.timeout(120):
                while len(pub.acked) < count:
                    assert not task.done() or task.result() is None
                    await asyncio.sleep(0.02)

        await acked_at_least(20)
        b_old.stop()  # upgrade B: old A and new B side by side
        b_new = release_node(tmp_path, None, data, **settings)
        nodes.append(b_new)
        await b_new.start()
        pub.urls = [a_old.ws_url, b_new.ws_url]
        # Side by side: what the old node A stores, the new node B delivers live.
        async with connect(b_new.ws_url, subprotocols=["liaison.v1.json"]) as sub:  # type: ignore[list-item]
            await sub.send(json.dumps({"type": "hello", "token": token}))
            assert json.loads(await sub.recv())["type"] == "welcome"
            since = max(pub.acked.values())
            await sub.send(json.dumps({"type": "subscribe", "channel": channel,
                                       "since_seq": since}))
            live: list[int] = []
            async with asyncio.timeout(120):
                while len(live) < 20:
                    frame = json.loads(await sub.recv())
                    if frame["type"] == "message":
                        live.append(frame["seq"])
            assert live == list(range(since + 1, since + 21))
        await acked_at_least(len(pub.acked) + 20)
        a_old.stop()  # upgrade A: the publisher's node goes away mid-stream
        pub.urls = [b_new.ws_url]
        a_new = release_node(tmp_path, None, data, **settings)
        nodes.append(a_new)
        await a_new.start()
        pub.urls = [b_new.ws_url, a_new.ws_url]
        await acked_at_least(len(pub.acked) + 20)
        pub.stop.set()
        await asyncio.wait_for(task, 60)

        async with httpx.AsyncClient(base_url=a_new.url, timeout=30) as http:
            auth = await login(http, "alice", creds["alice"])
            stored: dict[int, str] = {}
            while True:
                r = await http.get(f"/api/channels/{channel}/messages?limit=500&after_seq="
                                   f"{max(stored, default=0)}", headers=auth)
                page = r.json()["messages"]
                if not page:
                    break
                stored.update({m["seq"]: m["text"] for m in page})
        lost = {cmid: seq for cmid, seq in pub.acked.items() if stored.get(seq) != cmid}
        assert not lost, f"acknowledged, then lost in the upgrade: {lost}"
        texts = list(stored.values())
        assert all(texts.count(cmid) == 1 for cmid in pub.acked)  # resent ones stored once
        assert len(pub.acked) >= 60
    finally:
        for node in nodes:
            node.stop()
        cleanup(redis_url(), prefix)


def test_the_previous_release_is_what_the_changelog_calls_it() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"main at `{PREVIOUS[:7]}`" in changelog
