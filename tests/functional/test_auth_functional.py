"""Identity: argon2id, throttling, logout/revocation closing sockets, expiry, TOTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

import argon2
import pyotp
import pytest
from websockets.exceptions import ConnectionClosed

from hub.clock import ManualClock
from hub.totp import new_totp_secret
from tests.conftest import PASSWORD, RunningHub, WsClient


async def _close_code(client: WsClient, timeout: float = 5.0) -> int | None:
    with pytest.raises(ConnectionClosed):
        for _ in range(100):
            await client.recv(timeout=timeout)
    return client.ws.close_code


async def test_passwords_are_argon2id_with_owasp_cost(running_hub: RunningHub) -> None:
    user = await running_hub.hub.engine.store.get_user_by_name("alice")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in user.password_hash


async def test_weaker_hash_is_upgraded_on_login(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(argon2_time_cost=3))
    store = hub.hub.engine.store
    alice = await store.get_user_by_name("alice")
    assert alice is not None
    old = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    await store.update_user(alice.id, password_hash=old)
    await hub.login("alice")
    upgraded = await store.get_user_by_name("alice")
    assert upgraded is not None and upgraded.password_hash.startswith("$argon2id$v=19$m=19456,t=3")


async def test_login_throttling_and_uniform_failures(running_hub: RunningHub) -> None:
    assert running_hub.http is not None
    post = running_hub.http.post
    unknown = await post("/api/auth/login", json={"username": "nobody", "password": "x" * 12})
    wrong = await post("/api/auth/login", json={"username": "bruno", "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    for _ in range(9):
        r = await post("/api/auth/login", json={"username": "bruno", "password": "bad" * 4})
        assert r.status_code == 401
    # Ten failures: even the right password is now refused for a while.
    r = await post("/api/auth/login", json={"username": "bruno", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled"
    assert "retry-after" in r.headers
    # Other accounts are not locked by bruno's attacker.
    ok = await post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert ok.status_code == 200
    outcomes = [r.outcome async for r in running_hub.hub.engine.store.iter_audit()
                if r.action == "login" and r.target == "bruno"]
    assert outcomes.count("failed") == 10 and outcomes[-1] == "throttled"


async def test_address_throttling_ignores_spoofed_forwarded_for(start_hub,  # type: ignore[no-untyped-def]
                                                                hub_settings) -> None:
    hub: RunningHub = await start_hub(hub_settings.replace(login_failures_per_address=5,
                                                           login_failures_per_account=100))
    assert hub.http is not None
    for i in range(5):
        await hub.http.post("/api/auth/login", json={"username": f"u{i}", "password": "x" * 10},
                            headers={"X-Forwarded-For": f"10.0.0.{i}"})
    r = await hub.http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD},
                            headers={"X-Forwarded-For": "10.9.9.9"})
    assert r.status_code == 429


async def test_logout_closes_the_users_sockets(running_hub: RunningHub) -> None:
    bruno = await running_hub.client("bruno")
    await bruno.subscribe(running_hub.ch("A/general"))
    token = await running_hub.login("bruno")
    r = await running_hub.api("POST", "/api/auth/logout", "bruno")
    assert r.status_code == 200
    assert await _close_code(bruno) == 1008
    assert (await running_hub.http.get(  # type: ignore[union-attr]
        "/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    fresh = WsClient(await running_hub.raw_ws(), "json")
    await fresh.send({"type": "hello", "token": token})
    assert (await fresh.recv())["code"] == "unauthenticated"


async def test_disable_and_password_change_close_sockets(running_hub: RunningHub) -> None:
    hub = running_hub.hub
    bruno = await running_hub.client("bruno")
    user = await hub.engine.store.get_user_by_name("bruno")
    await hub.auth.set_disabled(user, True, actor="test")  # type: ignore[arg-type]
    assert await _close_code(bruno) == 1008  # found by the revocation poll
    olga = await running_hub.client("olga")
    user = await hub.engine.store.get_user_by_name("olga")
    await hub.auth.set_password(user, "a brand new passphrase", actor="test")  # type: ignore[arg-type]
    assert await _close_code(olga) == 1008


async def test_api_token_scope_and_revocation(running_hub: RunningHub) -> None:
    hub = running_hub.hub
    bot = await hub.auth.create_user(username="gauge-bot", display_name="River gauge",
                                     agency="POLICE", password=None, is_bot=True, actor="test")
    root = (await hub.engine.store.get_user_by_name("root"))
    from hub.principal import Principal

    admin = Principal(root, "t", "session", None, None)  # type: ignore[arg-type]
    for op in ("A", "B"):
        await running_hub.services.channels.set_member(admin, running_hub.ops[op].id,
                                                      "gauge-bot", "member", "t")
    token, session = await hub.auth.create_api_token(
        bot, name="gauge", scope=(running_hub.ops["A"].id,), actor="test")
    headers = {"Authorization": f"Bearer {token}"}
    http = running_hub.http
    assert http is not None
    ok = await http.post(f"/api/channels/{running_hub.ch('A/general')}/messages",
                         json={"text": "level 4.2 m", "client_msg_id": "g1"}, headers=headers)
    assert ok.status_code == 201
    out = await http.post(f"/api/channels/{running_hub.ch('B/general')}/messages",
                          json={"text": "level 4.2 m", "client_msg_id": "g2"}, headers=headers)
    assert out.status_code == 404  # a member of B, but B is outside the token's scope
    bot_login = await http.post("/api/auth/login", json={"username": "gauge-bot",
                                                         "password": "anything at all"})
    assert bot_login.status_code == 401
    assert await hub.auth.revoke(session.id, actor="test")
    gone = await http.get("/api/me", headers=headers)
    assert gone.status_code == 401


async def test_session_lifetimes_on_rest_and_open_sockets(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    hub: RunningHub = await start_hub(hub_settings.replace(session_idle_seconds=600,
                                                           session_absolute_seconds=3600),
                                      clock=clock)
    alice = await hub.client("alice")
    # olga has no socket (an open socket keeps its session alive, see Node.sweep).
    assert (await hub.api("GET", "/api/me", "olga")).status_code == 200
    clock.advance(601)  # idle too long
    assert (await hub.api("GET", "/api/me", "olga")).status_code == 401
    hub._tokens.clear()
    bruno = await hub.client("bruno")
    for _ in range(7):  # activity keeps the session alive past the idle limit...
        clock.advance(500)
        assert (await hub.api("GET", "/api/me", "bruno")).status_code == 200
    clock.advance(200)  # ...but never past the absolute limit
    assert (await hub.api("GET", "/api/me", "bruno")).status_code == 401
    await hub.hub.node.sweep()
    assert await _close_code(bruno) == 4003
    assert await _close_code(alice) == 4003


async def test_totp_second_factor(running_hub: RunningHub) -> None:
    hub = running_hub.hub
    user = await hub.engine.store.get_user_by_name("alice")
    secret, _ = new_totp_secret("alice")
    # Enrol with the previous step's code: the enrolment code is used up.
    await hub.auth.enroll_totp(user, secret, pyotp.TOTP(secret).at(time.time() - 30),  # type: ignore[arg-type]
                               actor="test")
    http = running_hub.http
    assert http is not None
    r = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "totp_required"
    r = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD,
                                                 "totp": "000000"})
    assert r.status_code == 401
    code = pyotp.TOTP(secret).now()
    r = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD,
                                                 "totp": code, "bearer": True})
    assert r.status_code == 200
    replay = await http.post("/api/auth/login", json={"username": "alice",
                                                      "password": PASSWORD, "totp": code})
    assert replay.status_code == 401  # a code is good once
    for odd in ("١٢٣٤٥٦", "12345é", "9" * 16, " "):  # never a 500 from compare_digest
        r = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD,
                                                     "totp": odd})
        assert r.status_code in (401, 429), (odd, r.text)
    for odd_body in ({"totp": "9" * 17}, {"totp": 123456}, {"bearer": "yes"}, {"x": 1}):
        r = await http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD,
                                                     **odd_body})
        field = next(iter(odd_body))
        assert r.status_code == 400 and f"'{field}'" in r.json()["error"]["message"], r.text


async def test_totp_can_be_mandatory_for_coordinators(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(require_totp_for=("coordinator",)))
    assert hub.http is not None
    r = await hub.http.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "totp_enrollment_required"
    r = await hub.http.post("/api/auth/login", json={"username": "bruno", "password": PASSWORD})
    assert r.status_code == 200


async def test_connections_per_user_are_capped(start_hub, hub_settings) -> None:  # type: ignore[no-untyped-def]
    hub: RunningHub = await start_hub(hub_settings.replace(max_connections_per_user=2))
    await hub.client("bruno")
    await hub.client("bruno")
    third = WsClient(await hub.raw_ws(), "json")
    await third.send({"type": "hello", "token": await hub.login("bruno"), "ref": "h3"})
    err = await third.recv()
    assert err["type"] == "error" and err["code"] == "too_many_connections"
    assert err["retryable"] is True and err["ref"] == "h3"
    assert await _close_code(third) == 4030


async def test_totp_cli_round_trip_and_replay_refused_on_another_hub(
        start_hub: Any, hub_settings: Any) -> None:
    """Enrol with `liaison user totp` (a real process), log in on one hub; the same code
    is refused on a second hub sharing the engine."""
    first = await start_hub(hub_settings)
    env = {**os.environ, "LIAISON_DATA_DIR": str(hub_settings.data_dir),
           "LIAISON_ENGINE": hub_settings.engine, "LIAISON_REDIS_PREFIX":
           hub_settings.redis_prefix}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liaison", "user", "totp", "alice", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    secret = line.rsplit(":", 1)[1].strip()
    uri = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    totp = pyotp.TOTP(secret)
    proc.stdin.write((totp.at(time.time() - 30) + "\n").encode())
    await proc.stdin.drain()
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "TOTP enrolled for alice" in out.decode()

    if hub_settings.engine == "embedded":
        second = first  # one process owns the embedded engine
    else:
        second = await start_hub(hub_settings, seeded=False)
    code = totp.now()
    login = {"username": "alice", "password": PASSWORD, "totp": code}
    assert first.http is not None and second.http is not None
    r = await first.http.post("/api/auth/login", json=login)
    assert r.status_code == 200, r.text
    replay = await second.http.post("/api/auth/login", json=login)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "totp_required"


async def test_totp_cli_refuses_a_wrong_first_code(running_hub: RunningHub) -> None:
    settings = running_hub.settings
    env = {**os.environ, "LIAISON_DATA_DIR": str(settings.data_dir),
           "LIAISON_ENGINE": settings.engine, "LIAISON_REDIS_PREFIX": settings.redis_prefix}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "liaison", "user",
                                                    "totp", "bruno"],
                                   input="000000\n", capture_output=True, text=True, env=env,
                                   timeout=60)
    assert done.returncode == 1 and "nothing was changed" in done.stderr
    user = await running_hub.hub.engine.store.get_user_by_name("bruno")
    assert user is not None and user.totp_secret is None


async def test_secure_cookie_behind_a_trusted_tls_proxy(start_hub: Any,
                                                        hub_settings: Any) -> None:
    login = {"username": "alice", "password": PASSWORD}
    proxied = await start_hub(hub_settings.replace(trusted_proxies=("127.0.0.1",)))
    assert proxied.http is not None
    r = await proxied.http.post("/api/auth/login", json=login,
                                headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()
    r = await proxied.http.post("/api/auth/login", json=login)
    assert "secure" not in r.headers["set-cookie"].lower()


async def test_forwarded_proto_is_ignored_from_an_untrusted_peer(
        running_hub: RunningHub) -> None:
    assert running_hub.http is not None
    r = await running_hub.http.post("/api/auth/login",
                                    json={"username": "alice", "password": PASSWORD},
                                    headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "secure" not in r.headers["set-cookie"].lower()


async def test_bad_bearer_tokens_and_totp_required_are_audited(
        running_hub: RunningHub) -> None:
    assert running_hub.http is not None
    r = await running_hub.http.get("/api/me", headers={"Authorization": "Bearer lh_nope"})
    assert r.status_code == 401
    hub = running_hub.hub
    user = await hub.engine.store.get_user_by_name("bruno")
    secret, _ = new_totp_secret("bruno")
    await hub.auth.enroll_totp(user, secret, pyotp.TOTP(secret).now(),  # type: ignore[arg-type]
                               actor="test")
    r = await running_hub.http.post("/api/auth/login",
                                    json={"username": "bruno", "password": PASSWORD})
    assert r.json()["error"]["code"] == "totp_required"
    records = [a async for a in hub.engine.store.iter_audit()]
    assert any(a.action == "http.auth" and a.outcome == "failed" for a in records)
    assert any(a.action == "login.totp" and a.outcome == "required" and a.actor == "bruno"
               for a in records)
    assert not any("lh_nope" in str(a.as_dict()) for a in records)
