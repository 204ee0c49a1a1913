"""Seed a demo operation a newcomer can click through.

Idempotent: run it again and it finds what it made. Passwords are random,
written once to ``<data dir>/demo-credentials.txt`` (mode 0600) and printed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from channels.service import ChannelService
from hub.auth import Authenticator, Principal
from hub.engine.port import Store
from hub.models import Role, User

__all__ = ["DEMO_USERS", "seed_demo"]

DEMO_OPERATION = {"code": "OP-DELTA", "name": "Delta river flood response",
                  "classification": "RESTRICTED - EXERCISE",
                  "agencies": ["POLICE", "ARMY", "RED-CROSS", "BORDER-GUARD"]}
DEMO_USERS = [
    # username, display name, agency, role
    ("alice", "Alice Martin", "POLICE", Role.COORDINATOR),
    ("bruno", "Bruno Keller", "ARMY", Role.MEMBER),
    ("chloe", "Chloé Dubois", "RED-CROSS", Role.MEMBER),
    ("dmitri", "Dmitri Novak", "BORDER-GUARD", Role.OBSERVER),
]
DEMO_CHANNELS = [
    {"name": "general", "topic": "All agencies: coordination of the flood response"},
    {"name": "logistics", "topic": "Boats, fuel, shelters and supplies"},
    {"name": "police-army", "topic": "Security liaison (police and army only)",
     "agencies": ["POLICE", "ARMY"]},
]


def _admin_principal(admin: User) -> Principal:
    return Principal(admin, "cli", "session", None, None)


async def seed_demo(store: Store, auth: Authenticator, channels: ChannelService,
                    data_dir: Path) -> list[tuple[str, str, str]]:
    """Create the demo once; return (username, password, agency) for each demo user."""
    creds_file = data_dir / "demo-credentials.txt"
    if creds_file.exists():
        lines = creds_file.read_text(encoding="utf-8").splitlines()
        return [tuple(line.split("\t")) for line in lines if line.count("\t") == 2]  # type: ignore[misc]

    creds: list[tuple[str, str, str]] = []
    admin_pw = secrets.token_urlsafe(12)
    admin = await store.get_user_by_name("admin")
    if admin is None:
        admin = await auth.create_user(username="admin", display_name="Hub administrator",
                                       agency="HUB", password=admin_pw, is_admin=True,
                                       actor="demo")
        creds.append(("admin", admin_pw, "HUB"))
    principal = _admin_principal(admin)
    op = await store.get_operation_by_code(DEMO_OPERATION["code"])  # type: ignore[arg-type]
    if op is None:
        op = await channels.create_operation(principal, dict(DEMO_OPERATION), "demo")
    for username, display, agency, role in DEMO_USERS:
        user = await store.get_user_by_name(username)
        if user is None:
            password = secrets.token_urlsafe(12)
            user = await auth.create_user(username=username, display_name=display,
                                          agency=agency, password=password, actor="demo")
            creds.append((username, password, agency))
        await channels.set_member(principal, op.id, username, str(role), "demo")
    existing = {ch.name for ch in await store.list_channels(op.id)}
    for spec in DEMO_CHANNELS:
        if spec["name"] not in existing:
            await channels.create_channel(principal, op.id, dict(spec), "demo")
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, at seeding
    fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{u}\t{p}\t{a}\n" for u, p, a in creds)
    return creds

