"""Issue 26, item 3: the audit trail verified by anyone with the hub's public key alone.

A hub signs the trail's digest every few records (``audit.checkpoint``); `liaison audit
verify --records TRAIL --public-key KEYS.pem` checks links, checkpoints and rotations
with no data directory and no HMAC key. A trail rewritten and re-chained with the
stolen HMAC key passes the HMAC check but not the checkpoints; a rotation keeps old
exports and checkpoints verifying, from the first public key on."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.audit import GENESIS, chain_hash, load_keys, verify_chain
from hub.config import Settings
from hub.engine.rows import audit_record
from liaison.app import build_services
from tests.conftest import seed

ENV = {**os.environ, "LIAISON_AUDIT_CHECKPOINT_RECORDS": "10"}


def liaison(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liaison", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60, check=False, env=ENV)


def offline(*args: str) -> subprocess.CompletedProcess[str]:
    """A verifier's machine: no data directory at all."""
    return subprocess.run([sys.executable, "-m", "liaison", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=ENV)


def seed_audited(data_dir: Path, records: int, **settings: Any) -> Path:
    """The test world on ``data_dir`` and ``records`` logins after it, a checkpoint every
    ten records (the other settings as given)."""

    async def make() -> None:
        services = build_services(Settings(data_dir=data_dir, audit_checkpoint_records=10,
                                           **settings))
        await services.hub.engine.store.open()
        await seed(services)
        for i in range(records):
            await services.hub.auditor.record(actor="alice", action="login",
                                              target=f"ses_{i}", outcome="ok")
        await services.hub.engine.store.close()

    asyncio.run(make())
    return data_dir


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    return seed_audited(tmp_path / "data", 25)


async def _records(data_dir: Path, n: int) -> None:
    """``n`` audit records written by a hub process on ``data_dir`` (its key file read
    afresh: after a rotation, the new key)."""
    services = build_services(Settings(data_dir=data_dir, audit_checkpoint_records=10))
    await services.hub.engine.store.open()
    for i in range(n):
        await services.hub.auditor.record(actor="bruno", action="login", target=f"late_{i}",
                                          outcome="ok")
    await services.hub.engine.store.close()


def _trail(data_dir: Path, path: Path) -> list[dict[str, object]]:
    assert liaison(data_dir, "audit", "export", "-o", str(path)).returncode == 0
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _keys_pem(data_dir: Path, path: Path) -> Path:
    result = liaison(data_dir, "export", "public-key")
    assert result.returncode == 0, result.stderr
    path.write_text(result.stdout)
    return path


def test_the_trail_verifies_with_the_public_key_alone(hub_dir: Path, tmp_path: Path) -> None:
    records = _trail(hub_dir, tmp_path / "trail.jsonl")
    checkpoints = [r for r in records if r["action"] == "audit.checkpoint"]
    assert len(checkpoints) >= 3, [r["action"] for r in records]
    keys = _keys_pem(hub_dir, tmp_path / "keys.pem")
    result = offline("audit", "verify", "--records", str(tmp_path / "trail.jsonl"),
                     "--public-key", str(keys))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: {len(records)} records")
    assert f"{len(checkpoints)} signed checkpoints" in result.stdout
    # The same check on the hub's own store.
    result = liaison(hub_dir, "audit", "verify", "--public-key", str(keys))
    assert result.returncode == 0 and "signed checkpoints" in result.stdout, result.stdout


def test_a_trail_rechained_with_the_stolen_hmac_key_fails_its_checkpoints(
        hub_dir: Path, tmp_path: Path) -> None:
    records = _trail(hub_dir, tmp_path / "trail.jsonl")
    stolen = load_keys(hub_dir.with_name("data-keys") / "audit.key")[-1]
    victim = next(r for r in records if r["action"] == "login" and int(str(r["seq"])) > 20)
    victim["actor"] = "mallory"
    prev = GENESIS
    for r in records:  # re-chained as the key holder would: every HMAC is right again
        r["prev_hash"] = prev
        r["hash"] = chain_hash(prev, int(str(r["seq"])), float(str(r["ts"])), str(r["actor"]),
                               str(r["action"]), str(r["target"]), str(r["outcome"]),
                               str(r["operation_id"]), str(r["client"]),
                               r["details"], stolen)  # type: ignore[arg-type]
        prev = str(r["hash"])
    forged = [audit_record(r) for r in records]
    assert verify_chain(forged, None, {stolen.id: stolen}).ok  # the HMAC check is fooled
    _write(tmp_path / "forged.jsonl", records)
    keys = _keys_pem(hub_dir, tmp_path / "keys.pem")
    result = offline("audit", "verify", "--records", str(tmp_path / "forged.jsonl"),
                     "--public-key", str(keys))
    assert result.returncode == 1 and result.stdout.startswith("FAILED"), result.stdout
    # Every checkpoint after the edit is named, none before it.
    later = [r["seq"] for r in records if r["action"] == "audit.checkpoint"
             and int(str(r["details"]["upto"])) >= int(str(victim["seq"]))]  # type: ignore[index]
    assert later
    for seq in later:
        assert f"checkpoint at record {seq}: records 1-" in result.stdout, result.stdout
    assert result.stdout.count("the trail was rewritten") == len(later)
    # Dropping the checkpoints instead leaves the records vouched for by nothing.
    bare = [r for r in records if r["action"] != "audit.checkpoint"]
    for n, r in enumerate(bare, 1):
        r["seq"] = n
    _write(tmp_path / "bare.jsonl", bare)
    result = offline("audit", "verify", "--records", str(tmp_path / "bare.jsonl"),
                     "--public-key", str(keys), "--max-unsigned", "20")
    assert result.returncode == 1 and "vouched for by no signed checkpoint" in result.stdout


def test_rotation_keeps_old_exports_and_checkpoints_verifying(hub_dir: Path,
                                                               tmp_path: Path) -> None:
    first_key = _keys_pem(hub_dir, tmp_path / "first.pem")
    assert liaison(hub_dir, "op", "custodian", "OP-B", "xavier").returncode == 0
    old_export = tmp_path / "old.zip"
    assert liaison(hub_dir, "op", "export", "OP-B", "--custodian", "xavier",
                   "--out", str(old_export)).returncode == 0
    rotated = liaison(hub_dir, "signing-key", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    asyncio.run(_records(hub_dir, 12))  # records (and checkpoints) under the new key
    new_export = tmp_path / "new.zip"
    assert liaison(hub_dir, "op", "export", "OP-B", "--custodian", "xavier",
                   "--out", str(new_export)).returncode == 0
    records = _trail(hub_dir, tmp_path / "trail.jsonl")
    rotation = next(r for r in records if r["action"] == "signing.key_rotated")
    signers = {r["details"]["key_id"] for r in records  # type: ignore[index]
               if r["action"] == "audit.checkpoint"}
    assert signers == {rotation["details"]["from"], rotation["details"]["to"]}  # type: ignore[index]
    # From the first public key alone, the trail verifies: the old key vouched for the new.
    result = offline("audit", "verify", "--records", str(tmp_path / "trail.jsonl"),
                     "--public-key", str(first_key))
    assert result.returncode == 0, result.stdout
    assert str(rotation["details"]["to"]) in result.stdout  # type: ignore[index]
    # Both exports verify with the hub's public keys (old and new).
    keys = _keys_pem(hub_dir, tmp_path / "keys.pem")
    assert keys.read_text().count("BEGIN PUBLIC KEY") == 2
    for archive in (old_export, new_export):
        result = offline("export", "verify", str(archive), "--public-key", str(keys))
        assert result.returncode == 0, result.stdout
    result = offline("export", "verify", str(new_export), "--public-key", str(first_key))
    assert result.returncode == 1 and "not among the public keys given" in result.stdout
    # A checkpoint signed with the retired key after the rotation is named.
    retired = next(r for r in records if r["action"] == "audit.checkpoint"
                   and r["details"]["key_id"] == rotation["details"]["from"])  # type: ignore[index]
    late = next(r for r in reversed(records) if r["action"] == "audit.checkpoint")
    late["details"] = {**retired["details"], "upto": retired["details"]["upto"]}  # type: ignore[dict-item]
    _write(tmp_path / "late.jsonl", records)
    result = offline("audit", "verify", "--records", str(tmp_path / "late.jsonl"),
                     "--public-key", str(first_key))
    assert result.returncode == 1
    assert f"checkpoint at record {late['seq']}: signed with key " \
           f"{rotation['details']['from']}, retired" in result.stdout  # type: ignore[index]


def test_a_key_file_others_may_read_is_refused(hub_dir: Path) -> None:
    key = hub_dir.with_name("data-keys") / "signing.key"
    assert key.exists()
    key.chmod(0o644)
    result = liaison(hub_dir, "export", "public-key")
    assert result.returncode != 0 and "may be read by others" in result.stderr + result.stdout
    key.chmod(0o600)
    audit_key = hub_dir.with_name("data-keys") / "audit.key"
    audit_key.chmod(0o640)
    result = liaison(hub_dir, "audit", "verify")
    assert result.returncode != 0 and "may be read by others" in result.stderr + result.stdout
