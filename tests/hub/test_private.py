"""Issue 24, finding 10: the database, its WAL, exports, audit exports and backups are
readable by the hub's user only (0600), and a data folder the hub makes is 0700."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from liaison.cli import main

PASSWORD = "correct horse battery"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_the_hub_writes_is_its_users_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import os

    old = os.umask(0o022)  # the common default, under which files come out 0644
    try:
        data = tmp_path / "data"
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert main(["--data-dir", str(data), "init", "root", "--agency", "HUB",
                     "--password-stdin"]) == 0
        assert main(["--data-dir", str(data), "op", "create", "FLOOD", "--name", "F"]) == 0
        assert main(["--data-dir", str(data), "op", "member", "FLOOD", "root"]) == 0
        assert main(["--data-dir", str(data), "op", "custodian", "FLOOD", "root"]) == 0
        out = tmp_path / "out"
        out.mkdir()
        assert main(["--data-dir", str(data), "op", "export", "FLOOD", "--custodian", "root",
                     "--out", str(out / "flood.zip")]) == 0
        assert main(["--data-dir", str(data), "audit", "export", "-o",
                     str(out / "audit.jsonl")]) == 0
        assert main(["--data-dir", str(data), "backup", str(out / "b.tar")]) == 0
    finally:
        os.umask(old)
    assert _mode(data) == 0o700
    files = [data / "hub.db", out / "flood.zip", out / "audit.jsonl", out / "b.tar",
             *[p for p in data.iterdir() if p.name.startswith("hub.db-")]]
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_database_is_narrowed_and_a_shared_folder_left_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "srv"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    (shared / "hub.db").touch(mode=0o644)
    (shared / "hub.db").chmod(0o644)
    assert main(["--data-dir", str(shared), "user", "list"]) == 0
    assert _mode(shared / "hub.db") == 0o600
    assert _mode(shared) == 0o755
