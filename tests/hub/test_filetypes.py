"""hub/filetypes.py: a file's kind from its bytes, whatever it is named or claims."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.filetypes import FileKind, sniff
from tests.photos import HOSTILE, exif_photo, heic_photo, polyglot_jpeg


@pytest.mark.parametrize(("data", "kind"), [
    (exif_photo(64, 48), FileKind.JPEG),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, FileKind.PNG),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", FileKind.WEBP),
    (heic_photo(), FileKind.HEIC),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", FileKind.PDF),
    ("Pegel 4,2 m — Brücke Süd\n".encode(), FileKind.TEXT),
    (b"\xef\xbb\xbfstation,level\nKerns,4.2\n", FileKind.TEXT),
    (b"", FileKind.TEXT),
    (polyglot_jpeg(), FileKind.JPEG),  # a JPEG by its bytes; re-encoding drops the rest
])
def test_known_kinds_are_told_by_their_bytes(data: bytes, kind: FileKind) -> None:
    assert sniff(data, declared="application/x-anything").kind is kind


def test_the_declared_type_only_tells_csv_from_plain_text() -> None:
    table = b"station,level\nKerns,4.2\n"
    assert sniff(table, declared="text/csv; charset=utf-8").kind is FileKind.CSV
    assert sniff(table, declared="text/plain").kind is FileKind.TEXT
    assert sniff(HOSTILE["html named .jpg"], declared="text/csv").kind is None


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_markup_archives_programs_and_junk_are_refused_with_a_reason(name: str) -> None:
    found = sniff(HOSTILE[name], declared="image/jpeg")
    assert found.kind is None and found.refusal


@given(st.binary(max_size=300), st.text(max_size=30))
def test_any_bytes_are_a_kind_or_a_refusal(data: bytes, declared: str) -> None:
    found = sniff(data, declared=declared)
    assert (found.kind is None) == bool(found.refusal)
    if found.kind in (FileKind.TEXT, FileKind.CSV):
        assert b"\x00" not in data and b"<script" not in data.lower()
