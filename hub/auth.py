"""Identity: password hashing, login, sessions, API tokens and who a request is.

* Passwords are argon2id (argon2-cffi) with the configured cost, rehashed on
  login when the parameters changed; hashing runs in worker threads behind a
  semaphore so a login flood cannot take more than ``argon2_max_concurrent``
  x ``argon2_memory_kib`` of memory.
* A login returns an opaque random token (256 bits). Only its SHA-256 is
  stored. Sessions have an idle and an absolute lifetime; API tokens (for
  bots) have neither but are scoped to named operations and revocable.
* Unknown user and wrong password give the same error after the same work.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

import argon2
from argon2.low_level import Type

from hub.auditor import Auditor
from hub.clock import Clock
from hub.config import Settings
from hub.engine.port import Limits, Store
from hub.errors import (
    BadRequest,
    ErrorCode,
    Throttled,
    TotpRequired,
    Unauthenticated,
)
from hub.labels import Label
from hub.models import OperationId, Role, Session, User, UserId, new_id
from hub.principal import Principal
from hub.refusals import RefusalLog
from hub.totp import totp_step

__all__ = ["Authenticator", "Passwords", "hash_token"]

T = TypeVar("T")

SESSION_PREFIX = "lhs_"
API_TOKEN_PREFIX = "lht_"  # noqa: S105 - a prefix, not a secret
TOUCH_EVERY = 60.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


class Passwords:
    """argon2id hashing with bounded concurrency."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(settings.argon2_max_concurrent)
        self._dummy: str | None = None

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        async with self._slots:
            return await asyncio.to_thread(fn, *args)

    async def hash(self, password: str) -> str:
        return await self._in_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Check a password; with ``stored=None`` spend the same effort and fail."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_hex(16))
            stored = self._dummy
            password = password + "\x00never"
        try:
            return bool(await self._in_thread(self._hasher.verify, stored, password))
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


