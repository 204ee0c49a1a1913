"""``liaison backup`` and ``liaison restore``: a whole hub in one checked archive.

A backup is taken while the hub serves: the engine's consistent snapshot
(:func:`hub.engine.take_snapshot`), the key files beside it unless told not to,
and a manifest (release, engine, data schema, audit chain head, the export
public key, counts), written by :mod:`hub.archive`. A restore checks the archive
whole, refuses a target that holds data, a different engine or a newer data
schema, puts data and keys in place, then opens the store (which migrates an
older schema forward), verifies the audit chain against the head the manifest
recorded and appends a record of the restore to it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import __version__
from hub.archive import read_archive, write_archive
from hub.audit import load_keys, verify_chain
from hub.config import Settings
from hub.engine import build_engine, engine_name, has_data, restore_snapshot, take_snapshot
from hub.engine.schema import SCHEMAS
from hub.errors import BackupError
from hub.private import private_dir, write_private
from hub.signing import KeyFile, Signer, public_keyring

__all__ = ["AUDIT_KEY_PART", "EXPORT_KEY_PART", "Restored", "backup", "restore"]

AUDIT_KEY_PART = "keys/audit.key"
EXPORT_KEY_PART = "keys/export.key"


def _key_files(settings: Settings) -> dict[str, Path]:
    return {AUDIT_KEY_PART: settings.audit_key_path, EXPORT_KEY_PART: settings.export_key_path}


def backup(settings: Settings, dest: Path, *, keys: bool = True) -> dict[str, Any]:
    """Write a backup of the configured hub to ``dest`` (which must not exist)."""
    if dest.exists():
        raise BackupError(f"{dest} exists already: name a new file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".liaison-backup-") as tmp:
        snap = take_snapshot(settings, Path(tmp))
        parts = dict(snap.parts)
        found = {name: path for name, path in _key_files(settings).items() if path.is_file()}
        if keys:
            parts.update(found)
        export_key = found.get(EXPORT_KEY_PART)
        manifest = {
            "release": __version__,
            "engine": engine_name(settings),
            "schema": snap.schema,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "audit_head": ({"seq": snap.audit_head[0], "hash": snap.audit_head[1]}
                           if snap.audit_head else None),
            "audit_key_ids": ([k.id for k in load_keys(found[AUDIT_KEY_PART])]
                              if AUDIT_KEY_PART in found else []),
            "export_public_key": (Signer.load_or_create(export_key).public_pem()
                                  if export_key else None),
            # Every public key the hub signed with (public: kept even with --no-keys), so
            # a restored hub still hands verifiers the keys of its older exports.
            "signing_public_keys": KeyFile(export_key).public_pems() if export_key else None,
            "keys_included": keys,
            "counts": snap.counts,
            "source": snap.source,
        }
        return write_archive(dest, manifest, parts)


@dataclass
class Restored:
    manifest: dict[str, Any]
    audit: str  # what the check of the audit chain found
    notes: list[str] = field(default_factory=list)


def _empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def restore(settings: Settings, archive: Path) -> Restored:
    """Restore ``archive`` into the configured, empty data directory or keyspace."""
    engine = engine_name(settings)
    scratch_root = settings.data_dir.resolve().parent
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_root, prefix=".liaison-restore-") as tmp:
        work = Path(tmp)
        manifest = read_archive(archive, work / "parts")
        if manifest.get("engine") != engine:
            raise BackupError(f"the archive is of the {manifest.get('engine')} engine; this "
                              f"hub is configured for the {engine} engine")
        schema = int(manifest.get("schema", 0))
        if schema > SCHEMAS[engine]:
            raise BackupError(
                f"the archive has data schema {schema}, newer than this release "
                f"({__version__}) reads (up to {SCHEMAS[engine]}): it was made by release "
                f"{manifest.get('release')}. Restore it with that release or a newer one")
        if engine == "embedded" and not _empty(settings.data_dir):
            raise BackupError(f"the data directory {settings.data_dir} is not empty: restore "
                              "into an empty (or new) one")
        if engine != "embedded" and has_data(settings):
            raise BackupError(f"the Redis keyspace {settings.redis_prefix!r} is not empty: "
                              "restore into an empty one (another prefix or database)")
        parts = {p["name"]: work / "parts" / p["name"] for p in manifest["parts"]}
        keys = {name: parts[name] for name in _key_files(settings) if name in parts}
        for name, path in _key_files(settings).items():
            if path.exists() and name in keys and path.read_bytes() != keys[name].read_bytes():
                raise BackupError(f"{path} exists and holds another key than the archive's: "
                                  "move it away first")
        restore_snapshot(settings, parts, manifest.get("source") or {}, work)
        for name, source in keys.items():
            _place_key(source, _key_files(settings)[name])
        ring = public_keyring(settings.export_key_path)
        if manifest.get("signing_public_keys") and not ring.exists():
            private_dir(ring.parent)
            write_private(ring, str(manifest["signing_public_keys"]).encode("ascii"))
    notes = []
    if not keys:
        notes.append("the archive holds no key files (made with --no-keys): put the audit "
                     f"key file at {settings.audit_key_path} and the export key at "
                     f"{settings.export_key_path} before starting the hub")
    audit = asyncio.run(_check(settings, manifest)) if settings.audit_key_path.exists() else (
        "not verified: no audit key file")
    return Restored(manifest, audit, notes)


def _place_key(source: Path, path: Path) -> None:
    if path.exists():
        return  # the same key, checked above
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(source.read_bytes())
        out.flush()
        os.fsync(out.fileno())


async def _check(settings: Settings, manifest: dict[str, Any]) -> str:
    """Open the restored store (migrating it), verify its audit chain up to the head
    the backup recorded, and record the restore in the chain."""
    from hub.auditor import Auditor
    from hub.clock import SystemClock

    store = build_engine(settings).store
    await store.open()
    try:
        records = [r async for r in store.iter_audit()]
        head = await store.audit_head()
        keys = {k.id: k for k in load_keys(settings.audit_key_path)}
        result = verify_chain(records, head, keys, unkeyed_before=0)
        want = manifest.get("audit_head")
        if not result.ok:
            raise BackupError(f"the restored audit chain does not verify: {result.problem}")
        if want and (head is None or [head[0], head[1]] != [want["seq"], want["hash"]]):
            raise BackupError(f"the restored audit chain ends at {head}, the backup "
                              f"recorded {want}")
        await Auditor(store, SystemClock()).record(
            actor="cli", action="store.restored", target=str(manifest.get("created_at")),
            outcome="ok", details={"release": manifest.get("release"),
                                   "schema": manifest.get("schema")})
        return f"verified: {result.count} records, head {result.head_hash}"
    finally:
        await store.close()
