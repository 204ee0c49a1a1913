"""The release before issue 27's envelopes, taken from this repository's history, for
the wire-compatibility tests: its bot SDK and its browser client against today's hub."""

from __future__ import annotations

import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import STRICT

ROOT = Path(__file__).resolve().parents[1]
#: main before messages became envelopes and bodies (the release clients run today).
PRE_ENVELOPE = "6744d33555fcd7d4e2e86d3815f5d7f085b792f3"


def previous_tree(dest: Path, *paths: str, commit: str = PRE_ENVELOPE) -> Path:
    """``paths`` (all if none) of an earlier release's commit, extracted under ``dest``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar",
                              commit, *paths], capture_output=True, check=False)
    if archive.returncode != 0:
        message = (f"the previous release's commit {commit[:10]} is not in this clone "
                   f"(a shallow clone? git fetch --unshallow): {archive.stderr.decode()}")
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest
