"""hub/blobs.py: files kept once per content, under their SHA-256, in a private folder."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from hub.blobs import FileBlobs


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobs:
    store = FileBlobs(tmp_path / "blobs")
    store.open()
    return store


async def test_the_same_bytes_are_kept_once_under_their_digest(blobs: FileBlobs) -> None:
    data = b"levee photo" * 1000
    paths = []
    for name in ("op_1~up_a", "op_2~up_b"):
        path = blobs.incoming(name)
        path.write_bytes(data)
        paths.append(path)
    assert blobs.unfinished() == ["op_1~up_a", "op_2~up_b"]
    first = await blobs.keep(paths[0])
    second = await blobs.keep(paths[1])
    digest = hashlib.sha256(data).hexdigest()
    assert first == second == (digest, len(data))
    kept = blobs.path_of(digest)
    assert kept is not None and kept.read_bytes() == data
    assert [p for p in (blobs.root / "sha256").rglob("*") if p.is_file()] == [kept]
    assert blobs.unfinished() == []
    assert stat.S_IMODE(blobs.root.stat().st_mode) == 0o700


async def test_only_names_and_digests_of_its_own_shape_are_paths(blobs: FileBlobs) -> None:
    for bad in ("../escape", ".hidden", "a/b", "", "x" * 161):
        with pytest.raises(ValueError):
            blobs.incoming(bad)
    assert blobs.path_of("../../etc/passwd") is None
    assert blobs.path_of("0" * 64) is None  # well formed, never kept
    path = blobs.incoming("op_1~up_c")
    path.write_bytes(b"x")
    await blobs.discard(path)
    await blobs.discard(path)  # again: nothing to do
    assert not path.exists()
