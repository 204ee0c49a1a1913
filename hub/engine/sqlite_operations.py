"""The embedded engine's operations, memberships, channels and messages."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from hub.engine import rows as rowmap
from hub.engine.port import NewMessage
from hub.engine.sqlite_db import SqliteBase, decoded
from hub.errors import Conflict
from hub.models import (
    Channel,
    ChannelId,
    Membership,
    Message,
    MessageEvent,
    Operation,
    OperationId,
    Role,
    User,
    UserId,
    channel_topic,
)

__all__ = ["SqliteOperations"]


def _operation(row: sqlite3.Row) -> Operation:
    return rowmap.operation(decoded(row, "agencies"))


def _channel(row: sqlite3.Row) -> Channel:
    return rowmap.channel(decoded(row, "agencies"))


def _message(row: sqlite3.Row) -> Message:
    return rowmap.message(dict(row))


class SqliteOperations(SqliteBase):
    # --- operations, membership, channels ---------------------------------------

    async def create_operation(self, op: Operation) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO operations (id, code, name, status, classification, agencies,"
            " created_at, exercise) VALUES (?,?,?,?,?,?,?,?)",
            (op.id, op.code, op.name, op.status, op.classification,
             json.dumps(list(op.agencies)), op.created_at, int(op.exercise)))))

    async def get_operation(self, op_id: OperationId) -> Operation | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM operations WHERE id=?", (op_id,)).fetchone())
        return _operation(row) if row else None

    async def get_operation_by_code(self, code: str) -> Operation | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM operations WHERE code=?", (code,)).fetchone())
        return _operation(row) if row else None

    async def update_operation(self, op_id: OperationId, **fields: object) -> None:
        await self._update("operations", rowmap.OPERATION_FIELDS, op_id, fields)

    async def list_operations(self, user_id: UserId | None = None) -> list[Operation]:
        if user_id is None:
            rows = await self._run(lambda db: db.execute(
                "SELECT * FROM operations ORDER BY code").fetchall())
        else:
            rows = await self._run(lambda db: db.execute(
                "SELECT o.* FROM operations o JOIN memberships m ON m.operation_id=o.id "
                "WHERE m.user_id=? ORDER BY o.code", (user_id,)).fetchall())
        return [_operation(r) for r in rows]

    async def set_membership(self, m: Membership) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO memberships VALUES (?,?,?) ON CONFLICT (operation_id, user_id) "
            "DO UPDATE SET role=excluded.role", (m.operation_id, m.user_id, str(m.role)))))

    async def remove_membership(self, op_id: OperationId, user_id: UserId) -> bool:
        cur = await self._run(self._write(lambda db: db.execute(
            "DELETE FROM memberships WHERE operation_id=? AND user_id=?", (op_id, user_id))))
        return cur.rowcount > 0

    async def get_membership(self, op_id: OperationId, user_id: UserId) -> Membership | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM memberships WHERE operation_id=? AND user_id=?",
            (op_id, user_id)).fetchone())
        return Membership(op_id, user_id, Role(row["role"])) if row else None

    async def list_members(self, op_id: OperationId) -> list[tuple[Membership, User]]:
        rows = await self._run(lambda db: db.execute(
            "SELECT u.*, m.role AS role FROM memberships m JOIN users u ON u.id=m.user_id "
            "WHERE m.operation_id=? ORDER BY u.username", (op_id,)).fetchall())
        return [(Membership(op_id, UserId(r["id"]), Role(r["role"])), rowmap.user(r)) for r in rows]

    async def create_channel(self, ch: Channel) -> None:
        await self._run(self._write(lambda db: db.execute(
            "INSERT INTO channels (id, operation_id, name, topic, agencies, created_at,"
            " last_seq, first_seq, label, exercise) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (ch.id, ch.operation_id, ch.name, ch.topic, json.dumps(list(ch.agencies)),
             ch.created_at, ch.last_seq, ch.first_seq, ch.label, int(ch.exercise)))))

    async def get_channel(self, ch_id: ChannelId) -> Channel | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM channels WHERE id=?", (ch_id,)).fetchone())
        return _channel(row) if row else None

    async def channel_access(self, ch_id: ChannelId, user_id: UserId
                             ) -> tuple[Channel, Operation | None, Role | None] | None:
        def read(db: sqlite3.Connection) -> tuple[Any, Any, Any] | None:
            ch = db.execute("SELECT * FROM channels WHERE id=?", (ch_id,)).fetchone()
            if ch is None:
                return None
            op_id = ch["operation_id"]
            return (ch, db.execute("SELECT * FROM operations WHERE id=?", (op_id,)).fetchone(),
                    db.execute("SELECT role FROM memberships WHERE operation_id=? AND user_id=?",
                               (op_id, user_id)).fetchone())

        rows = await self._run(read)
        if rows is None:
            return None
        ch, op, member = rows
        return (_channel(ch), _operation(op) if op else None,
                Role(member["role"]) if member else None)

    async def update_channel(self, ch_id: ChannelId, **fields: object) -> None:
        await self._update("channels", rowmap.CHANNEL_FIELDS, ch_id, fields)

    async def list_channels(self, op_id: OperationId) -> list[Channel]:
        rows = await self._run(lambda db: db.execute(
            "SELECT * FROM channels WHERE operation_id=? ORDER BY name", (op_id,)).fetchall())
        return [_channel(r) for r in rows]

    # --- messages ----------------------------------------------------------------

    async def append_message(self, msg: NewMessage, *, retain: int = 0) -> tuple[Message, bool]:
        def do(db: sqlite3.Connection) -> tuple[Message, str | None]:
            row = db.execute(
                "SELECT * FROM messages WHERE channel_id=? AND sender_id=? AND client_msg_id=?",
                (msg.channel_id, msg.sender_id, msg.client_msg_id)).fetchone()
            if row is not None:
                return _message(row), None
            row = db.execute("UPDATE channels SET last_seq=last_seq+1 WHERE id=? "
                             "RETURNING last_seq, first_seq, operation_id",
                             (msg.channel_id,)).fetchone()
            if row is None:
                raise Conflict("channel does not exist")
            seq = row[0]
            db.execute("INSERT INTO messages (channel_id, seq, id, sender_id, sender,"
                       " sender_name, agency, ts, client_msg_id, label, real_world,"
                       " body_type, body_version, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (msg.channel_id, seq, msg.id, msg.sender_id, msg.sender, msg.sender_name,
                        msg.agency, msg.ts, msg.client_msg_id, msg.label_json,
                        int(msg.real_world), msg.body_type, msg.body_version, msg.body))
            if retain > 0 and seq - row[1] + 1 > retain:
                first = seq - retain + 1
                for table in ("messages", "message_notes"):
                    db.execute(f"DELETE FROM {table} WHERE channel_id=? AND seq<?",  # noqa: S608
                               (msg.channel_id, first))
                db.execute("UPDATE channels SET first_seq=? WHERE id=?", (first, msg.channel_id))
            return msg.stored(seq), row[2]

        message, op_id = await self._run(self._write(do))
        if op_id is None:
            return message, False
        if self._publish is not None:
            await self._publish(channel_topic(op_id, message.channel_id),
                                MessageEvent(message, time.perf_counter()))
        return message, True

    async def read_messages(self, ch_id: ChannelId, *, after_seq: int = 0,
                            before_seq: int | None = None, limit: int = 100,
                            newest_first: bool = False) -> list[Message]:
        order = "DESC" if newest_first else "ASC"
        upper = before_seq if before_seq is not None else 2**62
        sql = (f"SELECT * FROM messages WHERE channel_id=? AND seq>? AND seq<? "  # noqa: S608
               f"ORDER BY seq {order} LIMIT ?")
        rows = await self._run(lambda db: db.execute(
            sql, (ch_id, after_seq, upper, limit)).fetchall())
        return [_message(r) for r in rows]

    async def redact_message(self, ch_id: ChannelId, seq: int, body: bytes) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            return db.execute("UPDATE messages SET body=? WHERE channel_id=? AND seq=?",
                              (body, ch_id, seq)).rowcount == 1

        return await self._run(self._write(do))

    async def put_note(self, ch_id: ChannelId, seq: int, key: str, body: bytes) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            return db.execute(
                "INSERT INTO message_notes (channel_id, seq, key, body) SELECT ?,?,?,? WHERE "
                "EXISTS (SELECT 1 FROM messages WHERE channel_id=? AND seq=?) "
                "ON CONFLICT (channel_id, seq, key) DO UPDATE SET body=excluded.body",
                (ch_id, seq, key, body, ch_id, seq)).rowcount == 1

        return await self._run(self._write(do))

    async def read_notes(self, ch_id: ChannelId, seqs: Sequence[int]
                         ) -> dict[int, dict[str, bytes]]:
        if not seqs:
            return {}
        rows = await self._run(lambda db: db.execute(
            "SELECT seq, key, body FROM message_notes WHERE channel_id=? AND seq>=? AND seq<=?",
            (ch_id, min(seqs), max(seqs))).fetchall())
        wanted, out = set(seqs), {}  # type: tuple[set[int], dict[int, dict[str, bytes]]]
        for seq, key, body in rows:
            if seq in wanted:
                out.setdefault(seq, {})[key] = bytes(body)
        return out
