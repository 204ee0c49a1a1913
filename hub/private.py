"""Files that hold what only the hub's user may read: the database (TOTP seeds,
webhook secrets), keys, exports and backups. Made 0600 (folders 0700) from the
start, never written open and narrowed afterwards."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "private_dir", "private_file", "write_private"]


def private_dir(path: Path) -> None:
    """``path`` exists; made now, only its owner may enter or list it. A folder that
    was there already keeps its mode (it may be shared, say /srv): what is secret in it
    is in files made 0600."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)  # whatever the umask


def private_file(path: Path) -> None:
    """``path`` exists (empty if new) and only its owner may read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (replacing it) readable by its owner only, durably:
    a temporary file beside it, fsynced, renamed into place."""
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
