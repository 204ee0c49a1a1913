"""The administrative commands of ``liaison``: users, operations, tokens, rules, audit.

They open the configured store directly (the embedded engine allows this
while the hub runs) through the same object graph the server builds
(:func:`liaison.app.build_services`); revocations they make reach running hubs
through the store's revocation log within ``revocation_poll_seconds``.
Passwords are read from a terminal prompt or standard input, never from
arguments (they would show in the process list and shell history).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from channels.admin_bodies import NewChannel, NewOperation
from hub.bodies import convert
from hub.config import Settings
from hub.errors import BadRequest
from hub.labels import Label, LabelError, stored_view
from hub.models import Role, User, UserId
from hub.principal import Principal
from hub.totp import new_totp_secret
from liaison.admin_record import HANDLERS as RECORD_HANDLERS
from liaison.admin_record import op_by_code, user_named
from liaison.app import Services, build_services

__all__ = ["Admin", "run_admin", "seed"]


class Admin:
    """The parts administrative commands need, on the configured store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services = build_services(settings)
        core = self.services.hub
        self.store = core.engine.store
        self.auditor = core.auditor
        self.auth = core.auth
        self.channels = self.services.channels

    async def __aenter__(self) -> Admin:
        await self.store.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()

    def top_clearance(self) -> str:
        labels = self.settings.labels
        return labels.label(labels.levels[-1]).dumps()

    def principal(self) -> Principal:
        """Whoever runs the CLI holds the hub's data: an administrator cleared to the top."""
        cli = User(UserId("cli"), "cli", "command line", "HUB", is_admin=True,
                   clearance=self.top_clearance())
        return Principal(cli, "cli", "session", None, None)


async def seed(settings: Settings) -> list[tuple[str, str, str]]:
    """Seed the demo operation once; (username, password, agency) of each demo user."""
    from liaison.demo import seed_demo

    async with Admin(settings) as adm:
        return await seed_demo(adm.services, settings.data_dir)


async def run_admin(settings: Settings, args: argparse.Namespace) -> int:
    async with Admin(settings) as adm:
        handler = _HANDLERS[(args.command, getattr(args, "action", None))]
        return await handler(adm, args, sys.stdout)


def _read_password(from_stdin: bool, prompt: str = "Password: ") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise SystemExit("passwords differ")
    return first




