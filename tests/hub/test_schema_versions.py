"""Each store keeps the data schema it was written with (hub/engine/schema.py): a new
store is stamped, an unstamped one from release 0.1.0 is migrated and stamped, and one
stamped by a newer release is refused, by the store and by the CLI with a message (no
trace), leaving the data as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis

from hub import __version__
from hub.engine.redis_keys import LAYOUT, RedisKeys
from hub.engine.schema import SCHEMAS
from hub.engine.sqlite_db import ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION
from hub.errors import DataTooNew
from liaison.cli import main
from tests.chat import first_schema
from tests.redis_support import cleanup, new_prefix, redis_url


def _stamp(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_version_names_the_release_and_each_engines_schema(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() == (f"liaison-hub {__version__} (data schema: "
                           f"embedded {SCHEMAS['embedded']}, redis {SCHEMAS['redis']})")


def test_a_new_database_is_stamped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "user", "list"]) == 0
    assert _stamp(tmp_path / "hub.db") == SCHEMA_VERSION


def test_an_unstamped_database_of_the_first_schema_is_migrated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as db:  # the tables before any column was added
        db.executescript(first_schema())
        for table, column, _ in ADDED_COLUMNS:
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if column in have:
                db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    assert _stamp(path) == 0
    assert main(["--data-dir", str(tmp_path), "user", "list"]) == 0
    assert _stamp(path) == SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        for table, column, _ in ADDED_COLUMNS:
            assert column in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def test_a_version_1_database_keys_its_records_by_operation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Schema 2 (issue 26): records keyed by (operation, kind, id); the rebuild keeps them."""
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute("DROP TABLE records")
        db.execute("CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, operation_id "
                   "TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL, "
                   "PRIMARY KEY (kind, id)) WITHOUT ROWID")
        db.execute("CREATE INDEX records_op ON records(operation_id, kind)")
        db.execute("INSERT INTO records VALUES ('rule','crit','op_a',3,'{\"id\":\"crit\"}')")
        db.execute("PRAGMA user_version=1")
    assert main(["--data-dir", str(tmp_path), "user", "list"]) == 0
    assert _stamp(path) == SCHEMA_VERSION == 3
    with sqlite3.connect(path) as db:
        keys = {r[1]: r[5] for r in db.execute("PRAGMA table_info(records)")}
        assert keys == {"kind": 2, "id": 3, "operation_id": 1, "version": 0, "doc": 0}
        assert db.execute("SELECT * FROM records").fetchall() == [
            ("rule", "crit", "op_a", 3, '{"id":"crit"}')]
        db.execute("INSERT INTO records VALUES ('rule','crit','op_b',1,'{}')")  # its own id


def test_a_database_from_a_newer_release_is_refused_and_left_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE from_the_future (x)")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    for command in (["user", "list"], ["serve", "--port", "0"]):
        assert main(["--data-dir", str(tmp_path), *command]) == 1
        err = capsys.readouterr().err
        assert f"data schema {SCHEMA_VERSION + 1}, newer than this release" in err
        assert "Downgrading is not supported" in err and "Traceback" not in err
    assert path.read_bytes() == before
    assert _stamp(path) == SCHEMA_VERSION + 1


async def test_a_redis_keyspace_from_a_newer_release_is_refused() -> None:
    from hub.engine.redis_connect import connect
    from hub.engine.redis_store import RedisStore

    url, prefix = redis_url(), new_prefix()
    raw = redis.Redis.from_url(url)
    try:
        raw.set(RedisKeys(prefix).layout(), LAYOUT + 1)
        client, _ = connect(url)
        store = RedisStore(client, prefix=prefix, idempotency_seconds=60)
        with pytest.raises(DataTooNew) as refused:
            await store.open()
        await client.aclose()
        assert f"data schema {LAYOUT + 1}" in str(refused.value)
        assert int(raw.get(RedisKeys(prefix).layout()) or 0) == LAYOUT + 1
        # A fresh keyspace is stamped with this release's layout on its first open.
        fresh = new_prefix()
        client, _ = connect(url)
        store = RedisStore(client, prefix=fresh, idempotency_seconds=60)
        await store.open()
        assert await store.schema_version() == LAYOUT
        await store.close()
        cleanup(url, fresh)
    finally:
        cleanup(url, prefix)
        raw.close()
