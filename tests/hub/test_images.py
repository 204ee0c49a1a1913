"""hub/images.py: images re-encoded from their pixels alone, checked with exifread."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from hub.filetypes import FileKind
from hub.images import PREVIEW_BYTES, THUMBNAIL_BYTES, ImageRefused, process
from tests.photos import LAT, LON, bomb_png, exif_photo, heic_photo, leaks, polyglot_jpeg

PIXELS = 50_000_000


def test_a_photo_loses_every_metadata_block_and_stands_upright() -> None:
    photo = exif_photo(1200, 800, orientation=6)
    made = process(photo, FileKind.JPEG, max_pixels=PIXELS)
    assert (made.image.width, made.image.height) == (800, 1200)  # turned as EXIF said
    for rendition in (made.image, made.preview, made.thumbnail):
        assert leaks(rendition.data) == []
    assert len(made.preview.data) <= PREVIEW_BYTES
    assert len(made.thumbnail.data) <= THUMBNAIL_BYTES
    assert max(made.thumbnail.width, made.thumbnail.height) <= 320
    assert made.position is None


def test_the_position_is_read_only_when_asked() -> None:
    made = process(exif_photo(200, 100), FileKind.JPEG, max_pixels=PIXELS, keep_position=True)
    assert made.position == pytest.approx((LAT, LON), abs=1e-4)
    plain = Image.new("RGB", (50, 50))
    out = io.BytesIO()
    plain.save(out, "JPEG")
    assert process(out.getvalue(), FileKind.JPEG, max_pixels=PIXELS,
                   keep_position=True).position is None  # no GPS: nothing invented


def test_transparency_is_kept_and_heic_becomes_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(out, "PNG")
    png = process(out.getvalue(), FileKind.PNG, max_pixels=PIXELS)
    assert png.image.mime == "image/png" and png.preview.mime == "image/webp"
    heic = process(heic_photo(), FileKind.HEIC, max_pixels=PIXELS)
    assert heic.image.mime == "image/jpeg" and heic.image.width == 640


def test_bombs_damaged_files_and_lies_are_refused_before_or_while_decoding() -> None:
    with pytest.raises(ImageRefused, match="pixels"):
        process(bomb_png(), FileKind.PNG, max_pixels=PIXELS)
    with pytest.raises(ImageRefused, match="pixels"):
        process(exif_photo(400, 300), FileKind.JPEG, max_pixels=100_000)
    with pytest.raises(ImageRefused, match="cannot be read"):
        process(exif_photo()[:5000], FileKind.JPEG, max_pixels=PIXELS)
    with pytest.raises(ImageRefused, match="not what its first bytes say"):
        process(exif_photo(64, 64), FileKind.PNG, max_pixels=PIXELS)


def test_nothing_but_pixels_survives_a_polyglot() -> None:
    made = process(polyglot_jpeg(), FileKind.JPEG, max_pixels=PIXELS)
    for rendition in (made.image, made.preview, made.thumbnail):
        assert b"<script" not in rendition.data and b"<html" not in rendition.data


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=0, max_size=2000), st.sampled_from(list(FileKind)[:4]))
def test_any_bytes_are_an_image_or_refused_in_words(data: bytes, kind: FileKind) -> None:
    head = {FileKind.JPEG: b"\xff\xd8\xff", FileKind.PNG: b"\x89PNG\r\n\x1a\n",
            FileKind.WEBP: b"RIFF\x00\x00\x00\x00WEBP",
            FileKind.HEIC: b"\x00\x00\x00\x18ftypheic"}[kind]
    try:
        process(head + data, kind, max_pixels=PIXELS)
    except ImageRefused as exc:
        assert str(exc)
