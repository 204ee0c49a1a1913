"""`liaison backup` and `liaison restore` refusing what they must: a target that holds
data, an archive with a changed byte, an archive of a newer data schema, another
engine's archive, a key file that differs; and what a backup without keys means."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import redis

from hub.engine.redis_keys import LAYOUT, RedisKeys
from hub.engine.sqlite_db import SCHEMA_VERSION
from liaison.cli import main
from tests.redis_support import cleanup, new_prefix, redis_url, require_redis_tools

PASSWORD = "correct horse battery"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        data: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(["--data-dir", str(data), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def hub_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "live"
    assert run(capsys, monkeypatch, data, "init", "root", "--agency", "HUB",
               "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    assert run(capsys, monkeypatch, data, "op", "create", "FLOOD", "--name", "Flood")[0] == 0
    return data


def test_restore_refuses_a_directory_that_holds_data(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "b.tar"
    code, out = run(capsys, monkeypatch, hub_dir, "backup", str(archive))
    assert code == 0, out
    code, out = run(capsys, monkeypatch, hub_dir, "restore", str(archive))
    assert code == 1 and "is not empty" in out and "Traceback" not in out
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("anything")
    code, out = run(capsys, monkeypatch, other, "restore", str(archive))
    assert code == 1 and "is not empty" in out
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    # and a backup never overwrites
    code, out = run(capsys, monkeypatch, hub_dir, "backup", str(archive))
    assert code == 1 and "exists already" in out


def test_restore_refuses_a_flipped_byte_and_writes_nothing(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "b.tar"
    assert run(capsys, monkeypatch, hub_dir, "backup", str(archive))[0] == 0
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside the database part
    archive.write_bytes(bytes(data))
    target = tmp_path / "restored"
    code, out = run(capsys, monkeypatch, target, "restore", str(archive))
    assert code == 1 and "does not match its SHA-256" in out, out
    assert not target.exists() or not any(target.iterdir())


def test_restore_refuses_an_archive_of_a_newer_data_schema(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite3.connect(hub_dir / "hub.db") as db:  # as a newer release would stamp it
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    archive = tmp_path / "b.tar"
    assert run(capsys, monkeypatch, hub_dir, "backup", str(archive))[0] == 0
    target = tmp_path / "restored"
    code, out = run(capsys, monkeypatch, target, "restore", str(archive))
    assert code == 1, out
    assert f"data schema {SCHEMA_VERSION + 1}, newer than this release" in out
    assert not target.exists() or not any(target.iterdir())


def test_a_backup_without_keys_restores_and_says_what_is_missing(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "b.tar"
    code, out = run(capsys, monkeypatch, hub_dir, "backup", str(archive), "--no-keys")
    assert code == 0 and "left out" in out
    target = tmp_path / "restored"
    code, out = run(capsys, monkeypatch, target, "restore", str(archive))
    assert code == 0, out
    assert "not verified: no audit key file" in out and "audit key file at" in out
    keys = target.with_name(target.name + "-keys")
    assert not (keys / "audit.key").exists() and f"audit key file at {keys}/audit.key" in out
    # With the key put back where the note says, the chain verifies.
    shutil.copytree(hub_dir.with_name(hub_dir.name + "-keys"), keys)
    code, out = run(capsys, monkeypatch, target, "audit", "verify")
    assert code == 0 and out.startswith("OK"), out


def test_a_restored_hub_still_hands_out_every_public_key_it_signed_with(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 26: after a rotation, old exports verify only with the old public key; a
    backup (even without its private keys) carries every public key to the restored hub."""
    assert run(capsys, monkeypatch, hub_dir, "signing-key", "rotate")[0] == 0
    code, before = run(capsys, monkeypatch, hub_dir, "export", "public-key")
    assert code == 0 and before.count("BEGIN PUBLIC KEY") == 2
    archive = tmp_path / "b.tar"
    assert run(capsys, monkeypatch, hub_dir, "backup", str(archive), "--no-keys")[0] == 0
    target = tmp_path / "restored"
    assert run(capsys, monkeypatch, target, "restore", str(archive))[0] == 0
    ring = target.with_name(target.name + "-keys") / "signing.key.pub"
    assert ring.read_text() == before


def test_restore_refuses_another_key_where_the_archives_goes(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "b.tar"
    assert run(capsys, monkeypatch, hub_dir, "backup", str(archive))[0] == 0
    elsewhere = tmp_path / "keys/audit.key"
    elsewhere.parent.mkdir()
    elsewhere.write_text("kother " + "00" * 32 + "\n")
    elsewhere.chmod(0o600)
    monkeypatch.setenv("LIAISON_AUDIT_KEY_FILE", str(elsewhere))
    code, out = run(capsys, monkeypatch, tmp_path / "restored", "restore", str(archive))
    assert code == 1 and "holds another key" in out


def test_an_embedded_archive_is_refused_by_a_redis_hub(
        hub_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "b.tar"
    assert run(capsys, monkeypatch, hub_dir, "backup", str(archive))[0] == 0
    monkeypatch.setenv("LIAISON_ENGINE", redis_url())
    monkeypatch.setenv("LIAISON_REDIS_PREFIX", new_prefix())
    code, out = run(capsys, monkeypatch, tmp_path / "r", "restore", str(archive))
    assert code == 1 and "embedded engine" in out and "redis engine" in out


def test_redis_restore_refuses_a_keyspace_with_data_and_a_newer_layout(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    require_redis_tools()
    url, source, target = redis_url(), new_prefix(), new_prefix()
    raw = redis.Redis.from_url(url)
    monkeypatch.setenv("LIAISON_ENGINE", url)
    try:
        monkeypatch.setenv("LIAISON_REDIS_PREFIX", source)
        assert run(capsys, monkeypatch, tmp_path / "a", "init", "root", "--agency", "HUB",
                   "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
        archive = tmp_path / "b.tar"
        code, out = run(capsys, monkeypatch, tmp_path / "a", "backup", str(archive))
        assert code == 0, out
        monkeypatch.setenv("LIAISON_REDIS_PREFIX", target)
        raw.set(target + "something", "already here")
        code, out = run(capsys, monkeypatch, tmp_path / "b", "restore", str(archive))
        assert code == 1 and "is not empty" in out, out
        assert raw.keys(target + "*") == [(target + "something").encode()]
        # A keyspace stamped by a newer release, backed up, is refused on restore.
        raw.set(RedisKeys(source).layout(), LAYOUT + 1)
        monkeypatch.setenv("LIAISON_REDIS_PREFIX", source)
        newer = tmp_path / "newer.tar"
        assert run(capsys, monkeypatch, tmp_path / "a", "backup", str(newer))[0] == 0
        cleanup(url, target)
        monkeypatch.setenv("LIAISON_REDIS_PREFIX", target)
        code, out = run(capsys, monkeypatch, tmp_path / "c", "restore", str(newer))
        assert code == 1 and f"data schema {LAYOUT + 1}, newer" in out, out
        assert raw.keys(target + "*") == []
    finally:
        cleanup(url, source)
        cleanup(url, target)
        raw.close()
