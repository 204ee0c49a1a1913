"""hub/archive.py: what is written reads back; a change to any byte of the file, a
truncation or an added member is refused, naming what is wrong."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.archive import FORMAT, read_archive, write_archive
from hub.errors import BackupError


def _parts(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").write_bytes(bytes(range(256)) * 40)
    (folder / "key").write_bytes(b"k1 00ff\n")
    return {"data/hub.db": folder / "db", "keys/audit.key": folder / "key"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    root = tmp_path_factory.mktemp("archive")
    dest = root / "backup.tar"
    manifest = write_archive(dest, {"release": "x", "engine": "embedded", "schema": 1,
                                    "created_at": "2026-12-04T20:00:00+00:00",
                                    "audit_head": {"seq": 3, "hash": "k1:ab"},
                                    "keys_included": True, "counts": {}, "source": {}},
                             _parts(root / "src"))
    assert manifest["format"] == FORMAT and len(manifest["parts"]) == 2
    return dest, dest.read_bytes()


def test_what_is_written_reads_back(written: tuple[Path, bytes], tmp_path: Path) -> None:
    dest, _ = written
    manifest = read_archive(dest, tmp_path / "out")
    assert manifest["release"] == "x" and manifest["schema"] == 1
    assert (tmp_path / "out/data/hub.db").read_bytes() == bytes(range(256)) * 40
    assert (tmp_path / "out/keys/audit.key").read_bytes() == b"k1 00ff\n"
    with tarfile.open(dest) as tar:  # an ordinary tar for any tool
        assert tar.getnames() == ["manifest.json", "manifest.sha256", "data/hub.db",
                                  "keys/audit.key"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1, exclude_max=True),
       flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_refused(written: tuple[Path, bytes], tmp_path: Path,
                                     position: float, flip: int) -> None:
    _, data = written
    at = int(position * len(data))
    changed = bytearray(data)
    changed[at] ^= flip
    bad = tmp_path / f"bad-{at}-{flip}.tar"
    bad.write_bytes(bytes(changed))
    with pytest.raises(BackupError):
        read_archive(bad, tmp_path / f"out-{at}-{flip}")


def test_truncated_and_extended_archives_are_refused(written: tuple[Path, bytes],
                                                    tmp_path: Path) -> None:
    _, data = written
    for n, variant in enumerate((data[:-512], data[: len(data) // 2], data + bytes(512),
                                 b"", b"not a tar at all" * 64)):
        bad = tmp_path / f"v{n}.tar"
        bad.write_bytes(variant)
        with pytest.raises(BackupError):
            read_archive(bad, tmp_path / f"o{n}")


def test_an_added_member_and_a_path_outside_are_refused(written: tuple[Path, bytes],
                                                       tmp_path: Path) -> None:
    dest, _ = written
    for name in ("data/extra", "../../etc/passwd"):
        bad = tmp_path / "added.tar"
        bad.write_bytes(dest.read_bytes())
        with tarfile.open(bad, "a") as tar:
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
        with pytest.raises(BackupError):
            read_archive(bad, tmp_path / "out")
        assert not (tmp_path / "etc").exists()
    with pytest.raises(BackupError):
        write_archive(tmp_path / "x.tar", {}, {"../x": dest})
    with pytest.raises(BackupError, match="no archive"):
        read_archive(tmp_path / "missing.tar", tmp_path / "o")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_FIELDS = ("format", "release", "engine", "schema", "created_at", "audit_head",
           "keys_included", "parts", "counts", "source")


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(_FIELDS), _json, min_size=1, max_size=3))
def test_a_manifest_with_any_values_is_read_or_refused_by_name(
        written: tuple[Path, bytes], tmp_path: Path, changes: dict[str, object]) -> None:
    """An archive whose manifest (with a matching hash) holds values of any JSON type is
    either read with the types a restore needs, or refused with a BackupError."""
    import hashlib
    import json

    dest, _ = written
    with tarfile.open(dest) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    manifest.update(changes)
    raw = json.dumps(manifest).encode()
    out = tmp_path / f"m-{abs(hash(raw))}.tar"
    with tarfile.open(dest) as src, tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = raw
            elif member.name == "manifest.sha256":
                data = hashlib.sha256(raw).hexdigest().encode()
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    try:
        read = read_archive(out, tmp_path / f"o-{abs(hash(raw))}")
    except BackupError:
        return
    assert isinstance(read["schema"], int) and isinstance(read["engine"], str)
    assert all(isinstance(p["name"], str) for p in read["parts"])
