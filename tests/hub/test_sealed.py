"""hub/sealed.py and hub/signing.py: an export verifies offline with the public key alone,
and changing, adding, removing or reordering any one record fails it, naming the record."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from hub.sealed import ATTACHMENTS, RECORDS, attached, check, line_of, seal
from hub.signing import Signer, load_public_key

SIGNER = Signer(Ed25519PrivateKey.generate())
RECORDS_IN = [{"key": f"event:{i}", "type": "event", "seq": i, "text": f"löwe {i}"}
              for i in range(1, 7)]
ARCHIVE = seal(RECORDS_IN, {"operation": {"code": "OP"}}, {"report.html": b"<p>hi</p>"},
               SIGNER)


def _with_records(archive: bytes, body: bytes, **files: bytes) -> bytes:
    """The archive with its records file (and any file) replaced, nothing else touched."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            data = body if name == RECORDS else files.get(name, src.read(name))
            z.writestr(name, data)
    return out.getvalue()


def _lines() -> list[bytes]:
    return zipfile.ZipFile(io.BytesIO(ARCHIVE)).read(RECORDS).splitlines()


def test_an_untouched_export_verifies_with_the_public_key_alone() -> None:
    public = load_public_key(SIGNER.public_pem().encode())
    report = check(ARCHIVE, public)
    assert report.ok and report.records == 6
    assert report.meta["operation"] == {"code": "OP"} and report.meta["key_id"] == SIGNER.key_id
    other = Signer(Ed25519PrivateKey.generate()).public
    assert "does not verify" in check(ARCHIVE, other).problems[0]


@given(st.integers(min_value=0, max_value=5), st.sampled_from(["change", "add", "remove",
                                                               "reorder"]))
def test_any_one_tampered_record_fails_and_is_named(index: int, how: str) -> None:
    lines = _lines()
    key = json.loads(lines[index])["key"]
    if how == "change":
        record = json.loads(lines[index])
        record["text"] = "altered"
        lines[index] = json.dumps(record, separators=(",", ":")).encode()
        expected = f"record {key} (line {index + 1}) was changed"
    elif how == "add":
        lines.insert(index, b'{"key":"event:99","type":"event"}')
        key, expected = "event:99", "record event:99 (line"
    elif how == "remove":
        del lines[index]
        expected = f"record {key} was removed"
    else:
        other = index + 1 if index < 5 else index - 1
        lines[index], lines[other] = lines[other], lines[index]
        expected = "were reordered"
    report = check(_with_records(ARCHIVE, b"\n".join(lines) + b"\n"), SIGNER.public)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems
    assert any(key in p for p in report.problems) or how == "reorder"


def test_a_changed_or_added_file_and_a_broken_archive_are_named() -> None:
    body = b"\n".join(_lines()) + b"\n"
    report = check(_with_records(ARCHIVE, body, **{"report.html": b"<p>forged</p>"}),
                   SIGNER.public)
    assert report.problems == ["file report.html was changed"]
    assert "not a readable archive" in check(b"not a zip", SIGNER.public).problems[0]
    with pytest.raises(ValueError, match="two records"):
        seal([{"key": "a"}, {"key": "a"}], {}, {}, SIGNER)


def test_the_signing_key_is_made_once_private_and_reread(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "export.key"
    first = Signer.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = Signer.load_or_create(path)
    assert again.key_id == first.key_id
    data: Any = b"manifest"
    assert check(seal([], {}, {}, again), first.public).ok
    assert again.sign(data) and first.public_pem().startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize("name", [RECORDS, "manifest.json", "report.html"])
def test_a_member_present_twice_is_refused(name: str) -> None:
    """Issue 24, finding 12: with a duplicated member, Python reads the last copy while
    `unzip -p` shows the first; an archive like that does not verify."""
    import warnings

    out = io.BytesIO(ARCHIVE)
    with warnings.catch_warnings(), zipfile.ZipFile(out, "a") as z:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate: that is the point
        z.writestr(name, zipfile.ZipFile(io.BytesIO(ARCHIVE)).read(name))
    report = check(out.getvalue(), SIGNER.public)
    assert report.problems == [f"the archive holds {name} more than once"]


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=2, max_size=2, unique=True))
def test_a_swap_names_both_records(pair: list[int]) -> None:
    """Issue 26, defect 2: only one of two swapped records was named."""
    a, b = sorted(pair)
    lines = _lines()
    keys = [json.loads(line)["key"] for line in lines]
    lines[a], lines[b] = lines[b], lines[a]
    report = check(_with_records(ARCHIVE, b"\n".join(lines) + b"\n"), SIGNER.public)
    moved = [p for p in report.problems if "out of its place" in p]
    assert len(moved) == 2, report.problems
    assert f"record {keys[b]} (line {a + 1})" in moved[0] and keys[a] in moved[0]
    assert f"record {keys[a]} (line {b + 1})" in moved[1] and keys[b] in moved[1]


@given(st.permutations(list(range(6))))
def test_every_record_out_of_its_place_is_named_and_none_other(order: list[int]) -> None:
    lines = _lines()
    keys = [json.loads(line)["key"] for line in lines]
    shuffled = [lines[i] for i in order]
    report = check(_with_records(ARCHIVE, b"\n".join(shuffled) + b"\n"), SIGNER.public)
    named = {p.split()[1] for p in report.problems if "out of its place" in p}
    assert named == {keys[i] for place, i in enumerate(order) if i != place}
    assert report.ok == (named == set())


PHOTO = b"\xff\xd8 the photo's bytes"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
CARRYING = [{"key": "message:c:1", "type": "message", "files": [{"sha256": PHOTO_SHA}]},
            {"key": "event:2", "type": "event", "record": {"files": [{"sha256": PHOTO_SHA}]}}]


def test_a_record_s_files_are_held_once_under_their_digest_and_checked() -> None:
    assert attached(CARRYING[0]) == [PHOTO_SHA] and attached(CARRYING[1]) == [PHOTO_SHA]
    whole = seal(CARRYING, {}, {f"{ATTACHMENTS}{PHOTO_SHA}": PHOTO}, SIGNER)
    assert check(whole, SIGNER.public).problems == []
    missing = seal(CARRYING, {}, {}, SIGNER)
    assert check(missing, SIGNER.public).problems == [
        f"record {key} names file {PHOTO_SHA}, which the archive does not hold"
        for key in ("message:c:1", "event:2")]
    not_kept = seal(CARRYING, {"files_not_kept": [PHOTO_SHA]}, {}, SIGNER)
    assert check(not_kept, SIGNER.public).problems == []
    other = seal(CARRYING, {}, {f"{ATTACHMENTS}{PHOTO_SHA}": b"another photo"}, SIGNER)
    assert check(other, SIGNER.public).problems == [
        f"file {ATTACHMENTS}{PHOTO_SHA} does not hash to its name"]
    swapped = _with_records(whole, b"".join(line_of(r) + b"\n" for r in CARRYING),
                            **{f"{ATTACHMENTS}{PHOTO_SHA}": b"tampered"})
    assert f"file {ATTACHMENTS}{PHOTO_SHA} was changed" in check(swapped, SIGNER.public).problems