async def _init(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    if any(u.is_admin for u in await adm.store.list_users()):
        print("liaison: an administrator exists already; use 'liaison user add --admin'",
              file=sys.stderr)
        return 1
    password = _read_password(args.password_stdin)
    user = await adm.auth.create_user(username=args.username, display_name=args.display_name,
                                      agency=args.agency, password=password, is_admin=True,
                                      actor="cli", clearance=adm.top_clearance())
    print(f"created administrator {user.username}", file=out)
    return 0


async def _user_add(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    if args.clearance and args.clearance not in adm.settings.labels.levels:
        print(f"error: --clearance must be one of {', '.join(adm.settings.labels.levels)}",
              file=sys.stderr)
        return 2
    password = None if args.bot else _read_password(args.password_stdin)
    user = await adm.auth.create_user(username=args.username, display_name=args.display_name,
                                      agency=args.agency, password=password,
                                      is_admin=args.admin, is_bot=args.bot, actor="cli",
                                      clearance=args.clearance and
                                      adm.settings.labels.label(args.clearance).dumps())
    print(f"created {'bot' if user.is_bot else 'user'} {user.username} ({user.agency})",
          file=out)
    return 0


async def _user_clearance(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await user_named(adm, args.username)
    policy = adm.settings.labels
    granted: dict[str, list[str]] = {}
    for entry in args.grant:
        name, _, values = entry.partition("=")
        granted.setdefault(name.strip(), []).extend(_split(values))
    try:
        clearance = policy.parse({"level": args.level, "categories": granted}, "clearance")
    except LabelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    before = policy.clearance_of(user.clearance, user.agency)
    await adm.auth.set_clearance(user, clearance, Label(before.level, before.granted),
                                 actor="cli")
    print(f"{args.username} is cleared to {clearance.marking()} (agency {user.agency}); "
          "their sessions and tokens were ended", file=out)
    return 0


async def _user_disable(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await user_named(adm, args.username)
    await adm.auth.set_disabled(user, args.action == "disable", actor="cli")
    print(f"{args.action}d {args.username}", file=out)
    return 0


async def _user_passwd(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await user_named(adm, args.username)
    await adm.auth.set_password(user, _read_password(args.password_stdin),
                                actor="cli")
    print(f"password changed for {args.username}; their sessions were ended", file=out)
    return 0


async def _user_totp(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    """Print a new secret and its URI, then store it only once a first code matches."""
    user = await user_named(adm, args.username)
    secret, uri = new_totp_secret(args.username)
    print(f"TOTP secret for {args.username}: {secret}\n{uri}", file=out, flush=True)
    print("Add it to the authenticator app, then type the 6-digit code it shows: ",
          end="", file=out, flush=True)
    code = sys.stdin.readline().strip()
    try:
        await adm.auth.enroll_totp(user, secret, code, actor="cli")
    except BadRequest as exc:
        print(f"\n{exc.message}", file=sys.stderr)
        return 1
    print(f"\nTOTP enrolled for {args.username}", file=out)
    return 0


async def _user_list(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    for u in await adm.store.list_users():
        flags = ",".join(f for f, on in (("admin", u.is_admin), ("bot", u.is_bot),
                                         ("disabled", u.disabled),
                                         ("totp", u.totp_secret is not None)) if on)
        print(f"{u.username}\t{u.agency}\t{u.display_name}\t{flags}", file=out)
    return 0


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]




async def _op_create(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await adm.channels.create_operation(
        adm.principal(), convert({"code": args.code, "name": args.name,
                          "classification": args.classification,
                          "agencies": _split(args.agencies)}, NewOperation), "cli")
    print(f"created operation {op.code} ({op.id})", file=out)
    return 0


async def _op_member(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await op_by_code(adm, args.code)
    await adm.channels.set_member(adm.principal(), op.id, args.username,
                                  Role(args.role), "cli")
    print(f"{args.username} is {args.role} in {args.code}", file=out)
    return 0


async def _op_channel(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await op_by_code(adm, args.code)
    ch = await adm.channels.create_channel(
        adm.principal(), op.id,
        convert({"name": args.name, "topic": args.topic, "agencies": _split(args.agencies)},
                NewChannel), "cli")
    print(f"created channel {ch.name} ({ch.id})", file=out)
    return 0


async def _op_list(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    for op in await adm.store.list_operations():
        marking = stored_view(op.classification)[1]
        print(f"{op.code}\t{op.id}\t{op.status}\t{marking}\t{op.name}", file=out)
    return 0










async def _token_create(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await user_named(adm, args.user)
    scope = []
    for code in args.operation:
        op = await op_by_code(adm, code)
        scope.append(op.id)
    token, session = await adm.auth.create_api_token(
        user, name=args.name or args.user, scope=tuple(scope), actor="cli")
    print(f"token id: {session.id}\ntoken (shown once, keep it secret):\n{token}", file=out)
    return 0


async def _token_revoke(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    if not await adm.auth.revoke(args.token_id, actor="cli"):
        print(f"liaison: no live token {args.token_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.token_id}", file=out)
    return 0


async def _token_list(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    users = {u.id: u.username for u in await adm.store.list_users()}
    for s in await adm.store.list_sessions(kind="token"):
        state = "revoked" if s.revoked_at else "live"
        print(f"{s.id}\t{users.get(s.user_id, '?')}\t{s.name}\t{state}\t"
              f"{','.join(s.scope or ())}", file=out)
    return 0






async def _repair(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    counts = await adm.store.repair_documents(dry_run=args.dry_run)
    found = ", ".join(f"{n} {what}" for what, n in counts.items())
    if args.dry_run:
        print(f"would repair: {found}", file=out)
    else:
        await adm.auditor.record(actor="cli", action="store.repair", target="documents",
                                 outcome="ok", details=dict(counts))
        print(f"repaired: {found}", file=out)
    return 0




_Handler = Callable[[Admin, argparse.Namespace, TextIO], Awaitable[int]]
async def _rules_check(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    try:
        rules, policies = adm.services.check_rule_file(args.file)
    except ValueError as exc:
        raise SystemExit(f"liaison: {exc}") from None
    print(f"{args.file}: {rules} rules and {policies} policies are valid", file=out)
    return 0


async def _rules_load(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await op_by_code(adm, args.code)
    try:
        changed = await adm.services.load_rule_file(op.id, args.file, actor="cli",
                                                    now=time.time())
    except ValueError as exc:
        raise SystemExit(f"liaison: {exc}") from None
    for what in changed:
        print(f"{args.code}: {what}", file=out)
    await adm.auditor.record(actor="cli", action="rules.load", target=args.file,
                             outcome="ok", operation_id=op.id,
                             details={"changed": len(changed)})
    print(f"{args.code}: {len(changed)} changed, the running hub applies them within a second",
          file=out)
    return 0


_HANDLERS: dict[tuple[str, str | None], _Handler] = {
    **RECORD_HANDLERS,
    ("rules", "check"): _rules_check,
    ("rules", "load"): _rules_load,
    ("init", None): _init,
    ("user", "add"): _user_add,
    ("user", "clearance"): _user_clearance,
    ("user", "disable"): _user_disable,
    ("user", "enable"): _user_disable,
    ("user", "passwd"): _user_passwd,
    ("user", "totp"): _user_totp,
    ("user", "list"): _user_list,
    ("op", "create"): _op_create,
    ("op", "member"): _op_member,
    ("op", "channel"): _op_channel,
    ("op", "list"): _op_list,
    ("token", "create"): _token_create,
    ("token", "revoke"): _token_revoke,
    ("token", "list"): _token_list,
    ("repair", None): _repair,
}
