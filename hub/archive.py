"""The backup archive: a tar file whose every byte is checked before a restore.

Members, in this order: ``manifest.json`` (what the backup is: release, engine,
data schema, audit chain head, and the name, size and SHA-256 of each part),
``manifest.sha256`` (the SHA-256 of the manifest), then the parts
(``data/...``, ``keys/...``). The tar is written canonically (fixed owner,
mode and time, USTAR headers), so :func:`read_archive` checks the whole file,
not only what a tar reader looks at: the parts against the manifest, the
manifest against its hash, and the file against the canonical tar of what it
holds. A flipped byte anywhere, a truncated file or a member added is refused,
naming what is wrong. Any tar tool lists and extracts it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from hub.errors import BackupError

__all__ = ["FORMAT", "read_archive", "write_archive"]

FORMAT = "liaison-backup/1"
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=True) + "\n").encode()


def _write_tar(out: IO[bytes], manifest: bytes, parts: dict[str, Path]) -> None:
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in ((MANIFEST, manifest),
                           (MANIFEST_SUM, hashlib.sha256(manifest).hexdigest().encode())):
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
        for name, path in parts.items():
            with path.open("rb") as fh:
                tar.addfile(_info(name, path.stat().st_size), fh)


def _check_name(name: str) -> None:
    pure = PurePosixPath(name)
    if (pure.is_absolute() or ".." in pure.parts or len(pure.parts) != 2
            or pure.parts[0] not in ("data", "keys")):
        raise BackupError(f"the archive names a part {name!r} outside data/ and keys/")


def write_archive(dest: Path, manifest: dict[str, Any], parts: dict[str, Path]) -> dict[str, Any]:
    """Write ``parts`` (archive name -> file) and ``manifest`` (plus their sizes and
    hashes) to ``dest``, through a temporary file fsynced and renamed into place;
    the manifest as written is returned."""
    for name in parts:
        _check_name(name)
    full = {**manifest, "format": FORMAT,
            "parts": [{"name": name, "size": path.stat().st_size, "sha256": _sha256(path)}
                      for name, path in parts.items()]}
    tmp = dest.with_name(dest.name + ".partial")
    try:
        # 0600 from the start: an archive holds the database and usually the keys.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                       "wb") as out:
            _write_tar(out, _manifest_bytes(full), parts)
            out.flush()
            os.fsync(out.fileno())
        tmp.rename(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return full


class _Hasher(io.RawIOBase):
    """A write-only file that hashes what is written (the canonical tar, re-made)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self._written += len(data)
        return len(data)


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    try:
        yield from tar
    except tarfile.TarError as exc:
        raise BackupError(f"the archive is damaged: {exc}") from None


#: The manifest's fields a restore reads, and their types.
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": str, "release": str, "engine": str, "schema": int, "created_at": str,
    "audit_head": (dict, type(None)), "keys_included": bool, "parts": list,
    "counts": dict, "source": dict}


def _check_manifest(manifest: object) -> None:
    """The manifest has the fields a restore reads, of their types (named if not)."""
    if not isinstance(manifest, dict):
        raise BackupError("the archive's manifest is not an object")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"not a Liaison Hub backup ({manifest.get('format')!r}, "
                          f"expected {FORMAT!r})")
    for name, kind in _FIELDS.items():
        value = manifest.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BackupError(f"the archive's manifest has no valid {name!r}")
    head = manifest["audit_head"]
    if head is not None and not (isinstance(head.get("seq"), int)
                                 and isinstance(head.get("hash"), str)):
        raise BackupError("the archive's manifest has no valid 'audit_head'")
    names = set()
    for part in manifest["parts"]:
        if not (isinstance(part, dict) and isinstance(part.get("name"), str)
                and isinstance(part.get("size"), int) and isinstance(part.get("sha256"), str)):
            raise BackupError("the archive's manifest has no valid 'parts'")
        _check_name(part["name"])
        names.add(part["name"])
    if len(names) != len(manifest["parts"]):
        raise BackupError("the archive's manifest names a part twice")


def read_archive(src: Path, into: Path) -> dict[str, Any]:
    """Check ``src`` whole and extract its parts under ``into``; its manifest.

    Raises :class:`BackupError` naming the first thing that does not match."""
    if not src.is_file():
        raise BackupError(f"no archive at {src}")
    try:
        tar = tarfile.open(src, mode="r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{src} is not a backup archive: {exc}") from None
    try:
        with tar:
            return _check(src, tar, into)
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"the archive is damaged: {exc}") from None


def _check(src: Path, tar: tarfile.TarFile, into: Path) -> dict[str, Any]:
    found: dict[str, Path] = {}
    seen: set[str] = set()
    raw_manifest = raw_sum = b""
    for member in _members(tar):
        if not member.isfile() or member.name in seen:
            raise BackupError(f"the archive has an unexpected member {member.name!r}")
        seen.add(member.name)
        handle = tar.extractfile(member)
        assert handle is not None  # a regular file, checked above
        if member.name == MANIFEST:
            raw_manifest = handle.read()
            continue
        if member.name == MANIFEST_SUM:
            raw_sum = handle.read()
            continue
        _check_name(member.name)
        target = into / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            while block := handle.read(_CHUNK):
                out.write(block)
        found[member.name] = target
    if not raw_manifest or hashlib.sha256(raw_manifest).hexdigest().encode() != raw_sum:
        raise BackupError("the archive's manifest is missing or does not match its hash")
    try:
        manifest: dict[str, Any] = json.loads(raw_manifest)
    except ValueError:
        raise BackupError("the archive's manifest is not JSON") from None
    _check_manifest(manifest)
    listed = {p["name"]: p for p in manifest["parts"]}
    if set(listed) != set(found):
        raise BackupError(f"the archive's parts {sorted(found)} differ from its manifest's "
                          f"{sorted(listed)}")
    for name, path in found.items():
        if (path.stat().st_size != listed[name]["size"]
                or _sha256(path) != listed[name]["sha256"]):
            raise BackupError(f"part {name} does not match its SHA-256 in the manifest")
    # Every byte: the file must be exactly the canonical tar of what it holds.
    canonical = _Hasher()
    with io.BufferedWriter(canonical, buffer_size=_CHUNK) as out:
        _write_tar(out, raw_manifest, {p["name"]: found[p["name"]]
                                       for p in manifest["parts"]})
    if canonical.digest.hexdigest() != _sha256(src):
        raise BackupError("the archive has bytes outside its parts that were changed "
                          "(it is not as written)")
    return manifest
