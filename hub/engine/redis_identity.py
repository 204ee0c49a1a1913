"""The Redis engine's users, sessions and revocations (layout in :mod:`hub.engine.redis_db`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hub.engine import rows as rowmap
from hub.engine.port import Revocation
from hub.engine.redis_db import RedisBase, dump_fields, guarded, text, texts
from hub.models import Session, User, UserId

__all__ = ["RedisIdentity"]

_SESSION_GRACE = 86400.0  # keep expired sessions a day for audit/inspection


class RedisIdentity(RedisBase):
    # --- users -----------------------------------------------------------------------

    @guarded
    async def create_user(self, user: User) -> None:
        await self._claim(self.keys.username(user.username), user.id, "username")
        fields = {"id": user.id, "username": user.username, "display_name": user.display_name,
                  "agency": user.agency, "is_admin": user.is_admin, "is_bot": user.is_bot,
                  "disabled": user.disabled, "password_hash": user.password_hash,
                  "totp_secret": user.totp_secret, "created_at": user.created_at,
                  "clearance": user.clearance}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(self.keys.user(user.id), mapping=dump_fields(fields))
            tx.sadd(self.keys.users(), user.id)
            await tx.execute()

    @guarded
    async def get_user(self, user_id: UserId) -> User | None:
        d = await self._hash(self.keys.user(user_id))
        return rowmap.user(d) if d else None

    @guarded
    async def get_user_by_name(self, username: str) -> User | None:
        uid = await self.r.get(self.keys.username(username))
        return await self.get_user(UserId(text(uid))) if uid else None

    @guarded
    async def update_user(self, user_id: UserId, **fields: object) -> None:
        await self._update(self.keys.user(user_id), rowmap.USER_FIELDS, fields)

    @guarded
    async def list_users(self) -> list[User]:
        users = [await self.get_user(UserId(uid)) for uid in
                 texts(await self.r.smembers(self.keys.users()))]
        return sorted((u for u in users if u), key=lambda u: u.username.lower())

    # --- sessions --------------------------------------------------------------------

    @guarded
    async def create_session(self, session: Session) -> None:
        key = self.keys.session(session.id)
        fields = {"id": session.id, "token_hash": session.token_hash,
                  "user_id": session.user_id, "kind": session.kind, "name": session.name,
                  "scope": session.scope, "created_at": session.created_at,
                  "last_seen_at": session.last_seen_at, "expires_at": session.expires_at,
                  "revoked_at": session.revoked_at}
        async with self.r.pipeline(transaction=True) as tx:
            tx.hset(key, mapping=dump_fields(fields))
            tx.set(self.keys.token_hash(session.token_hash), session.id)
            tx.sadd(self.keys.user_sessions(session.user_id), session.id)
            tx.sadd(self.keys.sessions(), session.id)
            if session.expires_at is not None:
                # Relative to the session's own clock, so an injected clock works too.
                ttl = int(session.expires_at - session.created_at + _SESSION_GRACE)
                tx.expire(key, ttl)
                tx.expire(self.keys.token_hash(session.token_hash), ttl)
            await tx.execute()

    @guarded
    async def get_session(self, token_hash: str) -> Session | None:
        sid = await self.r.get(self.keys.token_hash(token_hash))
        return await self.get_session_by_id(text(sid)) if sid else None

    @guarded
    async def get_session_by_id(self, session_id: str) -> Session | None:
        d = await self._hash(self.keys.session(session_id))
        return rowmap.session(d) if d else None

    @guarded
    async def touch_session(self, session_id: str, at: float) -> None:
        key = self.keys.session(session_id)
        if await self.r.exists(key):
            await self.r.hset(key, "last_seen_at", json.dumps(at))

    @guarded
    async def revoke_session(self, session_id: str, at: float) -> bool:
        record = json.dumps({"session_id": session_id, "user_id": None, "at": at})
        seq = await self._revoke(keys=[self.keys.session(session_id),
                                       self.keys.revocations()], args=[json.dumps(at), record])
        return int(seq) > 0

    @guarded
    async def revoke_user_sessions(self, user_id: UserId, at: float,
                                   kinds: Sequence[str] = ("session", "token")) -> int:
        count = 0
        for sid in texts(await self.r.smembers(self.keys.user_sessions(user_id))):
            s = await self.get_session_by_id(sid)
            if s is None:
                await self.r.srem(self.keys.user_sessions(user_id), sid)
                continue
            if s.kind in kinds and s.revoked_at is None:
                await self.r.hset(self.keys.session(sid), "revoked_at", json.dumps(at))
                count += 1
        await self.r.rpush(self.keys.revocations(),
                           json.dumps({"session_id": None, "user_id": user_id, "at": at}))
        return count

    @guarded
    async def list_sessions(self, user_id: UserId | None = None,
                            kind: str | None = None) -> list[Session]:
        key = self.keys.user_sessions(user_id) if user_id else self.keys.sessions()
        out = []
        for sid in texts(await self.r.smembers(key)):
            s = await self.get_session_by_id(sid)
            if s is not None and (kind is None or s.kind == kind):
                out.append(s)
        return sorted(out, key=lambda s: s.created_at)

    @guarded
    async def revocations_since(self, seq: int) -> list[Revocation]:
        raw = await self.r.lrange(self.keys.revocations(), seq, -1)
        out = []
        for i, item in enumerate(raw, start=seq + 1):
            d = json.loads(item)
            out.append(Revocation(i, d["session_id"],
                                  UserId(d["user_id"]) if d["user_id"] else None))
        return out
