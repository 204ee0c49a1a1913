"""Out of space on a real small filesystem (a tmpfs of a few MiB mounted by the test;
root only, as CI runs), on both engines.

A write the store cannot make is refused with a retryable error and no ack, nothing
of it survives, the store stays sound, and writes resume by themselves once space
returns: the same client_msg_id retried then is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.conftest import STRICT, RunningHub, embedded_settings
from tests.redis_support import RedisServer

MOUNT_HINT = "needs root to mount a small tmpfs (CI runs as root)"


@contextlib.contextmanager
def small_filesystem(where: Path, size: str = "8m") -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        if STRICT:
            pytest.fail(MOUNT_HINT)
        pytest.skip(MOUNT_HINT)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s filesystem; the filler, to remove later."""
    filler = folder / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1):  # big pieces, then the last bytes one by one
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


async def publish_until_refused(client: Any, ch: str, tag: str) -> tuple[dict[str, Any], str]:
    """Publish until one is refused (the space left may take a few); the refusal."""
    for n in range(2000):
        cmid = f"{tag}-{n}"
        frame = await client.publish(ch, f"{tag} {n} " + "x" * 2000, cmid)
        if frame["type"] == "error":
            return frame, cmid
    raise AssertionError("no publish was refused on a full filesystem")


@pytest.mark.slow
async def test_embedded_full_disk_refuses_without_ack_and_recovers(
        start_hub: Any, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small") as small:
        settings = embedded_settings(tmp_path).replace(data_dir=small / "data")
        hub: RunningHub = await start_hub(settings)
        ch = hub.ch("A/general")
        alice = await hub.client("alice")
        acked = []
        for n in range(20):
            ack = await alice.publish(ch, f"before {n}", f"before-{n}")
            assert ack["type"] == "ack"
            acked.append(ack["seq"])
        filler = fill(small)
        refusal, cmid = await publish_until_refused(alice, ch, "full")
        assert refusal["code"] == "unavailable" and refusal["retryable"] is True, refusal
        r = await hub.api("POST", f"/api/channels/{ch}/messages", "alice",
                          json={"text": "over REST", "client_msg_id": "rest-full"})
        assert r.status_code == 503 and r.json()["error"]["retryable"] is True, r.text
        # Space returns: the same publish goes through, once, with no gap before it.
        filler.unlink()
        retry = await alice.publish(ch, "full retried", cmid)
        assert retry["type"] == "ack" and retry["duplicate"] is False, retry
        again = await alice.publish(ch, "full retried", cmid)
        assert again["type"] == "ack" and again["seq"] == retry["seq"]
        await hub.stop()
        db = sqlite3.connect(small / "data/hub.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            seqs = [row[0] for row in db.execute(
                "SELECT seq FROM messages WHERE channel_id=? ORDER BY seq", (ch,))]
            texts = [msgpack.unpackb(row[0])["text"] for row in db.execute(
                "SELECT body FROM messages WHERE channel_id=? ORDER BY seq", (ch,))]
        finally:
            db.close()
        assert seqs == list(range(1, len(seqs) + 1))  # no hole where a write failed
        assert set(acked) <= set(seqs) and seqs[-1] == retry["seq"]
        assert texts.count("full retried") == 1
        assert "over REST" not in texts


@pytest.mark.slow
async def test_redis_full_disk_refuses_without_ack_and_recovers(start_hub: Any,
                                                                 tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", size="16m") as small:
        server = RedisServer(appendonly=True, fsync="always")  # its log stays outside
        server.args[server.args.index("--dir") + 1] = str(small)
        server.start()
        try:
            settings = embedded_settings(tmp_path).replace(engine=server.url,
                                                           redis_prefix="full:")
            hub: RunningHub = await start_hub(settings)
            ch = hub.ch("A/general")
            alice = await hub.client("alice")
            acked = [(await alice.publish(ch, f"before {n}", f"b-{n}"))["seq"]
                     for n in range(20)]
            filler = fill(small)
            refusal, cmid = await publish_until_refused(alice, ch, "full")
            assert refusal["code"] == "unavailable" and refusal["retryable"], refusal
            # With appendfsync always, Redis cannot go on after a failed AOF write and
            # exits (its log says so); a supervisor restarts it once there is space, and
            # the hub reconnects by itself.
            async with asyncio.timeout(60):
                while server.proc is not None and server.proc.poll() is None:
                    await asyncio.sleep(0.1)
            log = (server.dir / "server.log").read_text(errors="replace")
            assert "Can't recover from AOF write error" in log, log[-2000:]
            filler.unlink()
            server.start()
            async with asyncio.timeout(60):
                while (ack := await alice.publish(ch, "full retried", cmid))["type"] != "ack":
                    await asyncio.sleep(0.2)
            r = await hub.api("GET", f"/api/channels/{ch}/messages?limit=500", "alice")
            seqs = [m["seq"] for m in r.json()["messages"]]
            assert seqs == list(range(1, len(seqs) + 1)) and set(acked) <= set(seqs)
            assert ack["seq"] == seqs[-1]
            assert [m["text"] for m in r.json()["messages"]].count("full retried") == 1
            await hub.stop()
            # What Redis kept on disk is whole: it restarts from its AOF with every ack.
            server.kill()
            server.start()
            hub2: RunningHub = await start_hub(settings, seeded=False)
            r = await hub2.api("GET", f"/api/channels/{ch}/messages?limit=500", "alice")
            assert [m["seq"] for m in r.json()["messages"]] == seqs
        finally:
            server.stop()
