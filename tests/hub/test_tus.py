"""hub/tus.py: the tus headers, read strictly and written back."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import BadRequest, LimitExceeded
from hub.tus import (
    http_date,
    metadata_header,
    parse_checksum,
    parse_length,
    parse_metadata,
    parse_offset,
)

_keys = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)
_values = st.text(st.characters(blacklist_categories=("Cc", "Cs"),
                                blacklist_characters="\u202a\u202b\u202c\u202d\u202e"
                                                     "\u2066\u2067\u2068\u2069"),
                  max_size=40)


@given(st.dictionaries(_keys, _values, max_size=8))
def test_metadata_reads_back_what_was_written(values: dict[str, str]) -> None:
    assert parse_metadata(metadata_header(values)) == values


@given(st.text(max_size=200))
def test_any_metadata_header_is_read_or_refused_naming_it(raw: str) -> None:
    try:
        parse_metadata(raw)
    except BadRequest as exc:
        assert "'Upload-Metadata'" in str(exc)


@pytest.mark.parametrize(("raw", "says"), [
    ("channel", None),  # a key alone: an empty value
    ("channel !!!", "not base64"),
    ("bad key " + base64.b64encode(b"x").decode(), "not base64"),
    ("k\u00e9y " + base64.b64encode(b"x").decode(), "key"),
    ("a YQ==,a YQ==", "twice"),
    ("a " + base64.b64encode(b"\xff\xfe").decode(), "UTF-8"),
    ("a " + base64.b64encode(b"line\nbreak").decode(), "control"),
    ("a " + base64.b64encode("photo\u202egpj.exe".encode()).decode(), "direction"),
    (",".join(f"k{i} YQ==" for i in range(17)), "more than 16"),
])
def test_bad_metadata_is_refused_naming_the_header(raw: str, says: str | None) -> None:
    if says is None:
        assert parse_metadata(raw) == {"channel": ""}
        return
    with pytest.raises(BadRequest, match=says):
        parse_metadata(raw)


def test_lengths_and_offsets_are_plain_non_negative_integers() -> None:
    assert parse_length("1024", 2048) == 1024 and parse_offset(" 0 ") == 0
    for raw in ("-1", "1e3", "0x10", "", "١٢", "1" * 17):
        with pytest.raises(BadRequest):
            parse_offset(raw)
    with pytest.raises(BadRequest, match="required"):
        parse_length(None, 10)
    with pytest.raises(LimitExceeded, match="11"):
        parse_length("12", 11)


@given(st.binary(max_size=300), st.sampled_from(["sha1", "sha256", "md5"]))
def test_a_checksum_matches_exactly_its_bytes(data: bytes, algorithm: str) -> None:
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    check = parse_checksum(f"{algorithm} {digest}")
    assert check is not None
    check.update(data)
    assert check.matches()
    other = parse_checksum(f"{algorithm} {digest}")
    assert other is not None
    other.update(data + b"!")
    assert not other.matches()


@pytest.mark.parametrize("raw", ["crc32 AAAA", "sha1 ???", "sha1 " + base64.b64encode(
    b"short").decode()])
def test_a_checksum_header_the_hub_cannot_use_is_refused(raw: str) -> None:
    with pytest.raises(BadRequest, match="'Upload-Checksum'"):
        parse_checksum(raw)


def test_expiry_is_an_http_date() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
