"""`liaison audit verify` passes untouched and fails after any edit, deletion or reorder."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerting.bodies import NewCase
from hub.audit import GENESIS, AuditKey, chain_hash, load_keys
from hub.config import Settings
from liaison.app import build_services
from tests.conftest import seed


def liaison(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "liaison", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    data_dir = tmp_path_factory.mktemp("audit") / "data"

    async def make() -> None:
        services = build_services(Settings(data_dir=data_dir))
        hub = services.hub
        await hub.engine.store.open()
        await seed(services)
        for i in range(30):
            await hub.auditor.record(actor="alice", action="login", target=f"ses_{i}",
                                     outcome="ok", client="127.0.0.1")
        await hub.engine.store.close()

    asyncio.run(make())
    return data_dir


def _keys(data_dir: Path) -> Path:
    return data_dir.with_name(data_dir.name + "-keys")


def _copy(src: Path, dst: Path) -> Path:
    """The data directory and its key directory beside it (keys live outside the data)."""
    shutil.copytree(src, dst)
    shutil.copytree(src.with_name(src.name + "-keys"), dst.with_name(dst.name + "-keys"))
    return dst


def _sql(data_dir: Path, *statements: str) -> None:
    db = sqlite3.connect(data_dir / "hub.db")
    for stmt in statements:
        db.execute(stmt)
    db.commit()
    db.close()


def test_verify_passes_on_untouched_log(audited: Path) -> None:
    result = liaison(audited, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK:")
    count = int(result.stdout.split()[1])
    assert count > 40


def test_export_writes_json_lines_without_secrets(audited: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    assert liaison(audited, "audit", "export", "-o", str(out)).returncode == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["seq"] == 1 and records[-1]["seq"] == len(records)
    assert {"actor", "action", "target", "outcome", "ts", "client", "hash"} <= set(records[0])
    assert "correct horse" not in out.read_text()
    assert "lhs_" not in out.read_text()


TAMPERING: dict[str, Callable[[], tuple[str, ...]]] = {
    "edit actor": lambda: ("UPDATE audit SET actor='mallory' WHERE seq=12",),
    "edit outcome": lambda: ("UPDATE audit SET outcome='denied' WHERE seq=3",),
    "edit time": lambda: ("UPDATE audit SET ts=ts+1 WHERE seq=20",),
    "delete middle": lambda: ("DELETE FROM audit WHERE seq=15",),
    "delete first": lambda: ("DELETE FROM audit WHERE seq=1",),
    "delete last": lambda: ("DELETE FROM audit WHERE seq=(SELECT MAX(seq) FROM audit)",),
    "reorder": lambda: (
        "UPDATE audit SET seq=-1 WHERE seq=10",
        "UPDATE audit SET seq=10 WHERE seq=11",
        "UPDATE audit SET seq=11 WHERE seq=-1",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verify_detects_tampering(audited: Path, tmp_path: Path, name: str) -> None:
    copy = _copy(audited, tmp_path / "copy")
    _sql(copy, *TAMPERING[name]())
    result = liaison(copy, "audit", "verify")
    assert result.returncode == 1, (name, result.stdout)
    assert result.stdout.startswith("FAILED")


def test_truncation_with_forged_head_is_caught_by_an_offsite_head(audited: Path,
                                                                   tmp_path: Path) -> None:
    head = liaison(audited, "audit", "verify").stdout.split()[-1]
    copy = _copy(audited, tmp_path / "copy")
    _sql(copy, "DELETE FROM audit WHERE seq>40",
         "UPDATE audit_head SET seq=40, hash=(SELECT hash FROM audit WHERE seq=40)")
    assert liaison(copy, "audit", "verify").returncode == 0  # consistent on its own...
    result = liaison(copy, "audit", "verify", "--expect-head", head)
    assert result.returncode == 1  # ...but not with the head kept off-host


def _rechain(data_dir: Path, key: AuditKey | None) -> None:
    """Edit record 12 and recompute every hash after it, as someone with the database
    (but not the key file) would."""
    db = sqlite3.connect(data_dir / "hub.db")
    db.execute("UPDATE audit SET actor='mallory' WHERE seq=12")
    rows = db.execute("SELECT seq, ts, actor, action, target, outcome, operation_id, client, "
                      "details FROM audit ORDER BY seq").fetchall()
    prev = GENESIS
    for seq, ts, actor, action, target, outcome, op, client, details in rows:
        digest = chain_hash(prev, seq, ts, actor, action, target, outcome, op, client,
                            json.loads(details), key)
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE seq=?", (prev, digest, seq))
        prev = digest
    db.execute("UPDATE audit_head SET seq=?, hash=?", (len(rows), prev))
    db.commit()
    db.close()


@pytest.mark.parametrize("forger", ["plain sha-256", "a key of their own"])
def test_a_rechained_log_is_detected_with_the_key(audited: Path, tmp_path: Path,
                                                  forger: str) -> None:
    copy = _copy(audited, tmp_path / "copy")
    own = AuditKey("kforged", b"x" * 32) if forger != "plain sha-256" else None
    _rechain(copy, own)
    result = liaison(copy, "audit", "verify")
    assert result.returncode == 1 and result.stdout.startswith("FAILED"), result.stdout
    # The key file is the only thing that tells: with an off-host copy as well.
    offsite = tmp_path / "offsite.key"
    shutil.copy(_keys(audited) / "audit.key", offsite)
    result = liaison(copy, "audit", "verify", "--key-file", str(offsite))
    assert result.returncode == 1


def test_records_are_signed_and_keys_rotate(audited: Path, tmp_path: Path) -> None:
    copy = _copy(audited, tmp_path / "copy")
    first = load_keys(_keys(copy) / "audit.key")
    assert len(first) == 1 and (_keys(copy) / "audit.key").stat().st_mode & 0o077 == 0
    db = sqlite3.connect(copy / "hub.db")
    hashes = [h for (h,) in db.execute("SELECT hash FROM audit")]
    db.close()
    assert all(h.startswith(first[0].id + ":") for h in hashes)
    assert first[0].secret.hex() not in (copy / "hub.db").read_bytes().hex()
    rotated = liaison(copy, "audit", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    keys = load_keys(_keys(copy) / "audit.key")
    assert len(keys) == 2
    assert liaison(copy, "user", "add", "newbie", "--agency", "POLICE", "--bot").returncode == 0
    db = sqlite3.connect(copy / "hub.db")
    last = db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
    db.close()
    assert last.startswith(keys[1].id + ":")
    verified = liaison(copy, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    (_keys(copy) / "audit.key").write_text(f"{keys[1].id} {keys[1].secret.hex()}\n")
    assert liaison(copy, "audit", "verify").returncode == 1  # the first key is needed too


def test_repair_rewrites_a_planted_poisoned_record(tmp_path: Path) -> None:
    import asyncio

    data_dir = tmp_path / "data"

    async def make() -> str:
        services = build_services(Settings(data_dir=data_dir))
        hub = services.hub
        await hub.engine.store.open()
        ops, _ = await seed(services)
        principal = await _bruno(hub)
        event, _ = await services.cases.create_case(principal, ops["A"].id,
                                                    NewCase(title="bridge"), "t")
        await hub.engine.store.close()
        return event.record_id

    case_id = asyncio.run(make())
    raw = json.dumps({"id": case_id, "title": "bridge \udc00", "fields": {"level": float("nan")},
                      "n": 2**70})
    _sql(data_dir, f"UPDATE records SET doc='{raw}' WHERE id='{case_id}'",
         f"UPDATE op_log SET data='{json.dumps({'record': {'x': float('inf')}})}' "
         f"WHERE record_id='{case_id}'")
    dry = liaison(data_dir, "repair", "--dry-run")
    assert dry.returncode == 0 and "would repair: 1 records, 1 events, 0 state" in dry.stdout
    done = liaison(data_dir, "repair")
    assert done.returncode == 0 and "repaired: 1 records, 1 events" in done.stdout, done.stderr
    db = sqlite3.connect(data_dir / "hub.db")
    doc = json.loads(db.execute("SELECT doc FROM records WHERE id=?", (case_id,)).fetchone()[0])
    data = db.execute("SELECT data FROM op_log WHERE record_id=?", (case_id,)).fetchone()[0]
    db.close()
    assert doc == {"id": case_id, "title": "bridge \ufffd", "fields": {"level": None},
                   "n": str(2**70)}
    assert json.loads(data) == {"record": {"x": None}}
    again = liaison(data_dir, "repair")
    assert "repaired: 0 records, 0 events, 0 state" in again.stdout
    assert liaison(data_dir, "audit", "verify").returncode == 0


async def _bruno(hub: Any) -> Any:
    from hub.principal import Principal

    user = await hub.engine.store.get_user_by_name("bruno")
    return Principal(user, "test", "session", None, None)
