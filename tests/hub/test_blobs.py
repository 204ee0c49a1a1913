"""hub/blobs.py: files kept once per content, under their SHA-256, in a private folder."""

from __future__ import annotations

import hashlib
import os
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


async def test_a_file_is_collected_only_if_unused_since_and_never_one_kept_again(
        blobs: FileBlobs) -> None:
    digest, _ = await blobs.put(b"old photo")
    path = blobs.path_of(digest)
    assert path is not None
    os.utime(path, (1_000.0, 1_000.0))  # last kept long ago
    assert blobs.listed() == [(digest, 1_000.0)]
    assert not await blobs.collect(digest, unused_since=500.0)  # in use since then
    assert blobs.path_of(digest) == path
    assert await blobs.touch([digest])  # marked in use now: spared
    assert not await blobs.collect(digest, unused_since=2_000.0)
    assert blobs.path_of(digest) == path and path.read_bytes() == b"old photo"
    os.utime(path, (1_000.0, 1_000.0))
    assert await blobs.collect(digest, unused_since=2_000.0)
    assert blobs.path_of(digest) is None and blobs.listed() == []
    assert not await blobs.touch([digest])  # gone: attaching it is refused
    assert not await blobs.collect(digest, unused_since=2_000.0)
    assert blobs.unfinished() == []  # nothing left of the collection in incoming/
    again, _ = await blobs.put(b"old photo")  # the same bytes sent again: kept afresh
    assert again == digest and blobs.path_of(digest) is not None
