"""The embedded engine's users, sessions and revocations (see :mod:`hub.engine.sqlite_db`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from hub.engine import rows as rowmap
from hub.engine.port import Revocation
from hub.engine.sqlite_db import SqliteBase, decoded
from hub.models import Session, User, UserId

__all__ = ["SqliteIdentity"]


def _session(row: sqlite3.Row) -> Session:
    return rowmap.session(decoded(row, "scope"))


class SqliteIdentity(SqliteBase):
    # --- users ---------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        def do(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO users (id, username, display_name, agency, is_admin, is_bot,"
                " disabled, password_hash, totp_secret, created_at, clearance)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (user.id, user.username, user.display_name, user.agency, int(user.is_admin),
                 int(user.is_bot), int(user.disabled), user.password_hash, user.totp_secret,
                 user.created_at, user.clearance))
        await self._run(self._write(do))

    async def get_user(self, user_id: UserId) -> User | None:
        row = await self._run(
            lambda db: db.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone())
        return rowmap.user(row) if row else None

    async def get_user_by_name(self, username: str) -> User | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM users WHERE username=?", (username,)).fetchone())
        return rowmap.user(row) if row else None

    async def update_user(self, user_id: UserId, **fields: object) -> None:
        await self._update("users", rowmap.USER_FIELDS, user_id, fields)

    async def list_users(self) -> list[User]:
        rows = await self._run(
            lambda db: db.execute("SELECT * FROM users ORDER BY username").fetchall())
        return [rowmap.user(r) for r in rows]

    # --- sessions ----------------------------------------------------------------

    async def create_session(self, session: Session) -> None:
        scope = json.dumps(list(session.scope)) if session.scope is not None else None

        def do(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (session.id, session.token_hash, session.user_id, session.kind,
                        session.name, scope, session.created_at, session.last_seen_at,
                        session.expires_at, session.revoked_at))
        await self._run(self._write(do))

    async def get_session(self, token_hash: str) -> Session | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM sessions WHERE token_hash=?", (token_hash,)).fetchone())
        return _session(row) if row else None

    async def get_session_by_id(self, session_id: str) -> Session | None:
        row = await self._run(lambda db: db.execute(
            "SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone())
        return _session(row) if row else None

    async def touch_session(self, session_id: str, at: float) -> None:
        await self._run(self._write(lambda db: db.execute(
            "UPDATE sessions SET last_seen_at=? WHERE id=? AND last_seen_at<?",
            (at, session_id, at))))

    async def revoke_session(self, session_id: str, at: float) -> bool:
        def do(db: sqlite3.Connection) -> bool:
            cur = db.execute("UPDATE sessions SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                             (at, session_id))
            if cur.rowcount:
                db.execute("INSERT INTO revocations (session_id, user_id, at) VALUES (?,?,?)",
                           (session_id, None, at))
            return cur.rowcount > 0
        return await self._run(self._write(do))

    async def revoke_user_sessions(self, user_id: UserId, at: float,
                                   kinds: Sequence[str] = ("session", "token")) -> int:
        marks = ",".join("?" for _ in kinds)

        def do(db: sqlite3.Connection) -> int:
            cur = db.execute(
                f"UPDATE sessions SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL "  # noqa: S608
                f"AND kind IN ({marks})", (at, user_id, *kinds))
            db.execute("INSERT INTO revocations (session_id, user_id, at) VALUES (?,?,?)",
                       (None, user_id, at))
            return cur.rowcount
        return await self._run(self._write(do))

    async def list_sessions(self, user_id: UserId | None = None,
                            kind: str | None = None) -> list[Session]:
        sql, params = "SELECT * FROM sessions WHERE 1=1", list[str]()
        if user_id is not None:
            sql += " AND user_id=?"
            params.append(user_id)
        if kind is not None:
            sql += " AND kind=?"
            params.append(kind)
        rows = await self._run(lambda db: db.execute(sql + " ORDER BY created_at",
                                                     params).fetchall())
        return [_session(r) for r in rows]

    async def revocations_since(self, seq: int) -> list[Revocation]:
        rows = await self._run(lambda db: db.execute(
            "SELECT * FROM revocations WHERE seq>? ORDER BY seq", (seq,)).fetchall())
        return [Revocation(r["seq"], r["session_id"],
                           UserId(r["user_id"]) if r["user_id"] else None) for r in rows]
