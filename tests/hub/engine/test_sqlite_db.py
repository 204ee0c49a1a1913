"""hub/engine/sqlite_db.py: a database made before a column was added opens, gains the
column, and its rows read back with the column's default; its messages, stored with the
chat fields as columns, read back as envelopes around a chat body (schema 3)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from channels.bodies import ChatBody, Priority, chat_body
from hub.config import Settings
from hub.engine import build_engine
from hub.engine.sqlite_db import ADDED_COLUMNS
from hub.models import ChannelId, UserId
from tests.chat import first_schema


def _old_database(path: Path) -> None:
    """The first schema (SCHEMA, before ADDED_COLUMNS), with one user and one channel."""
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript(first_schema())
    for table, column, _ in ADDED_COLUMNS:
        assert column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    db.execute("INSERT INTO users VALUES ('usr_1','alice','Alice','POLICE',0,0,0,'h',NULL,1.0)")
    db.execute("INSERT INTO operations VALUES ('op_1','OP','Op','active','RESTRICTED - X',"
               "'[]',1.0)")
    db.execute("INSERT INTO channels (id, operation_id, name, topic, agencies, created_at) "
               "VALUES ('ch_1','op_1','general','','[\"POLICE\"]',1.0)")
    db.execute("INSERT INTO messages VALUES ('ch_1',1,'msg_1','usr_1','alice','Alice',"
               "'POLICE','bridge is out',2.5,'urgent','c-1')")
    db.commit()
    db.close()


async def test_an_older_database_gains_the_added_columns(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    _old_database(settings.database_path)
    engine = build_engine(settings)
    await engine.store.open()
    try:
        user = await engine.store.get_user(UserId("usr_1"))
        channel = await engine.store.get_channel(ChannelId("ch_1"))
        assert user is not None and user.clearance == ""
        assert channel is not None and (channel.label, channel.agencies) == ("", ("POLICE",))
        await engine.store.update_user(UserId("usr_1"), clearance='{"level":"SECRET"}')
        user = await engine.store.get_user(UserId("usr_1"))
        assert user is not None and user.clearance == '{"level":"SECRET"}'
        [message] = await engine.store.read_messages(ChannelId("ch_1"))
        assert (message.seq, message.sender, message.ts, message.client_msg_id,
                message.label_json, message.real_world) == (1, "alice", 2.5, "c-1", "", False)
        assert chat_body(message) == ChatBody(text="bridge is out", priority=Priority.URGENT)
        assert message.frame()["text"] == "bridge is out"
    finally:
        await engine.store.close()
    columns = {r[1] for r in sqlite3.connect(settings.database_path).execute(
        "PRAGMA table_info(channels)")}
    assert "label" in columns
