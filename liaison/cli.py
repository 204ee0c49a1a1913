"""The ``liaison`` command: serve the hub and administer it from the shell.

This module parses the command line and serves; the administrative commands
are in :mod:`liaison.admin`.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import sys
from pathlib import Path

from hub import __version__
from hub.config import ConfigError, Settings
from hub.config_sources import load_settings
from hub.errors import OperatorError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="liaison",
        description="Liaison Hub: real-time coordination for joint liaison cells.")
    p.add_argument("--version", action="version", version=version_text())
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

    bk = sub.add_parser("backup", help="write a backup archive while the hub serves")
    bk.add_argument("dest", help="the archive to write (must not exist)")
    bk.add_argument("--no-keys", action="store_true",
                    help="leave the audit and export key files out (keep them apart)")
    rs = sub.add_parser("restore", help="restore a backup archive into an empty data "
                                        "directory (or Redis keyspace)")
    rs.add_argument("archive")

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
    add.add_argument("--clearance", default="", metavar="LEVEL",
                     help="their clearance (default: the label policy's lowest level)")
    for name, text in (("disable", "disable a user and close their sessions"),
                       ("enable", "enable a disabled user"),
                       ("passwd", "set a user's password (ends their sessions)"),
                       ("totp", "enrol a TOTP second factor and print its secret")):
        cmd = user.add_parser(name, help=text)
        cmd.add_argument("username")
        if name == "passwd":
            cmd.add_argument("--password-stdin", action="store_true")
    user.add_parser("list", help="list users")
    clear = user.add_parser("clearance", help="set a user's clearance (ends their sessions)")
    clear.add_argument("username")
    clear.add_argument("level", help="a level of the label policy, e.g. SECRET")
    clear.add_argument("--grant", action="append", default=[], metavar="CATEGORY=V1,V2",
                       help="category values held besides the agency (repeatable)")

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
    opexport = op.add_parser("export", help="write an operation's signed record (a zip)")
    opexport.add_argument("code")
    opexport.add_argument("--custodian", required=True, metavar="USERNAME",
                          help="the custodian the complete record is exported as "
                          "(see: liaison op custodian)")
    opexport.add_argument("--out", default="", help="the file (default: CODE-record.zip)")
    custody = op.add_parser("custodian", help="entrust an operation's complete record to a "
                            "member (audited; shown to the members)")
    custody.add_argument("code")
    custody.add_argument("username")
    custody.add_argument("--withdraw", action="store_true", help="end their custody")

    exports = sub.add_parser("export", help="check operation exports offline").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    everify = exports.add_parser("verify", help="verify an export with the hub's public key; "
                                 "names every record changed, added, removed or moved")
    everify.add_argument("archive")
    everify.add_argument("--public-key", required=True, help="the hub's public key (PEM)")
    everify.add_argument("--tsa-cert", metavar="CHAIN.pem",
                         help="the Time-Stamp Authority's certificate chain (its root "
                         "included): also check the manifest's RFC 3161 time-stamp")
    everify.add_argument("--complete", metavar="ARCHIVE",
                         help="a custodian's complete export: also check that the archive "
                         "and it describe the same record (commitments to what was left out)")
    exports.add_parser("public-key", help="print the public keys that sign exports and "
                       "audit checkpoints (every one signed with, the current one last)")

    signing = sub.add_parser("signing-key", help="the Ed25519 key that signs exports and "
                             "audit checkpoints").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    signing.add_parser("rotate", help="make a new signing key; the old one vouches for it in "
                       "a signed checkpoint, so old signatures keep verifying")

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
    verify = audit.add_parser("verify", help="verify the hash chain and its signed "
                              "checkpoints")
    verify.add_argument("--public-key", metavar="KEYS.pem",
                        help="verify with the hub's public key(s) alone: links, every signed "
                        "checkpoint and key rotation (no HMAC key needed)")
    verify.add_argument("--records", metavar="FILE",
                        help="the trail as written by 'liaison audit export' (no data "
                        "directory needed; with --public-key)")
    verify.add_argument("--tsa-cert", metavar="CHAIN.pem",
                        help="the Time-Stamp Authority's certificate chain: also check "
                        "every checkpoint's RFC 3161 time-stamp (with --public-key)")
    verify.add_argument("--max-unsigned", type=int, default=None, metavar="N",
                        help="records allowed after the last good checkpoint (default: "
                        "twice audit_checkpoint_records)")
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


def version_text() -> str:
    """What ``liaison --version`` prints: the release and the data schemas it reads."""
    from hub.engine.schema import SCHEMAS

    schemas = ", ".join(f"{engine} {n}" for engine, n in SCHEMAS.items())
    return f"liaison-hub {__version__} (data schema: {schemas})"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "audit" and args.action == "verify" and args.records:
        from hub.verifying import verify_audit_file

        return verify_audit_file(args, sys.stdout)
    if args.command == "export" and args.action == "verify":
        from hub.verifying import verify_export

        return verify_export(Path(args.archive), Path(args.public_key), sys.stdout,
                             complete=Path(args.complete) if args.complete else None,
                             tsa_cert=Path(args.tsa_cert) if args.tsa_cert else None)
    from hub.internals import DependencyShapeError, require

    try:  # before anything imports the server: say which dependency moved, not a trace
        require()
    except DependencyShapeError as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 1
    try:
        return _command(args)
    except OperatorError as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 1


def _command(args: argparse.Namespace) -> int:
    from liaison.admin import run_admin, seed

    try:
        settings = load_settings(config_file=args.config,
                                 data_dir=Path(args.data_dir) if args.data_dir else None,
                                 host=getattr(args, "host", None),
                                 port=getattr(args, "port", None))
    except ConfigError as exc:
        print(f"liaison: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "seed-demo":
        _print_demo(settings, asyncio.run(seed(settings)))
        return 0
    if args.command == "backup":
        return _backup(settings, Path(args.dest), keys=not args.no_keys)
    if args.command == "restore":
        return _restore(settings, Path(args.archive))
    if args.command in ("serve", "demo"):
        return _serve(settings, demo=args.command == "demo",
                      workers=getattr(args, "workers", 1), args=args)
    try:
        return asyncio.run(run_admin(settings, args))
    except Exception as exc:  # report, don't dump a trace at an operator
        from hub.errors import HubError

        if isinstance(exc, HubError):
            print(f"liaison: {exc.message}", file=sys.stderr)
            return 1
        raise


def _backup(settings: Settings, dest: Path, *, keys: bool) -> int:
    from hub.backup import backup

    manifest = backup(settings, dest, keys=keys)
    head = manifest["audit_head"]
    counts = ", ".join(f"{n} {what}" for what, n in manifest["counts"].items())
    print(f"backup written: {dest} ({dest.stat().st_size} bytes; {manifest['engine']} "
          f"engine, data schema {manifest['schema']}, release {manifest['release']})")
    print(f"  holds: {counts}")
    print(f"  audit chain head: {head['seq']} {head['hash']}" if head else
          "  audit chain: empty")
    print("  key files: " + ("included: keep this archive as safe as the keys themselves"
                             if keys else "left out: keep them apart, a restore needs them"))
    return 0


def _restore(settings: Settings, archive: Path) -> int:
    from hub.backup import restore

    done = restore(settings, archive)
    m = done.manifest
    print(f"restored {archive} (made {m['created_at']} by release {m['release']}, data "
          f"schema {m['schema']}) into the {m['engine']} engine")
    print(f"  audit chain: {done.audit}")
    for note in done.notes:
        print(f"  note: {note}")
    return 0


def _serve(settings: Settings, *, demo: bool, workers: int,
           args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from hub.logs import configure_logging
    from liaison.app import create_app, server_config, server_options

    if workers < 1:
        print("liaison: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and settings.engine == "embedded":
        print("liaison: --workers needs the Redis engine (set LIAISON_ENGINE=redis://...): "
              "the embedded engine's broker lives inside one process", file=sys.stderr)
        return 2
    taken = _port_taken(settings.host, settings.port)
    if taken:
        print(f"liaison: cannot listen on {settings.host}:{settings.port}: {taken}. "
              "Stop the other program, or pick another port with --port N "
              "(or LIAISON_PORT=N).", file=sys.stderr)
        return 1
    configure_logging(settings.log_level)
    # Open the store once before serving: it migrates forward here, and data from a
    # newer release stops the hub with the reason (hub.errors.DataTooNew), not a trace.
    asyncio.run(_open_store(settings))
    if demo:
        from liaison.admin import seed

        _print_demo(settings, asyncio.run(seed(settings)))
    if workers > 1:
        # Worker processes build their app from the environment: hand them our view.
        for key, value in (("LIAISON_CONFIG", args.config),
                           ("LIAISON_DATA_DIR", args.data_dir),
                           ("LIAISON_HOST", getattr(args, "host", None)),
                           ("LIAISON_PORT", getattr(args, "port", None))):
            if value is not None:
                os.environ[key] = str(value)
        uvicorn.run("liaison.app:app_from_env", factory=True, workers=workers,
                    **server_options(settings))
        return 0
    uvicorn.Server(server_config(create_app(settings), settings)).run()
    return 0


async def _open_store(settings: Settings) -> None:
    from hub.engine import build_engine

    store = build_engine(settings).store
    await store.open()
    await store.close()


def _port_taken(host: str, port: int) -> str | None:
    """Why the hub could not listen on host:port (None when it can), checked before
    anything is printed; the server binds again itself (with SO_REUSEADDR, as here)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"cannot resolve {host!r} ({exc.strerror or exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "the port is already in use"
            return exc.strerror or str(exc)
    return None


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
