"""hub/auth.py without sockets: logins, second factors, sessions, tokens and throttling.

An Authenticator is built over the embedded fixture's real store and manual
clock with the settings each test needs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyotp
import pytest

from hub.auditor import Auditor
from hub.auth import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    TOUCH_EVERY,
    Authenticator,
    Passwords,
    check_password_strength,
    check_username,
    hash_token,
)
from hub.engine.memory import MemoryLimits
from hub.errors import BadRequest, ErrorCode, Throttled, TotpRequired, Unauthenticated
from hub.models import OperationId
from tests.conftest import PASSWORD, Embedded


def make(env: Embedded, **settings: Any) -> Authenticator:
    base = dataclasses.replace(env.services.hub.settings, **settings)
    return Authenticator(settings=base, store=env.store, clock=env.clock,
                         auditor=Auditor(env.store, env.clock), passwords=Passwords(base),
                         limits=MemoryLimits())


async def audit(env: Embedded) -> list[tuple[str, str, str]]:
    return [(r.action, r.target, r.outcome) async for r in env.store.iter_audit()]


# --- login ------------------------------------------------------------------------------


async def test_a_login_opens_a_session_whose_token_authenticates(embedded: Embedded) -> None:
    auth = make(embedded)
    token, session, user = await auth.login("alice", PASSWORD, None, "10.0.0.1")
    assert token.startswith(SESSION_PREFIX) and user.username == "alice"
    assert session.token_hash == hash_token(token) != token  # only the hash is stored
    assert session.expires_at == embedded.clock.now() + auth._settings.session_absolute_seconds
    principal = await auth.authenticate(token)
    assert (principal.username, principal.session_id, principal.kind) == \
        ("alice", session.id, "session")
    assert ("login", session.id, "ok") in await audit(embedded)


async def test_usernames_are_found_case_insensitively_but_passwords_are_exact(
        embedded: Embedded) -> None:
    auth = make(embedded)
    await auth.login("Alice", PASSWORD, None, "c")
    with pytest.raises(Unauthenticated, match="wrong username or password"):
        await auth.login("alice", PASSWORD.upper(), None, "c")


@pytest.mark.parametrize("who", ["nobody", "", "alice"])
async def test_wrong_name_or_password_look_the_same_and_are_audited(
        embedded: Embedded, who: str) -> None:
    auth = make(embedded)
    with pytest.raises(Unauthenticated) as err:
        await auth.login(who, "not the password", None, "c")
    assert err.value.message == "wrong username or password"
    assert ("login", who, "failed") in await audit(embedded)


async def test_disabled_users_and_bots_cannot_log_in_with_a_password(
        embedded: Embedded) -> None:
    auth = make(embedded)
    bruno = await embedded.store.get_user_by_name("bruno")
    await auth.set_disabled(bruno, True, actor="root")
    with pytest.raises(Unauthenticated):
        await auth.login("bruno", PASSWORD, None, "c")
    await auth.create_user(username="feeder", display_name="", agency="POLICE",
                           password=PASSWORD, is_bot=True, actor="root")
    with pytest.raises(Unauthenticated):
        await auth.login("feeder", PASSWORD, None, "c")


async def test_failures_per_account_throttle_then_the_window_passes(embedded: Embedded) -> None:
    auth = make(embedded, login_failures_per_account=3, login_window_seconds=60)
    for i in range(3):
        with pytest.raises(Unauthenticated):
            await auth.login("alice", "wrong", None, f"10.0.0.{i}")  # from different places
    with pytest.raises(Throttled) as err:
        await auth.login("ALICE", PASSWORD, None, "10.0.0.9")  # even with the right one
    assert err.value.retry_after == 60
    assert ("login", "ALICE", "throttled") in await audit(embedded)
    embedded.clock.advance(61)
    await auth.login("alice", PASSWORD, None, "10.0.0.9")


async def test_failures_per_address_throttle_every_account_from_it(embedded: Embedded) -> None:
    auth = make(embedded, login_failures_per_address=2)
    for name in ("alice", "bruno"):
        with pytest.raises(Unauthenticated):
            await auth.login(name, "wrong", None, "10.9.9.9")
    with pytest.raises(Throttled):
        await auth.login("olga", PASSWORD, None, "10.9.9.9")
    await auth.login("olga", PASSWORD, None, "10.1.1.1")  # another address is fine


async def test_a_good_login_clears_the_accounts_failures(embedded: Embedded) -> None:
    auth = make(embedded, login_failures_per_account=2)
    with pytest.raises(Unauthenticated):
        await auth.login("alice", "wrong", None, "c")
    await auth.login("alice", PASSWORD, None, "c")
    with pytest.raises(Unauthenticated):
        await auth.login("alice", "wrong", None, "c")
    await auth.login("alice", PASSWORD, None, "c")  # one failure since the success


async def test_a_hash_made_with_older_parameters_is_upgraded_at_login(
        embedded: Embedded) -> None:
    weak = make(embedded)
    alice = await embedded.store.get_user_by_name("alice")
    await embedded.store.update_user(alice.id, password_hash=await weak.passwords.hash(PASSWORD))
    strong = make(embedded, argon2_time_cost=3)
    assert strong.passwords.needs_rehash((await embedded.store.get_user_by_name("alice"))
                                         .password_hash)
    await strong.login("alice", PASSWORD, None, "c")
    stored = (await embedded.store.get_user_by_name("alice")).password_hash
    assert not strong.passwords.needs_rehash(stored)
    assert await strong.passwords.verify(stored, PASSWORD)


# --- second factor ----------------------------------------------------------------------------


async def enrol(env: Embedded, auth: Authenticator, name: str) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    user = await env.store.get_user_by_name(name)
    await auth.enroll_totp(user, secret, totp.at(env.clock.now()), actor="root")
    return totp


async def test_an_enrolled_user_needs_a_fresh_code_each_login(embedded: Embedded) -> None:
    auth = make(embedded)
    totp = await enrol(embedded, auth, "alice")
    with pytest.raises(TotpRequired, match="a TOTP code is required"):
        await auth.login("alice", PASSWORD, None, "c")
    with pytest.raises(TotpRequired, match="a TOTP code is required"):
        await auth.login("alice", PASSWORD, "", "c")
    # The enrolment code's step is used up: the same code cannot log in.
    with pytest.raises(TotpRequired, match="wrong TOTP code"):
        await auth.login("alice", PASSWORD, totp.at(embedded.clock.now()), "c")
    embedded.clock.advance(30)
    code = totp.at(embedded.clock.now())
    await auth.login("alice", PASSWORD, code, "c")
    with pytest.raises(TotpRequired, match="wrong TOTP code"):  # replayed
        await auth.login("alice", PASSWORD, code, "c")
    assert ("login.totp", "alice", "failed") in await audit(embedded)


async def test_a_wrong_enrolment_code_changes_nothing(embedded: Embedded) -> None:
    auth = make(embedded)
    alice = await embedded.store.get_user_by_name("alice")
    with pytest.raises(BadRequest, match="the code does not match"):
        await auth.enroll_totp(alice, pyotp.random_base32(), "000000x", actor="root")
    assert (await embedded.store.get_user_by_name("alice")).totp_secret is None
    await auth.login("alice", PASSWORD, None, "c")


async def test_required_second_factors_must_be_enrolled_first(embedded: Embedded) -> None:
    auth = make(embedded, require_totp_for=("admin", "coordinator"))
    for name in ("root", "alice"):  # an administrator, a coordinator
        with pytest.raises(TotpRequired) as err:
            await auth.login(name, PASSWORD, None, "c")
        assert err.value.code is ErrorCode.TOTP_ENROLLMENT_REQUIRED
    await auth.login("bruno", PASSWORD, None, "c")  # a member is not asked
    await enrol(embedded, auth, "alice")
    embedded.clock.advance(30)
    with pytest.raises(TotpRequired, match="a TOTP code is required"):
        await auth.login("alice", PASSWORD, None, "c")


async def test_asking_for_the_code_counts_as_a_failure(embedded: Embedded) -> None:
    auth = make(embedded, login_failures_per_account=2)
    await enrol(embedded, auth, "alice")
    for _ in range(2):
        with pytest.raises(TotpRequired):
            await auth.login("alice", PASSWORD, None, "c")
    with pytest.raises(Throttled):  # the password alone cannot be probed for free
        await auth.login("alice", PASSWORD, None, "c")


# --- sessions ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "x" * 257, "lhs_not-a-real-token"])
async def test_a_missing_or_unknown_token_is_refused(embedded: Embedded,
                                                     token: str | None) -> None:
    with pytest.raises(Unauthenticated, match="missing or invalid credentials"):
        await make(embedded).authenticate(token)


async def test_an_idle_session_expires_and_use_keeps_it_alive(embedded: Embedded) -> None:
    auth = make(embedded, session_idle_seconds=300)
    token, session, _ = await auth.login("bruno", PASSWORD, None, "c")
    embedded.clock.advance(TOUCH_EVERY + 1)
    await auth.authenticate(token)  # seen: the idle clock restarts
    stored = await embedded.store.get_session(session.token_hash)
    assert stored.last_seen_at == embedded.clock.now()
    embedded.clock.advance(299)
    await auth.authenticate(token)
    embedded.clock.advance(301)
    with pytest.raises(Unauthenticated, match="session expired"):
        await auth.authenticate(token)


async def test_a_session_ends_at_its_absolute_limit_however_busy(embedded: Embedded) -> None:
    auth = make(embedded, session_absolute_seconds=1000, session_idle_seconds=600)
    token, _, _ = await auth.login("bruno", PASSWORD, None, "c")
    for _ in range(3):
        embedded.clock.advance(300)
        await auth.authenticate(token)
    embedded.clock.advance(100)
    with pytest.raises(Unauthenticated, match="session expired"):
        await auth.authenticate(token)


async def test_logout_and_disabling_end_sessions(embedded: Embedded) -> None:
    auth = make(embedded)
    token, _, _ = await auth.login("bruno", PASSWORD, None, "c")
    await auth.logout(await auth.authenticate(token), "c")
    with pytest.raises(Unauthenticated, match="missing or invalid credentials"):
        await auth.authenticate(token)  # revoked looks like never issued
    token2, _, _ = await auth.login("bruno", PASSWORD, None, "c")
    bruno = await embedded.store.get_user_by_name("bruno")
    await auth.set_disabled(bruno, True, actor="root")
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token2)
    await auth.set_disabled(bruno, False, actor="root")
    with pytest.raises(Unauthenticated):  # re-enabling does not revive old sessions
        await auth.authenticate(token2)
    assert ("user.disable", "bruno", "ok") in await audit(embedded)
    assert ("user.enable", "bruno", "ok") in await audit(embedded)


async def test_refused_credentials_are_audited_up_to_the_limit_and_lock_out_no_login(
        embedded: Embedded) -> None:
    """Issue 24, findings 11 and 14: a bot retrying a bad token from an address neither
    throttles password logins from it nor writes an audit record per attempt."""
    auth = make(embedded, login_failures_per_address=2)
    for _ in range(20):
        with pytest.raises(Unauthenticated):
            await auth.authenticate_from("lhs_forged", "10.6.6.6", "ws")
    token, _, _ = await auth.login("alice", PASSWORD, None, "10.6.6.6")
    assert (await auth.authenticate_from(token, "10.6.6.6", "ws")).username == "alice"
    records = [r async for r in embedded.store.iter_audit() if r.action == "ws.auth"]
    assert [r.outcome for r in records] == ["failed", "failed", "throttled"]
    assert all("lhs_forged" not in str(r.details) for r in records)
    # ... nor do wrong passwords make a good token fail.
    for name in ("u1", "u2"):
        with pytest.raises(Unauthenticated):
            await auth.login(name, "wrong password", None, "10.7.7.7")
    with pytest.raises(Throttled):
        await auth.login("alice", PASSWORD, None, "10.7.7.7")
    assert (await auth.authenticate_from(token, "10.7.7.7", "http")).username == "alice"


async def test_changing_a_password_ends_login_sessions_but_not_api_tokens(
        embedded: Embedded) -> None:
    auth = make(embedded)
    bruno = await embedded.store.get_user_by_name("bruno")
    token, _, _ = await auth.login("bruno", PASSWORD, None, "c")
    api, _ = await auth.create_api_token(bruno, name="feed",
                                         scope=(OperationId(embedded.ops["A"].id),),
                                         actor="root")
    await auth.set_password(bruno, "a-brand-new-password", actor="bruno")
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token)
    assert (await auth.authenticate(api)).kind == "token"
    await auth.login("bruno", "a-brand-new-password", None, "c")


# --- API tokens ------------------------------------------------------------------------------


async def test_an_api_token_is_scoped_never_idles_and_can_be_revoked(
        embedded: Embedded) -> None:
    auth = make(embedded, session_idle_seconds=60)
    bruno = await embedded.store.get_user_by_name("bruno")
    op_a = OperationId(embedded.ops["A"].id)
    token, session = await auth.create_api_token(bruno, name="feed", scope=(op_a,),
                                                 actor="root")
    assert token.startswith(API_TOKEN_PREFIX) and session.expires_at is None
    embedded.clock.advance(10 * 86400)
    principal = await auth.authenticate(token)
    assert principal.scope == (op_a,)
    assert principal.in_scope(op_a) and not principal.in_scope(OperationId(embedded.ops["B"].id))
    assert await auth.revoke(session.id, actor="root")
    assert not await auth.revoke("tok_unknown", actor="root")
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token)
    assert ("token.revoke", "tok_unknown", "unknown") in await audit(embedded)


async def test_an_api_token_needs_a_scope(embedded: Embedded) -> None:
    bruno = await embedded.store.get_user_by_name("bruno")
    with pytest.raises(BadRequest, match="at least one operation"):
        await make(embedded).create_api_token(bruno, name="x", scope=(), actor="root")


# --- creating users -------------------------------------------------------------------------


async def test_a_user_without_a_password_gets_an_unguessable_one(embedded: Embedded) -> None:
    auth = make(embedded)
    user = await auth.create_user(username="bot-1", display_name="", agency=" POLICE ",
                                  password=None, is_bot=True, actor="root")
    assert (user.display_name, user.agency, user.is_bot) == ("bot-1", "POLICE", True)
    assert user.password_hash.startswith("$argon2")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"username": "two words"}, "username: 1-64 letters"),
    ({"username": "x" * 65}, "username: 1-64"),
    ({"agency": "  "}, "agency is required"),
    ({"password": "short"}, "password must be at least 10 characters"),
    ({"password": "x" * 1025}, "password must be at most 1024 characters"),
])
async def test_an_invalid_new_user_is_refused(embedded: Embedded, kwargs: dict[str, Any],
                                              message: str) -> None:
    args = {"username": "newbie", "display_name": "N", "agency": "POLICE",
            "password": PASSWORD, "actor": "root", **kwargs}
    with pytest.raises(BadRequest, match=message):
        await make(embedded).create_user(**args)
    assert await embedded.store.get_user_by_name("newbie") is None


@pytest.mark.parametrize("name", ["a", "alice.b-c_d", "Ünïcode", "x" * 64])
def test_valid_usernames(name: str) -> None:
    check_username(name)


@pytest.mark.parametrize("name", ["", "a b", "a/b", "a@b", "x" * 65])
def test_invalid_usernames(name: str) -> None:
    with pytest.raises(BadRequest):
        check_username(name)


def test_password_length_bounds() -> None:
    check_password_strength("x" * 10)
    check_password_strength("x" * 1024)
    for bad in ("x" * 9, "x" * 1025):
        with pytest.raises(BadRequest):
            check_password_strength(bad)


async def test_verify_refuses_a_missing_or_broken_hash(embedded: Embedded) -> None:
    pw = make(embedded).passwords
    assert not await pw.verify(None, PASSWORD)
    assert not await pw.verify("not-a-hash", PASSWORD)
    assert await pw.verify(await pw.hash(PASSWORD), PASSWORD)
