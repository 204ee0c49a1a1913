"""What a file is, decided from its bytes: never from its name or the type it claims.

The hub takes images (JPEG, PNG, WebP, HEIC/HEIF), PDF, plain text and CSV, each
recognised by its magic number (text: valid UTF-8 without NUL or markup). Anything
else is refused, including the files most often used to smuggle a script into a
browser: HTML and SVG (markup, whatever they are named), archives (ZIP and the
office formats built on it) and executables. Images are then decoded and
re-encoded (:mod:`hub.images`), which is the real check that an "image" is one.
Pure, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["HEAD_BYTES", "FileKind", "Sniffed", "sniff"]

#: How much of a file's start :func:`sniff` needs (text is checked over all of it).
HEAD_BYTES = 64


class FileKind(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    HEIC = "image/heic"
    PDF = "application/pdf"
    TEXT = "text/plain"
    CSV = "text/csv"

    @property
    def is_image(self) -> bool:
        return self.value.startswith("image/")


@dataclass(frozen=True, slots=True)
class Sniffed:
    """A file's kind, or why it is refused."""

    kind: FileKind | None
    refusal: str = ""


#: The "ftyp" brands of HEIF images as phones write them.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
#: Markup a browser would run or render as a page, near the start of a text.
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|"
                     rb"\?xml|meta|link|style|img|a\s|div|form)", re.IGNORECASE)


def sniff(data: bytes, *, declared: str = "") -> Sniffed:
    """The kind of ``data`` (a whole file, or at least its first :data:`HEAD_BYTES` for a
    binary one). ``declared`` (the type the sender named) only tells CSV from plain
    text, both being text: it never makes anything else acceptable."""
    head = data[:HEAD_BYTES]
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(FileKind.JPEG)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(FileKind.PNG)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(FileKind.WEBP)
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return Sniffed(FileKind.HEIC)
    if head.startswith(b"%PDF-"):
        return Sniffed(FileKind.PDF)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"\x1f\x8b", b"7z\xbc\xaf",
                        b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe")):
        return Sniffed(None, "an archive or a program is not accepted")
    return _text(data, declared)


def _text(data: bytes, declared: str) -> Sniffed:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data  # a UTF-8 BOM
    if b"\x00" in body:
        return Sniffed(None, "not a file of a kind this hub accepts")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Sniffed(None, "not a file of a kind this hub accepts")
    if _MARKUP.search(body[:4096]):
        return Sniffed(None, "HTML, SVG and other markup are not accepted")
    csv = declared.split(";")[0].strip().lower() in ("text/csv", "application/csv")
    return Sniffed(FileKind.CSV if csv else FileKind.TEXT)
