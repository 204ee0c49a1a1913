"""What a verifier runs offline, with no data directory: an export checked with the public
keys (and against a complete export, and its time-stamp with the TSA's chain), and the
audit trail checked with the public keys alone (links, checkpoints, rotations, stamps).
``liaison export verify`` and ``liaison audit verify --public-key`` print these reports.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from hub.models import AuditRecord

__all__ = ["report_trail", "verify_audit_file", "verify_export"]


def verify_export(archive: Path, public_key: Path, out: TextIO, *,
                  complete: Path | None = None, tsa_cert: Path | None = None) -> int:
    """Check an export with nothing but the hub's public key (no data, no network):
    0 if it is intact, 1 naming every record changed, added, removed or moved. With
    ``complete`` (a custodian's export), also whether both describe the same record."""
    from hub.commitments import compare
    from hub.sealed import Report, check
    from hub.signing import load_public_keys
    from hub.timestamps import TimestampError, load_chain
    from hub.timestamps import check as check_stamp

    try:
        public = load_public_keys(public_key.read_bytes())
        chain = load_chain(tsa_cert.read_bytes()) if tsa_cert else None
        archives = [(archive, archive.read_bytes())]
        if complete is not None:
            archives.append((complete, complete.read_bytes()))
    except (OSError, ValueError) as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 2
    reports: list[Report] = []
    failed = False
    for path, data in archives:
        report = check(data, public)
        reports.append(report)
        if report.ok and chain is not None:
            if report.timestamp is None:
                report.problems.append("the manifest has no time-stamp (manifest.tsr)")
            else:
                try:
                    when = check_stamp(report.timestamp, report.manifest, chain)
                except TimestampError as exc:
                    report.problems.append(f"the manifest's time-stamp fails: {exc}")
                else:
                    report.meta["stamped_at"] = when.isoformat()
        if not report.ok:
            failed = True
            print(f"NOT VERIFIED: {path}", file=out)
            for problem in report.problems:
                print(f"  {problem}", file=out)
            continue
        op = report.meta.get("operation") or {}
        print(f"verified: {path}: {report.records} records of {op.get('code')} "
              f"({op.get('name')}), exported by {report.meta.get('exported_by')}"
              f"{' (complete: custodian)' if report.meta.get('complete') else ''}, "
              f"signed by key {report.meta.get('key_id')}", file=out)
        if report.meta.get("stamped_at"):
            print(f"  time-stamped by the TSA at {report.meta['stamped_at']}", file=out)
        for marking, count in (report.meta.get("withheld") or {}).items():
            print(f"  left out: {count} above the exporter's clearance ({marking})", file=out)
        if report.meta.get("commitments"):
            print(f"  committed to: {len(report.meta['commitments'])} records left out",
                  file=out)
    if failed or complete is None:
        return 1 if failed else 0
    result = compare(reports[0], reports[1])
    for note in result.notes:
        print(f"  note: {note}", file=out)
    if not result.ok:
        print(f"NOT THE SAME RECORD: {archive} and {complete}", file=out)
        for problem in result.problems:
            print(f"  {problem}", file=out)
        return 1
    print(f"same record: {archive} holds {result.held} records of {complete} and commits "
          f"to {result.committed} more", file=out)
    return 0


def verify_audit_file(args: argparse.Namespace, out: TextIO) -> int:
    """``liaison audit verify --records FILE --public-key KEYS.pem``: anyone's check of an
    exported trail, with no data directory, no HMAC key and no network."""
    import json

    from hub.engine.rows import audit_record

    if not args.public_key:
        print("liaison: --records needs --public-key", file=sys.stderr)
        return 2
    try:
        records = [audit_record(json.loads(line)) for line in
                   Path(args.records).read_text(encoding="utf-8").splitlines() if line.strip()]
        keys_pem = Path(args.public_key).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 2
    return report_trail(records, None, keys_pem, args, out)


def report_trail(records: Sequence[AuditRecord], head: tuple[int, str] | None, keys_pem: bytes,
                 args: argparse.Namespace, out: TextIO, *, default_unsigned: int = 200) -> int:
    """Check a trail with the public keys: links, checkpoints, rotations; print the result."""
    from hub.audit import verify_chain
    from hub.checkpoints import verify
    from hub.signing import load_public_keys

    trail = list(records)
    try:
        trusted = load_public_keys(keys_pem)
    except ValueError as exc:
        print(f"liaison: {exc}", file=sys.stderr)
        return 2
    chain = verify_chain(trail, head, links_only=True)
    limit = args.max_unsigned if args.max_unsigned is not None else default_unsigned
    signed = verify(trail, trusted, max_unsigned=limit)
    problems = ([] if chain.ok else [chain.problem]) + signed.problems
    stamped = ""
    if getattr(args, "tsa_cert", None):
        from hub.timestamps import TimestampError, load_chain
        from hub.timestamps import check as check_stamp

        try:
            certs = load_chain(Path(args.tsa_cert).read_bytes())
        except (OSError, ValueError) as exc:
            print(f"liaison: {exc}", file=sys.stderr)
            return 2
        times = []
        for seq, statement, token in signed.stamps:
            if token is None:
                problems.append(f"checkpoint at record {seq} has no time-stamp")
                continue
            try:
                times.append(check_stamp(token, statement, certs))
            except TimestampError as exc:
                problems.append(f"checkpoint at record {seq}: its time-stamp fails: {exc}")
        if times:
            stamped = (f"; {len(times)} time-stamped by the TSA, the last at "
                       f"{max(times).isoformat()}")
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {len(trail)} records", file=out)
        for problem in problems:
            print(f"  {problem}", file=out)
        return 1
    print(f"OK: {chain.count} records, head {chain.head_hash}; {signed.good} signed "
          f"checkpoints vouch for records 1-{signed.covered} (keys: "
          f"{', '.join(signed.keys)}){stamped}", file=out)
    return 0
