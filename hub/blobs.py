"""Where the bytes of files live: a content-addressed blob store behind a narrow port.

A file is kept once per distinct content, under the SHA-256 of its bytes; the
engine's store keeps what refers to it (an upload, later an attachment), so two
people sending the same photo store it once. An upload's bytes grow in
``incoming/<upload id>`` until they are complete, then :meth:`BlobStore.keep` moves
them under their digest (an atomic rename on the same file system).

:class:`FileBlobs` keeps them in a folder: ``<data_dir>/blobs`` for the embedded
engine; for the Redis engine, a folder every hub process shares (``blob_dir``, a
network file system or a shared volume, as Mattermost and Zulip keep local
uploads). The port is what an S3-compatible store would implement as well; none
is provided, because none could be tested here against a real server. Files nothing
refers to are deleted by a sweep (:mod:`channels.blob_sweep`), through
:meth:`BlobStore.listed`, :meth:`~BlobStore.touch` and :meth:`~BlobStore.collect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from hub.private import fsync_dir, private_dir

__all__ = ["BlobStore", "FileBlobs"]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_.~-]{1,160}$")
_READ = 1 << 20


class BlobStore(Protocol):
    def incoming(self, name: str) -> Path:
        """Where an unfinished upload's bytes grow (created empty by the caller)."""

    def unfinished(self) -> list[str]:
        """The names of the unfinished uploads whose bytes are here."""

    async def keep(self, path: Path) -> tuple[str, int]:
        """Move a finished upload's bytes under their SHA-256; (digest, size). Bytes
        already kept under that digest are kept once: ``path`` is then removed."""

    async def put(self, data: bytes) -> tuple[str, int]:
        """Keep ``data`` (a file the hub made: a re-encoded image, a thumbnail)."""

    def path_of(self, digest: str) -> Path | None:
        """The kept file of ``digest``, or None."""

    async def discard(self, path: Path) -> None:
        """Remove an unfinished upload's bytes (idempotent)."""

    async def touch(self, digests: Sequence[str]) -> bool:
        """Mark kept files as in use now (what :meth:`collect` spares); False if one of
        them is no longer kept."""

    def listed(self) -> list[tuple[str, float]]:
        """Every kept file: its digest and when it was last kept or marked in use."""

    async def collect(self, digest: str, unused_since: float) -> bool:
        """Delete the kept file of ``digest`` unless it was kept or marked in use at
        ``unused_since`` or later (checked after it is taken out of reach, so a file kept
        again meanwhile is never lost); whether it was deleted."""


class FileBlobs:
    """:class:`BlobStore` in a folder (mode 0700): ``sha256/ab/<digest>`` and ``incoming/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / "incoming"
        self._kept = root / "sha256"

    def open(self) -> None:
        """Create the folders (the hub's lifespan, before serving)."""
        for folder in (self.root, self._incoming, self._kept):
            private_dir(folder)

    def incoming(self, name: str) -> Path:
        if not _UPLOAD_NAME.match(name) or name.startswith("."):
            raise ValueError(f"not an upload's name: {name!r}")
        return self._incoming / name

    def unfinished(self) -> list[str]:
        return sorted(p.name for p in self._incoming.iterdir()
                      if p.is_file() and not p.name.startswith(".")) \
            if self._incoming.is_dir() else []

    async def keep(self, path: Path) -> tuple[str, int]:
        return await asyncio.to_thread(self._keep, path)

    def _keep(self, path: Path) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as f:
            while chunk := f.read(_READ):
                digest.update(chunk)
                size += len(chunk)
        name = digest.hexdigest()
        target = self._kept / name[:2] / name
        private_dir(target.parent)
        # The same bytes are kept once: a second copy replaces the first (the same content,
        # kept again now, which is what spares it from a collection under way).
        os.replace(path, target)
        fsync_dir(target.parent)  # the rename itself survives a power loss
        return name, size

    async def put(self, data: bytes) -> tuple[str, int]:
        return await asyncio.to_thread(self._put, data)

    def _put(self, data: bytes) -> tuple[str, int]:
        path = self._incoming / f".made-{secrets.token_hex(8)}"
        with path.open("xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return self._keep(path)

    def path_of(self, digest: str) -> Path | None:
        if not _DIGEST.match(digest):
            return None
        path = self._kept / digest[:2] / digest
        return path if path.is_file() else None

    async def discard(self, path: Path) -> None:
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def touch(self, digests: Sequence[str]) -> bool:
        return await asyncio.to_thread(self._touch, digests)

    def _touch(self, digests: Sequence[str]) -> bool:
        for digest in digests:
            path = self.path_of(digest)
            try:
                if path is None:
                    return False
                os.utime(path)
            except FileNotFoundError:
                return False
        return True

    def listed(self) -> list[tuple[str, float]]:
        out = []
        for path in self._kept.glob("??/*") if self._kept.is_dir() else ():
            if _DIGEST.match(path.name):
                with contextlib.suppress(FileNotFoundError):
                    out.append((path.name, path.stat().st_mtime))
        return sorted(out)

    async def collect(self, digest: str, unused_since: float) -> bool:
        return await asyncio.to_thread(self._collect, digest, unused_since)

    def _collect(self, digest: str, unused_since: float) -> bool:
        path = self.path_of(digest)
        if path is None:
            return False
        # Out of reach first (an atomic rename), then judged by the copy taken: a file
        # kept again or marked in use between the listing and now is put back.
        taken = self._incoming / f".collect-{digest}-{secrets.token_hex(4)}"
        try:
            os.rename(path, taken)
        except FileNotFoundError:
            return False
        if taken.stat().st_mtime >= unused_since:
            os.replace(taken, path)
            return False
        taken.unlink()
        return True

