"""`liaison backup` while the hub serves, `liaison restore` elsewhere, on both engines.

A publisher (WebSocket, acked) and a case writer (REST) run throughout; the
backup is a separate process, as an operator runs it. Everything acknowledged
before the backup began is in the restored hub, the audit chain verifies (the
restore checked it against the head the backup recorded, and the CLI again),
and a client resuming from what it saw on the first hub either replays exactly
what it missed or is told `reset` / `ahead` when the restored store is behind it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings
from tests.conftest import RunningHub
from tests.redis_support import cleanup, new_prefix, require_redis_tools


def _env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "LIAISON_DATA_DIR": str(settings.data_dir)}
    env["LIAISON_ENGINE"] = settings.engine
    if settings.engine != "embedded":
        env["LIAISON_REDIS_PREFIX"] = settings.redis_prefix
    return env


async def liaison(settings: Settings, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liaison", *args, env=_env(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode()


class Writers:
    """A publisher and a case writer, each noting what was acknowledged and when."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.acked: list[tuple[int, int, str]] = []  # (order, seq, text)
        self.cases: list[tuple[int, str, str]] = []  # (order, id, title)
        self.order = 0
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def _publish(self) -> None:
        client = await self.hub.client("alice")
        ch = self.hub.ch("A/general")
        n = 0
        while not self.stop.is_set():
            n += 1
            ack = await client.publish(ch, f"m{n}")
            assert ack["type"] == "ack", ack
            self.order += 1
            self.acked.append((self.order, ack["seq"], f"m{n}"))

    async def _cases(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            r = await self.hub.api("POST", "/api/operations/OP-A/cases", "alice",
                                   json={"title": f"case {n}", "severity": "minor"})
            assert r.status_code == 201, r.text
            self.order += 1
            self.cases.append((self.order, r.json()["id"], f"case {n}"))

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._publish()), asyncio.create_task(self._cases())]

    async def wait_for(self, messages: int, cases: int) -> None:
        async with asyncio.timeout(120):
            while len(self.acked) < messages or len(self.cases) < cases:
                await asyncio.sleep(0.01)
                for t in self.tasks:
                    if t.done():
                        t.result()

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks)


@pytest.mark.slow
async def test_a_backup_taken_under_load_restores_everything_acknowledged_before_it(
        start_hub: Any, hub_settings: Settings, tmp_path: Path) -> None:
    if hub_settings.engine != "embedded":
        require_redis_tools()
    hub: RunningHub = await start_hub(hub_settings)
    writers = Writers(hub)
    writers.start()
    await writers.wait_for(messages=30, cases=5)
    mark = writers.order  # everything acknowledged up to here must come back
    archive = tmp_path / "hub-backup.tar"
    code, out = await liaison(hub_settings, "backup", str(archive))
    assert code == 0, out
    await writers.wait_for(messages=len(writers.acked) + 10, cases=len(writers.cases) + 2)
    await writers.finish()  # the writers went on during the backup and after it
    assert "backup written" in out and "audit chain head" in out

    before = [(seq, text) for order, seq, text in writers.acked if order <= mark]
    cases_before = [(cid, title) for order, cid, title in writers.cases if order <= mark]
    last_seen = writers.acked[-1][1]

    restored = hub_settings.replace(data_dir=tmp_path / "restored")
    prefix = None
    if hub_settings.engine != "embedded":
        prefix = new_prefix()
        restored = restored.replace(redis_prefix=prefix)
    try:
        code, out = await liaison(restored, "restore", str(archive))
        assert code == 0, out
        assert "audit chain: verified" in out
        code, out = await liaison(restored, "audit", "verify")
        assert code == 0 and out.splitlines()[-1].startswith("OK: "), out

        second: RunningHub = await start_hub(restored, seeded=False)
        second.channels, second.ops = hub.channels, hub.ops  # the same ids, restored
        ch = hub.ch("A/general")
        stored: dict[int, str] = {}
        while True:
            r = await second.api("GET", f"/api/channels/{ch}/messages?limit=500&after_seq="
                                 f"{max(stored, default=0)}", "alice")
            assert r.status_code == 200, r.text
            page = r.json()["messages"]
            if not page:
                break
            stored.update({m["seq"]: m["text"] for m in page})
        missing = [(seq, text) for seq, text in before if stored.get(seq) != text]
        assert not missing, f"acknowledged before the backup, not restored: {missing[:5]}"
        assert sorted(stored) == list(range(1, max(stored) + 1))  # no gap
        for cid, title in cases_before:
            r = await second.api("GET", f"/api/operations/OP-A/cases/{cid}", "alice")
            assert r.status_code == 200 and r.json()["title"] == title, (cid, r.text)

        # Resuming: a client that saw everything on the first hub is ahead of the
        # restored store (reset, ahead); one that saw part of it replays the rest.
        head = max(stored)
        client = await second.client("bruno")
        assert last_seen > head  # ten or more were acknowledged after the backup ended
        await client.subscribe(ch, since_seq=last_seen)
        reset = await client.recv_type("reset", timeout=30)
        assert reset["reason"] == "ahead" and reset["head_seq"] == head, reset
        middle = before[len(before) // 2][0]
        again = await second.client("bruno")
        await again.subscribe(ch, since_seq=middle)
        replay = await again.messages(head - middle, timeout=30)
        assert [m["seq"] for m in replay] == list(range(middle + 1, head + 1))
    finally:
        if prefix is not None:
            cleanup(hub_settings.engine, prefix)
