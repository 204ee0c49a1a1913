"""The tus 1.0 resumable upload protocol's headers, read and written. Pure, no I/O.

tus (https://tus.io/protocols/resumable-upload) uploads a file in as many PATCH
requests as the link allows: the client creates an upload (``POST``, with its
``Upload-Length`` and ``Upload-Metadata``), sends bytes from an offset, and after a
dropped connection asks the server how far it got (``HEAD`` → ``Upload-Offset``) and
goes on from there. The hub speaks the core protocol and the creation, termination,
checksum and expiration extensions (:data:`EXTENSIONS`); its routes are in
:mod:`channels.upload_routes`.

Every header is checked here once; a refusal is a :class:`~hub.errors.BadRequest`
naming the header, as everywhere at the hub's edge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from email.utils import formatdate

from hub.errors import BadRequest, LimitExceeded

__all__ = ["CHECKSUMS", "EXTENSIONS", "OFFSET_TYPE", "VERSION", "BodyDropped", "Checksum",
           "http_date",
           "metadata_header", "parse_checksum", "parse_length", "parse_metadata",
           "parse_offset"]

VERSION = "1.0.0"
EXTENSIONS = ("creation", "termination", "checksum", "expiration")
#: The one content type of a PATCH request's body.
OFFSET_TYPE = "application/offset+octet-stream"
#: Checksum algorithms (tus names) a client may send with each PATCH.
CHECKSUMS = ("sha1", "sha256", "md5")
#: Metadata a creation may carry: at most this many pairs, each value this long.
MAX_PAIRS = 16
MAX_VALUE = 1024
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,16}$")
#: Control characters, and the bidirectional controls that make a file name read
#: otherwise than it is ("photo\u202egpj.exe").
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def parse_length(raw: str | None, limit: int) -> int:
    """``Upload-Length``: the upload's size in bytes, 0 to ``limit``.

    Raises:
        BadRequest: missing or not a number (naming the header).
        LimitExceeded: larger than ``limit`` (413).
    """
    if raw is None:
        raise BadRequest("'Upload-Length' is required (deferred lengths are not supported)")
    value = _number(raw, "Upload-Length")
    if value > limit:
        raise LimitExceeded(f"'Upload-Length' is over this hub's {limit} bytes per file")
    return value


def parse_offset(raw: str | None) -> int:
    """``Upload-Offset``: where a PATCH's bytes go."""
    if raw is None:
        raise BadRequest("'Upload-Offset' is required")
    return _number(raw, "Upload-Offset")


def _number(raw: str, name: str) -> int:
    text = raw.strip()
    if not _DIGITS.match(text):
        raise BadRequest(f"'{name}' must be a non-negative integer")
    return int(text)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a key alone is a
    pair with an empty value). Values must be UTF-8 text."""
    if raw is None or not raw.strip():
        return {}
    out: dict[str, str] = {}
    pairs = raw.split(",")
    if len(pairs) > MAX_PAIRS:
        raise BadRequest(f"'Upload-Metadata' has more than {MAX_PAIRS} pairs")
    for pair in pairs:
        key, _, encoded = pair.strip().partition(" ")
        if not _KEY.match(key):
            raise BadRequest("'Upload-Metadata' has a key that is not 1-64 letters, digits "
                             "or _ . -")
        if key in out:
            raise BadRequest(f"'Upload-Metadata' names '{key}' twice")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"'Upload-Metadata' value of '{key}' is not base64 of UTF-8 "
                             "text") from None
        if len(value) > MAX_VALUE or _UNSHOWABLE.search(value):
            raise BadRequest(f"'Upload-Metadata' value of '{key}' must be text of at most "
                             f"{MAX_VALUE} characters, without control or direction "
                             "characters")
        out[key] = value
    return out


def metadata_header(values: dict[str, str]) -> str:
    """``Upload-Metadata`` for ``values`` (the inverse of :func:`parse_metadata`)."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k
                    for k, v in values.items())


class BodyDropped(Exception):
    """The client went away in the middle of a PATCH request's body: what arrived is
    kept, and the client resumes from there (raised by the route's body reader)."""


class Checksum:
    """``Upload-Checksum: <algorithm> <base64 digest>`` of one PATCH request's body."""

    def __init__(self, algorithm: str, digest: bytes) -> None:
        self.algorithm = algorithm
        self.digest = digest
        self._hash = hashlib.new(algorithm)

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def matches(self) -> bool:
        return self._hash.digest() == self.digest


def parse_checksum(raw: str | None) -> Checksum | None:
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise BadRequest(f"'Upload-Checksum' algorithm must be one of {', '.join(CHECKSUMS)}")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise BadRequest("'Upload-Checksum' digest is not base64") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise BadRequest(f"'Upload-Checksum' digest is not a {algorithm} digest")
    return Checksum(algorithm, digest)


def http_date(ts: float) -> str:
    """``Upload-Expires``: an RFC 7231 date."""
    return formatdate(ts, usegmt=True)
