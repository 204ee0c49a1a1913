"""The ``liaison`` commands about the record: exports and their custodians, the signing
key, the audit trail (verify, export, key rotation). :mod:`liaison.admin` dispatches to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hub.audit import add_key, load_keys, verify_chain
from hub.models import Operation, User
from hub.principal import Principal
from hub.private import write_private

if TYPE_CHECKING:
    from liaison.admin import Admin

__all__ = ["HANDLERS", "op_by_code", "user_named"]


async def user_named(adm: Admin, username: str) -> User:
    user = await adm.store.get_user_by_name(username)
    if user is None:
        raise SystemExit(f"liaison: no user {username}")
    return user


async def op_by_code(adm: Admin, code: str) -> Operation:
    op = await adm.store.get_operation_by_code(code)
    if op is None:
        raise SystemExit(f"liaison: no operation {code}")
    return op


async def _op_export(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await op_by_code(adm, args.code)
    custodian = Principal(await user_named(adm, args.custodian), "cli", "session", None, None)
    await adm.services.exporter.require_custodian(custodian, op.id)
    archive = await adm.services.exporter.export_as(custodian, op, "cli", complete=True)
    path = Path(args.out or f"{op.code}-record.zip")
    write_private(path, archive)  # once, at the end of a CLI command
    print(f"wrote {path} ({len(archive)} bytes), signed by key "
          f"{adm.services.exporter.signer.key_id}", file=out)
    return 0


async def _op_custodian(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    op = await op_by_code(adm, args.code)
    await adm.channels.set_custodian(adm.principal(), op.id, args.username,
                                     not args.withdraw, "cli")
    print(f"{args.username} {'is no longer' if args.withdraw else 'is'} a custodian of "
          f"{op.code}" + ("" if args.withdraw else ": their export holds the complete record"),
          file=out)
    return 0


async def _export_public_key(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    print(adm.services.exporter.keys.public_pems(), end="", file=out)
    return 0


async def _signing_rotate(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    """A new signing key, vouched for by the old one: the rotation is an audit record
    with the new public key, and the old key signs the checkpoint that covers it."""
    from hub.checkpoints import ROTATED
    from hub.signing import Signer

    keys = adm.services.exporter.keys
    old, new = keys.signer, Signer.generate()
    await adm.auditor.record(actor="cli", action=ROTATED, target=new.key_id, outcome="ok",
                             details={"from": old.key_id, "to": new.key_id,
                                      "public_key": new.public_pem()})
    if await adm.auditor.checkpoint(signer=old) is None:
        raise SystemExit("liaison: the rotation could not be signed; the key is unchanged")
    keys.rotate(new)
    print(f"signing key {old.key_id} rotated to {new.key_id}; running hubs take the new key "
          f"from {keys.path} at their next signature. Public keys (hand them to verifiers): "
          f"{keys.path}.pub", file=out)
    return 0


async def _audit_verify(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    if args.public_key:
        from hub.verifying import report_trail

        try:
            pem = await asyncio.to_thread(Path(args.public_key).read_bytes)
        except OSError as exc:
            print(f"FAILED: {exc}", file=out)
            return 1
        return report_trail([r async for r in adm.store.iter_audit()],
                            await adm.store.audit_head(), pem, args, out,
                            default_unsigned=2 * adm.settings.audit_checkpoint_records)
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


async def _audit_rotate_key(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    key = add_key(adm.settings.audit_key_path)
    await adm.auditor.record(actor="cli", action="audit.key_added", target=key.id,
                             outcome="ok")
    print(f"added audit key {key.id} to {adm.settings.audit_key_path}; restart every hub "
          "process (and copy the file to every node) so new records use it", file=out)
    return 0


async def _audit_export(adm: Admin, args: argparse.Namespace, out: TextIO) -> int:
    lines = [json.dumps(rec.as_dict(), ensure_ascii=True) + "\n"
             async for rec in adm.store.iter_audit()]
    if args.output:
        write_private(Path(args.output), "".join(lines).encode("utf-8"))
    else:
        out.writelines(lines)
    return 0


HANDLERS: dict[tuple[str, str | None], Callable[[Admin, argparse.Namespace, TextIO],
                                                  Awaitable[int]]] = {
    ("op", "export"): _op_export,
    ("op", "custodian"): _op_custodian,
    ("export", "public-key"): _export_public_key,
    ("signing-key", "rotate"): _signing_rotate,
    ("audit", "verify"): _audit_verify,
    ("audit", "export"): _audit_export,
    ("audit", "rotate-key"): _audit_rotate_key,
}
