"""The ``liaison`` command: serve the hub and administer it from the shell.

Administrative commands open the configured store directly (the embedded
engine allows this while the hub runs); revocations they make reach running
hubs through the store's revocation log within ``revocation_poll_seconds``.
Passwords are read from a terminal prompt or ``--password-stdin``, never from
arguments (they would show in the process list and shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from hub.config import ConfigError, Settings, load_settings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liaison",
        description="Liaison Hub: real-time coordination for joint liaison cells.")
    p.add_argument("--config", help="TOML settings file (also LIAISON_CONFIG)")
    p.add_argument("--data-dir", help="data directory (also LIAISON_DATA_DIR)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1,
                       help="hub processes sharing the port (Redis engine only)")
    demo = sub.add_parser("demo", help="seed a demo operation (once) and run the hub")
    demo.add_argument("--host")
    demo.add_argument("--port", type=int)

    sub.add_parser("seed-demo", help="seed the demo operation once and print its credentials")

    init = sub.add_parser("init", help="create the first administrator")
    init.add_argument("username")
    init.add_argument("--agency", required=True)
    init.add_argument("--display-name", default="")
    init.add_argument("--password-stdin", action="store_true")

    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    add = user.add_parser("add", help="create a user (or a bot with --bot)")
    add.add_argument("username")
    add.add_argument("--agency", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--bot", action="store_true", help="a bot: no password, API tokens only")
    add.add_argument("--password-stdin", action="store_true")
    for name, text in (("disable", "disable a user and close their sessions"),
                       ("enable", "enable a disabled user"),
                       ("passwd", "set a user's password (ends their sessions)"),
                       ("totp", "enrol a TOTP second factor and print its secret")):
        cmd = user.add_parser(name, help=text)
        cmd.add_argument("username")
        if name == "passwd":
            cmd.add_argument("--password-stdin", action="store_true")
    user.add_parser("list", help="list users")

    op = sub.add_parser("op", help="manage operations").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    create = op.add_parser("create", help="create an operation")
    create.add_argument("code")
    create.add_argument("--name", required=True)
    create.add_argument("--classification", default="UNCLASSIFIED")
    create.add_argument("--agencies", default="", help="comma-separated agencies")
    member = op.add_parser("member", help="add a member or change their role")
    member.add_argument("code")
    member.add_argument("username")
    member.add_argument("--role", default="member",
                        choices=["coordinator", "member", "observer"])
    channel = op.add_parser("channel", help="create a channel in an operation")
    channel.add_argument("code")
    channel.add_argument("name")
    channel.add_argument("--topic", default="")
    channel.add_argument("--agencies", default="", help="restrict to these agencies")
    op.add_parser("list", help="list operations")

    token = sub.add_parser("token", help="manage API tokens for bots").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    tcreate = token.add_parser("create", help="create a token (shown once)")
    tcreate.add_argument("--user", required=True)
    tcreate.add_argument("--operation", action="append", required=True,
                         help="operation code in the token's scope (repeatable)")
    tcreate.add_argument("--name", default="")
    trevoke = token.add_parser("revoke", help="revoke a token by id")
    trevoke.add_argument("token_id")
    token.add_parser("list", help="list tokens (ids, never secrets)")

    rules = sub.add_parser("rules", help="rules and escalation policies as code").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    check = rules.add_parser("check", help="validate a TOML or YAML rule file")
    check.add_argument("file")
    load = rules.add_parser("load", help="create or replace a file's rules in an operation")
    load.add_argument("code", help="operation code")
    load.add_argument("file")

    repair = sub.add_parser("repair", help="rewrite stored records that cannot be served "
                            "as stored (NaN, lone surrogates, huge integers from older hubs)")
    repair.add_argument("--dry-run", action="store_true", help="only count them")

    audit = sub.add_parser("audit", help="check or export the audit trail").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    verify = audit.add_parser("verify", help="verify the hash chain")
    verify.add_argument("--expect-head", help="head hash recorded earlier, kept off-host")
    verify.add_argument("--key-file", help="audit key file to verify with (default: the "
                        "hub's audit_key_file); an off-host copy detects a rewritten log")
    verify.add_argument("--unkeyed-before", type=int, default=0, metavar="SEQ",
                        help="accept plain SHA-256 records before this seq (written before "
                        "audit keys existed)")
    audit.add_parser("rotate-key", help="add a new audit signing key (restart the hubs)")
    export = audit.add_parser("export", help="write the audit trail as JSON lines")
    export.add_argument("--output", "-o", help="file (default: standard output)")
    return p


def _read_password(from_stdin: bool, prompt: str = "Password: ") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise SystemExit("passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(config_file=args.config,
                                 data_dir=Path(args.data_dir) if args.data_dir else None,
                                 host=getattr(args, "host", None),
                                 port=getattr(args, "port", None))
    except ConfigError as exc:
        print(f"liaison: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "seed-demo":
        _print_demo(settings, asyncio.run(_seed(settings)))
        return 0
    if args.command in ("serve", "demo"):
        return _serve(settings, demo=args.command == "demo",
                      workers=getattr(args, "workers", 1), args=args)
    try:
        return asyncio.run(_admin(settings, args))
    except Exception as exc:  # report, don't dump a trace at an operator
        from hub.errors import HubError

        if isinstance(exc, HubError):
            print(f"liaison: {exc.message}", file=sys.stderr)
            return 1
        raise


def _serve(settings: Settings, *, demo: bool, workers: int,
           args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from hub.app import create_app, server_config, server_options
    from hub.logs import configure_logging

    if workers < 1:
        print("liaison: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and settings.engine == "embedded":
        print("liaison: --workers needs the Redis engine (set LIAISON_ENGINE=redis://...): "
              "the embedded engine's broker lives inside one process", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if demo:
        _print_demo(settings, asyncio.run(_seed(settings)))
    if workers > 1:
        # Worker processes build their app from the environment: hand them our view.
        for key, value in (("LIAISON_CONFIG", args.config),
                           ("LIAISON_DATA_DIR", args.data_dir),
                           ("LIAISON_HOST", getattr(args, "host", None)),
                           ("LIAISON_PORT", getattr(args, "port", None))):
            if value is not None:
                os.environ[key] = str(value)
        uvicorn.run("hub.app:app_from_env", factory=True, workers=workers,
                    **server_options(settings))
        return 0
    uvicorn.Server(server_config(create_app(settings), settings)).run()
    return 0


def _print_demo(settings: Settings, creds: list[tuple[str, str, str]]) -> None:
    host = "localhost" if settings.host in ("127.0.0.1", "::1") else settings.host
    print(f"\nLiaison Hub demo: open http://{host}:{settings.port}/\n", flush=True)
    print("Demo users (operation OP-DELTA):", flush=True)
    for username, password, agency in creds:
        print(f"  {username:<8} {password:<20} {agency}", flush=True)
    print("(also in", settings.data_dir / "demo-credentials.txt", ")", flush=True)
    print(f"Live board: http://{host}:{settings.port}/board.html?op=OP-DELTA", flush=True)
    print("Bot token (to push cases and alerts, see README):",
          settings.data_dir / "demo-bot-token.txt", "\n", flush=True)


async def _seed(settings: Settings) -> list[tuple[str, str, str]]:
    from hub.demo import seed_demo

    async with _Admin(settings) as adm:
        return await seed_demo(adm.store, adm.auth, adm.channels, settings.data_dir)


class _Admin:
    """The parts administrative commands need, on the configured store."""

    def __init__(self, settings: Settings) -> None:
        from channels.access import Access
        from channels.service import ChannelService
        from hub.auditor import Auditor
        from hub.auth import Authenticator, Passwords
        from hub.clock import SystemClock
        from hub.engine import build_engine

        clock = SystemClock()
        engine = build_engine(settings)
        self.settings = settings
        self.store = engine.store
        self.auditor = Auditor(engine.store, clock)
        self.auth = Authenticator(settings=settings, store=engine.store, clock=clock,
                                  auditor=self.auditor, passwords=Passwords(settings))
        self.channels = ChannelService(settings=settings, store=engine.store,
                                       broker=engine.broker, presence=engine.presence,
                                       clock=clock, limits=engine.limits,
                                       auditor=self.auditor,
                                       access=Access(engine.store, self.auditor))

    async def __aenter__(self) -> _Admin:
        await self.store.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()

    def principal(self) -> object:
        from hub.auth import Principal
        from hub.models import User, UserId

        cli = User(UserId("cli"), "cli", "command line", "HUB", is_admin=True)
        return Principal(cli, "cli", "session", None, None)


async def _admin(settings: Settings, args: argparse.Namespace) -> int:
    async with _Admin(settings) as adm:
        handler = _HANDLERS[(args.command, getattr(args, "action", None))]
        return await handler(adm, args, sys.stdout)


async def _user_named(adm: _Admin, username: str) -> object:
    user = await adm.store.get_user_by_name(username)
    if user is None:
        raise SystemExit(f"liaison: no user {username}")
    return user


async def _init(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    if any(u.is_admin for u in await adm.store.list_users()):
        print("liaison: an administrator exists already; use 'liaison user add --admin'",
              file=sys.stderr)
        return 1
    password = _read_password(args.password_stdin)
    user = await adm.auth.create_user(username=args.username, display_name=args.display_name,
                                      agency=args.agency, password=password, is_admin=True,
                                      actor="cli")
    print(f"created administrator {user.username}", file=out)
    return 0


async def _user_add(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    password = None if args.bot else _read_password(args.password_stdin)
    user = await adm.auth.create_user(username=args.username, display_name=args.display_name,
                                      agency=args.agency, password=password,
                                      is_admin=args.admin, is_bot=args.bot, actor="cli")
    print(f"created {'bot' if user.is_bot else 'user'} {user.username} ({user.agency})",
          file=out)
    return 0


async def _user_disable(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await _user_named(adm, args.username)
    await adm.auth.set_disabled(user, args.action == "disable", actor="cli")  # type: ignore[arg-type]
    print(f"{args.action}d {args.username}", file=out)
    return 0


async def _user_passwd(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await _user_named(adm, args.username)
    await adm.auth.set_password(user, _read_password(args.password_stdin),  # type: ignore[arg-type]
                                actor="cli")
    print(f"password changed for {args.username}; their sessions were ended", file=out)
    return 0


async def _user_totp(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    """Print a new secret and its URI, then store it only once a first code matches."""
    from hub.auth import new_totp_secret
    from hub.errors import BadRequest

    user = await _user_named(adm, args.username)
    secret, uri = new_totp_secret(args.username)
    print(f"TOTP secret for {args.username}: {secret}\n{uri}", file=out, flush=True)
    print("Add it to the authenticator app, then type the 6-digit code it shows: ",
          end="", file=out, flush=True)
    code = sys.stdin.readline().strip()
    try:
        await adm.auth.enroll_totp(user, secret, code, actor="cli")  # type: ignore[arg-type]
    except BadRequest as exc:
        print(f"\n{exc.message}", file=sys.stderr)
        return 1
    print(f"\nTOTP enrolled for {args.username}", file=out)
    return 0


async def _user_list(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    for u in await adm.store.list_users():
        flags = ",".join(f for f, on in (("admin", u.is_admin), ("bot", u.is_bot),
                                         ("disabled", u.disabled),
                                         ("totp", u.totp_secret is not None)) if on)
        print(f"{u.username}\t{u.agency}\t{u.display_name}\t{flags}", file=out)
    return 0


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


async def _op_by_code(adm: _Admin, code: str) -> object:
    op = await adm.store.get_operation_by_code(code)
    if op is None:
        raise SystemExit(f"liaison: no operation {code}")
    return op


async def _op_create(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await adm.channels.create_operation(
        adm.principal(), {"code": args.code, "name": args.name,  # type: ignore[arg-type]
                          "classification": args.classification,
                          "agencies": _split(args.agencies)}, "cli")
    print(f"created operation {op.code} ({op.id})", file=out)
    return 0


async def _op_member(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await _op_by_code(adm, args.code)
    await adm.channels.set_member(adm.principal(), op.id, args.username,  # type: ignore[arg-type, attr-defined]
                                  args.role, "cli")
    print(f"{args.username} is {args.role} in {args.code}", file=out)
    return 0


async def _op_channel(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await _op_by_code(adm, args.code)
    ch = await adm.channels.create_channel(
        adm.principal(), op.id,  # type: ignore[arg-type, attr-defined]
        {"name": args.name, "topic": args.topic, "agencies": _split(args.agencies)}, "cli")
    print(f"created channel {ch.name} ({ch.id})", file=out)
    return 0


async def _op_list(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    for op in await adm.store.list_operations():
        print(f"{op.code}\t{op.id}\t{op.status}\t{op.classification}\t{op.name}", file=out)
    return 0


async def _token_create(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    user = await _user_named(adm, args.user)
    scope = []
    for code in args.operation:
        op = await _op_by_code(adm, code)
        scope.append(op.id)  # type: ignore[attr-defined]
    token, session = await adm.auth.create_api_token(
        user, name=args.name or args.user, scope=tuple(scope), actor="cli")  # type: ignore[arg-type]
    print(f"token id: {session.id}\ntoken (shown once, keep it secret):\n{token}", file=out)
    return 0


async def _token_revoke(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    if not await adm.auth.revoke(args.token_id, actor="cli"):
        print(f"liaison: no live token {args.token_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.token_id}", file=out)
    return 0


async def _token_list(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    users = {u.id: u.username for u in await adm.store.list_users()}
    for s in await adm.store.list_sessions(kind="token"):
        state = "revoked" if s.revoked_at else "live"
        print(f"{s.id}\t{users.get(s.user_id, '?')}\t{s.name}\t{state}\t"
              f"{','.join(s.scope or ())}", file=out)
    return 0


async def _audit_verify(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    from hub.audit import load_keys, verify_chain

    try:
        keys = load_keys(Path(args.key_file) if args.key_file else
                         adm.settings.audit_key_path)
    except (OSError, ValueError) as exc:
        print(f"FAILED: {exc}", file=out)
        return 1
    records = [r async for r in adm.store.iter_audit()]
    result = verify_chain(records, await adm.store.audit_head(), {k.id: k for k in keys},
                          unkeyed_before=args.unkeyed_before)
    if result.ok and args.expect_head and args.expect_head not in (result.head_hash,):
        # An earlier head must still be in the chain (the log only grows).
        if not any(r.hash == args.expect_head for r in records):
            print(f"FAILED: expected head {args.expect_head} is not in the chain",
                  file=out)
            return 1
    if not result.ok:
        print(f"FAILED after {result.count} good records: {result.problem}", file=out)
        return 1
    print(f"OK: {result.count} records, head {result.head_hash}", file=out)
    return 0


async def _audit_rotate_key(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    from hub.audit import add_key

    key = add_key(adm.settings.audit_key_path)
    await adm.auditor.record(actor="cli", action="audit.key_added", target=key.id,
                             outcome="ok")
    print(f"added audit key {key.id} to {adm.settings.audit_key_path}; restart every hub "
          "process (and copy the file to every node) so new records use it", file=out)
    return 0


async def _repair(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    counts = await adm.store.repair_documents(dry_run=args.dry_run)
    found = ", ".join(f"{n} {what}" for what, n in counts.items())
    if args.dry_run:
        print(f"would repair: {found}", file=out)
    else:
        await adm.auditor.record(actor="cli", action="store.repair", target="documents",
                                 outcome="ok", details=dict(counts))
        print(f"repaired: {found}", file=out)
    return 0


async def _audit_export(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    lines = [json.dumps(rec.as_dict(), ensure_ascii=True) + "\n"
             async for rec in adm.store.iter_audit()]
    if args.output:
        Path(args.output).write_text("".join(lines), encoding="utf-8")  # noqa: ASYNC240
    else:
        out.writelines(lines)
    return 0


_Handler = Callable[[_Admin, argparse.Namespace, TextIO], Awaitable[int]]
def _rule_file(path: str) -> object:
    from alerting.rulefile import RuleFileError, load_rule_file

    try:
        return load_rule_file(path)
    except RuleFileError as exc:
        raise SystemExit(f"liaison: {exc}") from None


async def _rules_check(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    rf = _rule_file(args.file)
    print(f"{args.file}: {len(rf.rules)} rules and {len(rf.policies)} policies are valid",  # type: ignore[attr-defined]
          file=out)
    return 0


async def _rules_load(adm: _Admin, args: argparse.Namespace, out: TextIO) -> int:
    import time

    from alerting.rulefile import apply_rule_file

    rf = _rule_file(args.file)
    op = await _op_by_code(adm, args.code)
    changed = await apply_rule_file(adm.store, op.id, rf, actor="cli",  # type: ignore[arg-type, attr-defined]
                                    now=time.time())
    for what in changed:
        print(f"{args.code}: {what}", file=out)
    await adm.auditor.record(actor="cli", action="rules.load", target=args.file,
                             outcome="ok", operation_id=op.id,  # type: ignore[attr-defined]
                             details={"changed": len(changed)})
    print(f"{args.code}: {len(changed)} changed, the running hub applies them within a second",
          file=out)
    return 0


_HANDLERS: dict[tuple[str, str | None], _Handler] = {
    ("rules", "check"): _rules_check,
    ("rules", "load"): _rules_load,
    ("init", None): _init,
    ("user", "add"): _user_add,
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
    ("audit", "verify"): _audit_verify,
    ("audit", "export"): _audit_export,
    ("audit", "rotate-key"): _audit_rotate_key,
    ("repair", None): _repair,
}
