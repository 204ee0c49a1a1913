"""Backup and restore of the embedded engine's database.

The copy is made with SQLite's online backup API from a connection of its own,
in one step: one read transaction, so the copy is the database as of one
commit, with every write acknowledged before it; in WAL mode the hub goes on
writing meanwhile. Never a file copy of a live database (its WAL would be
missing or half-copied).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from hub.engine.port import Snapshot
from hub.engine.sqlite_db import schema_of
from hub.errors import BackupError
from hub.private import fsync_dir, private_dir

__all__ = ["PART", "has_data", "restore", "snapshot"]

#: The database's name in the archive.
PART = "data/hub.db"


def snapshot(path: Path, workdir: Path) -> Snapshot:
    if not path.is_file():
        raise BackupError(f"there is no database at {path}: nothing to back up")
    copy = workdir / "hub.db"
    src = sqlite3.connect(path, timeout=30)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy of {path} fails SQLite's integrity check: "
                                  f"{verdict}")
            head = _audit_head(dst)
            counts = {table: int(dst.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
                      for table in ("messages", "records", "op_log", "audit")
                      if _has_table(dst, table)}
            schema = schema_of(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return Snapshot(parts={PART: copy}, schema=schema, audit_head=head, counts=counts)


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def _audit_head(db: sqlite3.Connection) -> tuple[int, str] | None:
    if not _has_table(db, "audit_head"):
        return None
    row = db.execute("SELECT seq, hash FROM audit_head WHERE id=1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def has_data(path: Path) -> bool:
    return any(path.parent.glob(path.name + "*"))


def restore(part: Path, path: Path) -> None:
    """Put the archived database at ``path`` (which must not exist), durably."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".restoring")
    with part.open("rb") as src, tmp.open("xb") as out:
        while block := src.read(1 << 20):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    tmp.rename(path)
    fsync_dir(path.parent)