class Authenticator:
    """Logins, sessions, API tokens and user administration.

    Failed logins are counted in the engine's :class:`~hub.engine.port.Limits`,
    so every hub process sees the same counts: per account and per client
    address for passwords and TOTP codes, and apart from those, per address
    for presented credentials (API tokens, session cookies). A bot retrying a
    revoked token therefore never locks people out of logging in from its
    address, nor the other way round.
    """

    def __init__(self, *, settings: Settings, store: Store, clock: Clock,
                 auditor: Auditor, passwords: Passwords, limits: Limits) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._audit = auditor
        self.passwords = passwords
        self._limits = limits
        self._window = float(settings.login_window_seconds)
        #: Refused credentials, audited up to a limit per address (webhooks too).
        self.refusals = RefusalLog(auditor=auditor, limits=limits, clock=clock,
                                   limit=settings.login_failures_per_address,
                                   window=self._window)

    async def _blocked(self, account: str, client: str, now: float) -> bool:
        s = self._settings
        return (await self._limits.failures(f"login:user:{account}", self._window, now)
                >= s.login_failures_per_account
                or await self._limits.failures(f"login:addr:{client}", self._window, now)
                >= s.login_failures_per_address)

    async def _failed(self, account: str, client: str, now: float) -> None:
        s = self._settings
        await self._limits.fail(f"login:user:{account}", self._window, now,
                                s.login_failures_per_account)
        await self._limits.fail(f"login:addr:{client}", self._window, now,
                                s.login_failures_per_address)

    # --- login ---------------------------------------------------------------------

    async def login(self, username: str, password: str, totp: str | None,
                    client: str) -> tuple[str, Session, User]:
        """Check credentials and open a session.

        Returns:
            (token, session, user). The token is shown to the caller once.
        Raises:
            Throttled, Unauthenticated, TotpRequired.
        """
        now = self._clock.now()
        account_key = username.strip().lower()
        if await self._blocked(account_key, client, now):
            await self._audit.record(actor=username[:64], action="login", target=username[:64],
                                     outcome="throttled", client=client)
            raise Throttled(retry_after=self._settings.login_window_seconds)

        user = await self._store.get_user_by_name(username) if username else None
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled or user.is_bot:
            await self._failed(account_key, client, now)
            await self._audit.record(actor=username[:64], action="login", target=username[:64],
                                     outcome="failed", client=client)
            raise Unauthenticated("wrong username or password")

        await self._check_second_factor(user, totp, client, now)
        await self._limits.forgive(f"login:user:{account_key}")

        if self.passwords.needs_rehash(user.password_hash):
            await self._store.update_user(user.id,
                                          password_hash=await self.passwords.hash(password))
        token = _new_token(SESSION_PREFIX)
        session = Session(
            id=new_id("ses"), token_hash=hash_token(token), user_id=user.id, kind="session",
            created_at=now, last_seen_at=now,
            expires_at=now + self._settings.session_absolute_seconds,
        )
        await self._store.create_session(session)
        await self._audit.record(actor=user.username, action="login", target=session.id,
                                 outcome="ok", client=client)
        return token, session, user

    async def _check_second_factor(self, user: User, code: str | None, client: str,
                                   now: float) -> None:
        if user.totp_secret is None:
            required = set(self._settings.require_totp_for)
            if "admin" in required and user.is_admin:
                raise TotpRequired("an administrator must enrol a TOTP second factor first",
                                   code=ErrorCode.TOTP_ENROLLMENT_REQUIRED)
            if "coordinator" in required and await self._is_coordinator(user.id):
                raise TotpRequired("a coordinator must enrol a TOTP second factor first",
                                   code=ErrorCode.TOTP_ENROLLMENT_REQUIRED)
            return
        if not code:
            # The password was right: count it like a failure, so the answer cannot
            # be used to test passwords for free.
            await self._failed(user.username.lower(), client, now)
            await self._audit.record(actor=user.username, action="login.totp",
                                     target=user.username, outcome="required", client=client)
            raise TotpRequired("a TOTP code is required")
        assert user.totp_secret is not None
        step = totp_step(user.totp_secret, code, now)
        # A code is good once, on any hub process: the engine keeps the last step used.
        if step is None or not await self._store.advance_marker(f"totp:{user.id}", step):
            await self._failed(user.username.lower(), client, now)
            await self._audit.record(actor=user.username, action="login.totp",
                                     target=user.username, outcome="failed", client=client)
            raise TotpRequired("wrong TOTP code")

    async def _is_coordinator(self, user_id: UserId) -> bool:
        for op in await self._store.list_operations(user_id):
            m = await self._store.get_membership(op.id, user_id)
            if m is not None and m.role is Role.COORDINATOR:
                return True
        return False

    # --- resolving credentials -------------------------------------------------------

    async def authenticate(self, token: str | None) -> Principal:
        """Resolve a session or API token; raise Unauthenticated if not valid now."""
        if not token or len(token) > 256:
            raise Unauthenticated("missing or invalid credentials")
        digest = hash_token(token)
        session = await self._store.get_session(digest)
        if session is None or not hmac.compare_digest(session.token_hash, digest):
            raise Unauthenticated("missing or invalid credentials")
        now = self._clock.now()
        if session.revoked_at is not None:  # revoked: as if it had never existed
            raise Unauthenticated("missing or invalid credentials")
        if self.expired(session, now):
            raise Unauthenticated("session expired")
        user = await self._store.get_user(session.user_id)
        if user is None or user.disabled:
            raise Unauthenticated("missing or invalid credentials")
        if now - session.last_seen_at > TOUCH_EVERY:
            await self._store.touch_session(session.id, now)
        return Principal(user, session.id, session.kind, session.scope, session.expires_at)

    async def authenticate_from(self, token: str, client: str, via: str) -> Principal:
        """:meth:`authenticate` for a request that presented credentials.

        A refusal is audited (``<via>.auth``, never the token), up to
        ``login_failures_per_address`` from one address within the login window;
        past that, one ``throttled`` record says the rest go unrecorded. These
        refusals are counted apart from password logins: neither locks the other
        out. (A credential is 256 random bits: nothing to guess, so a good one
        is never refused for its address's failures.)
        """
        try:
            return await self.authenticate(token)
        except Unauthenticated as exc:
            await self.refusals.refused("auth", actor="-", action=f"{via}.auth", target="-",
                                        outcome="failed", client=client,
                                        details={"reason": exc.message})
            raise

    def expired(self, session: Session, now: float) -> bool:
        if session.revoked_at is not None:
            return True
        if session.expires_at is not None and now >= session.expires_at:
            return True
        return (session.kind == "session"
                and now - session.last_seen_at > self._settings.session_idle_seconds)

    # --- logout, tokens, user administration -------------------------------------------

    async def logout(self, principal: Principal, client: str) -> None:
        await self._store.revoke_session(principal.session_id, self._clock.now())
        await self._audit.record(actor=principal.username, action="logout",
                                 target=principal.session_id, outcome="ok", client=client)

    async def create_api_token(self, user: User, *, name: str,
                               scope: tuple[OperationId, ...], actor: str,
                               client: str = "cli") -> tuple[str, Session]:
        if not scope:
            raise BadRequest("an API token needs at least one operation in its scope")
        now = self._clock.now()
        token = _new_token(API_TOKEN_PREFIX)
        session = Session(id=new_id("tok"), token_hash=hash_token(token), user_id=user.id,
                          kind="token", created_at=now, last_seen_at=now, expires_at=None,
                          name=name, scope=scope)
        await self._store.create_session(session)
        await self._audit.record(actor=actor, action="token.create", target=session.id,
                                 outcome="ok", client=client,
                                 details={"user": user.username, "name": name,
                                          "scope": list(scope)})
        return token, session

    async def revoke(self, session_id: str, *, actor: str, client: str = "cli") -> bool:
        done = await self._store.revoke_session(session_id, self._clock.now())
        await self._audit.record(actor=actor, action="token.revoke", target=session_id,
                                 outcome="ok" if done else "unknown", client=client)
        return done

    async def set_password(self, user: User, password: str, *, actor: str,
                           client: str = "cli") -> None:
        check_password_strength(password)
        await self._store.update_user(user.id, password_hash=await self.passwords.hash(password))
        await self._store.revoke_user_sessions(user.id, self._clock.now(), kinds=("session",))
        await self._audit.record(actor=actor, action="user.password", target=user.username,
                                 outcome="ok", client=client)

    async def set_clearance(self, user: User, clearance: Label, before: Label, *, actor: str,
                            client: str = "cli") -> None:
        """Store the user's clearance and end every session and token of theirs: each
        socket and subscription is authorized again, at the new clearance."""
        await self._store.update_user(user.id, clearance=clearance.dumps())
        await self._store.revoke_user_sessions(user.id, self._clock.now())
        await self._audit.record(actor=actor, action="user.clearance", target=user.username,
                                 outcome="ok", client=client,
                                 details={"from": before.marking(), "to": clearance.marking()})

    async def set_disabled(self, user: User, disabled: bool, *, actor: str,
                           client: str = "cli") -> None:
        await self._store.update_user(user.id, disabled=disabled)
        if disabled:
            await self._store.revoke_user_sessions(user.id, self._clock.now())
        await self._audit.record(actor=actor, action="user.disable" if disabled
                                 else "user.enable", target=user.username, outcome="ok",
                                 client=client)

    async def create_user(self, *, username: str, display_name: str, agency: str,
                          password: str | None, is_admin: bool = False, is_bot: bool = False,
                          actor: str, client: str = "cli", clearance: str = "") -> User:
        check_username(username)
        if not agency.strip():
            raise BadRequest("agency is required")
        if password is not None:
            check_password_strength(password)
        stored = await self.passwords.hash(password if password is not None
                                           else secrets.token_urlsafe(32))
        user = User(id=UserId(new_id("usr")), username=username,
                    display_name=display_name or username, agency=agency.strip(),
                    is_admin=is_admin, is_bot=is_bot, password_hash=stored,
                    created_at=self._clock.now(), clearance=clearance)
        await self._store.create_user(user)
        await self._audit.record(actor=actor, action="user.create", target=username,
                                 outcome="ok", client=client,
                                 details={"agency": user.agency, "admin": is_admin,
                                          "bot": is_bot})
        return user

    async def enroll_totp(self, user: User, secret: str, code: str, *, actor: str,
                          client: str = "cli") -> None:
        """Store ``secret`` as the user's second factor once ``code`` proves it was set up.

        Raises:
            BadRequest: the code does not match the secret (nothing is stored).
        """
        step = totp_step(secret, code, self._clock.now())
        if step is None:
            await self._audit.record(actor=actor, action="user.totp.enroll",
                                     target=user.username, outcome="failed", client=client)
            raise BadRequest("the code does not match; nothing was changed")
        await self._store.update_user(user.id, totp_secret=secret)
        await self._store.advance_marker(f"totp:{user.id}", step)  # not reusable to log in
        await self._audit.record(actor=actor, action="user.totp.enroll", target=user.username,
                                 outcome="ok", client=client)


def check_username(username: str) -> None:
    if not (1 <= len(username) <= 64) or not all(c.isalnum() or c in "._-" for c in username):
        raise BadRequest("username: 1-64 letters, digits, '.', '_' or '-'")


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise BadRequest("password must be at least 10 characters")
    if len(password) > 1024:
        raise BadRequest("password must be at most 1024 characters")
