"""liaison/demo.py: the demo operation is seeded once, with its people, channels, rules and bot."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alerting.kinds import POLICY, RULE
from hub.config import Settings
from liaison.app import Services, build_services
from liaison.demo import BOT, DEMO_CHANNELS, DEMO_OPERATION, DEMO_USERS, seed_demo


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    services = build_services(Settings(data_dir=tmp_path / "data"))
    await services.hub.engine.store.open()
    yield services
    await services.hub.engine.store.close()


async def test_the_demo_is_seeded_with_every_part(services: Services, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    creds = await seed_demo(services, data_dir)
    store = services.hub.engine.store
    names = [u for u, _, _ in creds]
    assert names == ["admin", *[u[0] for u in DEMO_USERS]]
    assert all(len(pw) >= 10 for _, pw, _ in creds)
    op = await store.get_operation_by_code(DEMO_OPERATION["code"])  # type: ignore[arg-type]
    assert op is not None
    members = {u.username: m.role for m, u in await store.list_members(op.id)}
    for username, _, _, role in DEMO_USERS:
        assert members[username] == role
    assert BOT[0] in members
    assert {c.name for c in await store.list_channels(op.id)} == \
        {str(spec["name"]) for spec in DEMO_CHANNELS}
    assert await store.list_records(op.id, RULE) and await store.list_records(op.id, POLICY)
    for name in ("demo-credentials.txt", "demo-bot-token.txt"):
        mode = stat.S_IMODE((data_dir / name).stat().st_mode)
        assert mode == 0o600, name  # secrets only their owner reads
    token = (data_dir / "demo-bot-token.txt").read_text().strip()
    principal = await services.hub.auth.authenticate(token)
    assert principal.username == BOT[0] and principal.scope == (op.id,)


async def test_logging_in_with_the_printed_credentials_works(services: Services,
                                                             tmp_path: Path) -> None:
    creds = await seed_demo(services, tmp_path / "data")
    username, password, _ = creds[1]
    _, _, user = await services.hub.auth.login(username, password, None, "127.0.0.1")
    assert user.username == username


async def test_seeding_again_changes_nothing_and_returns_the_same_credentials(
        services: Services, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = await seed_demo(services, data_dir)
    store = services.hub.engine.store
    users_before = [u.username for u in await store.list_users()]
    head_before = await store.audit_head()
    again = await seed_demo(services, data_dir)
    assert again == first
    assert [u.username for u in await store.list_users()] == users_before
    assert await store.audit_head() == head_before


async def test_a_half_seeded_store_is_completed_without_duplicates(services: Services,
                                                                   tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await seed_demo(services, data_dir)
    (data_dir / "demo-credentials.txt").unlink()  # as if seeding stopped before the end
    creds = await seed_demo(services, data_dir)
    assert creds == []  # everyone exists already: no new passwords to show
    store = services.hub.engine.store
    op = await store.get_operation_by_code(DEMO_OPERATION["code"])  # type: ignore[arg-type]
    assert op is not None
    assert len(await store.list_channels(op.id)) == len(DEMO_CHANNELS)
    assert len([o for o in await store.list_operations()
                if o.code == DEMO_OPERATION["code"]]) == 1
