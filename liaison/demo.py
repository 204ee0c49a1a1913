"""Seed a demo operation a newcomer can click through.

Idempotent: run it again and it finds what it made. Passwords are random,
written once to ``<data dir>/demo-credentials.txt`` (mode 0600) and printed.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerting.documents import PolicyDoc, RuleDoc
from channels.admin_bodies import NewChannel, NewOperation
from hub.bodies import convert
from hub.models import Role, User
from hub.principal import Principal
from hub.private import private_dir

if TYPE_CHECKING:
    from liaison.app import Services

__all__ = ["DEMO_CLEARANCES", "DEMO_POLICIES", "DEMO_RULES", "DEMO_USERS", "seed_demo"]

DEMO_OPERATION = {"code": "OP-DELTA", "name": "Delta river flood response",
                  "label": {"level": "RESTRICTED"},
                  "agencies": ["POLICE", "ARMY", "RED-CROSS", "BORDER-GUARD"]}
DEMO_USERS = [
    # username, display name, agency, role
    ("alice", "Alice Martin", "POLICE", Role.COORDINATOR),
    ("bruno", "Bruno Keller", "ARMY", Role.MEMBER),
    ("chloe", "Chloé Dubois", "RED-CROSS", Role.MEMBER),
    ("dmitri", "Dmitri Novak", "BORDER-GUARD", Role.OBSERVER),
]
#: Clearances (label policy levels): the operation is RESTRICTED; the hub's own
#: administrator and the two security agencies' liaison officers hold more.
DEMO_CLEARANCES = {"admin": "SECRET", "alice": "CONFIDENTIAL", "bruno": "CONFIDENTIAL",
                   "chloe": "RESTRICTED", "dmitri": "RESTRICTED", "river-gauge": "RESTRICTED"}
DEMO_CHANNELS: list[dict[str, Any]] = [
    {"name": "general", "topic": "All agencies: coordination of the flood response"},
    {"name": "logistics", "topic": "Boats, fuel, shelters and supplies"},
    {"name": "police-army", "topic": "Security liaison (police and army only)",
     "agencies": ["POLICE", "ARMY"]},
    {"name": "alerts", "topic": "Alert notices from the hub: acknowledge each with its "
                                "button, here or in the Alerts tab"},
]
#: Tell the assignees and the alerts channel, then the coordinators, then everyone;
#: short waits so a newcomer sees the escalation happen.
DEMO_POLICIES: list[PolicyDoc] = [
    {"id": "default", "name": "Demo escalation",
     "steps": [{"notify": ["assignees", "channel:alerts"], "wait": "2m"},
               {"notify": ["coordinators", "channel:alerts"], "wait": "3m"},
               {"notify": ["everyone", "channel:alerts"]}],
     "repeat_every": "5m"},
]
DEMO_RULES: list[RuleDoc] = [
    {"id": "critical-case", "name": "A case became critical",
     "when": 'severity == "critical" and status != "closed" and status != "resolved"',
     "severity": "critical", "summary": "{title} is critical",
     "route": ["channel:alerts", "coordinators"]},
    {"id": "mass-casualties", "name": "Ten or more casualties",
     "when": "fields.casualties >= 10", "severity": "critical",
     "summary": "{title}: {fields.casualties} casualties reported"},
    {"id": "stale-critical", "name": "Critical case without an update for 15 minutes",
     "when": 'severity == "critical" and status == "open" and since_update > 15m',
     "severity": "major", "summary": "{title}: no update for 15 minutes"},
    {"id": "incident-burst", "name": "Three or more new cases of one category in an hour",
     "kind": "rate", "threshold": 3, "window": "1h", "group_by": "category",
     "severity": "major", "summary": "{count} new {group} cases within an hour"},
]
BOT = ("river-gauge", "River gauge bot", "POLICE")


def _admin_principal(admin: User) -> Principal:
    return Principal(admin, "cli", "session", None, None)


async def seed_demo(services: Services, data_dir: Path) -> list[tuple[str, str, str]]:
    """Create the demo once; return (username, password, agency) for each demo user."""
    store, auth, channels = services.hub.engine.store, services.hub.auth, services.channels
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
                                       actor="demo", clearance=_cleared("admin", services))
        creds.append(("admin", admin_pw, "HUB"))
    principal = _admin_principal(admin)
    op = await store.get_operation_by_code(DEMO_OPERATION["code"])  # type: ignore[arg-type]
    if op is None:
        op = await channels.create_operation(principal,
                                             convert(dict(DEMO_OPERATION), NewOperation), "demo")
    for username, display, agency, role in DEMO_USERS:
        user = await store.get_user_by_name(username)
        if user is None:
            password = secrets.token_urlsafe(12)
            user = await auth.create_user(username=username, display_name=display,
                                          agency=agency, password=password, actor="demo",
                                          clearance=_cleared(username, services))
            creds.append((username, password, agency))
        await channels.set_member(principal, op.id, username, Role(role), "demo")
    existing = {ch.name for ch in await store.list_channels(op.id)}
    for spec in DEMO_CHANNELS:
        if spec["name"] not in existing:
            await channels.create_channel(principal, op.id, convert(dict(spec), NewChannel), "demo")
    await services.apply_rules(op.id, DEMO_RULES, DEMO_POLICIES, actor="demo",
                               now=time.time())
    private_dir(data_dir)  # once, at seeding
    bot = await store.get_user_by_name(BOT[0])
    if bot is None:
        bot = await auth.create_user(username=BOT[0], display_name=BOT[1], agency=BOT[2],
                                     password=None, is_bot=True, actor="demo",
                                     clearance=_cleared(BOT[0], services))
        await channels.set_member(principal, op.id, BOT[0], Role.MEMBER, "demo")
        token, _ = await auth.create_api_token(bot, name="demo gauge", scope=(op.id,),
                                               actor="demo")
        _write_private(data_dir / "demo-bot-token.txt", token + "\n")
    _write_private(creds_file, "".join(f"{u}\t{p}\t{a}\n" for u, p, a in creds))
    return creds


def _cleared(username: str, services: Services) -> str:
    return services.hub.settings.labels.label(DEMO_CLEARANCES[username]).dumps()


def _write_private(path: Path, text: str) -> None:
    """A file only its owner reads (demo secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)

