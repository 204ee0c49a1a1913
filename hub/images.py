"""Images from the field, decoded and re-encoded: nothing of the file survives but pixels.

A phone photo carries the responder's exact position and the device's serial number
in its EXIF block, maker notes, XMP and IPTC; a crafted file carries a decompression
bomb or a second format hidden behind the first. :func:`process` reads only the
image's size before deciding to decode it (refusing one of more than ``max_pixels``),
decodes it with Pillow (HEIC/HEIF through pillow-heif), turns it upright as its
EXIF orientation says, and encodes new files from the pixels alone: the kept image
(JPEG, or PNG/WebP for one with transparency, HEIC becoming JPEG, which every
browser shows), a preview of at most :data:`PREVIEW_BYTES` and a thumbnail of at most
:data:`THUMBNAIL_BYTES`. No metadata block is written, so none survives.

The photo's position is read before it is dropped only when the sender asks to
attach it (``keep_position``); it then goes where it is shown and labelled (the
message's or case's location), never back into a file. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from hub.filetypes import FileKind

__all__ = ["PREVIEW_BYTES", "THUMBNAIL_BYTES", "ImageRefused", "Processed", "Rendition",
           "process"]

pillow_heif.register_heif_opener()

THUMBNAIL_BYTES = 15_000
PREVIEW_BYTES = 100_000
_THUMBNAIL_SIDE = 320
_PREVIEW_SIDE = 1280
_GPS_IFD = 0x8825


class ImageRefused(ValueError):
    """Not an image this hub can read safely (said in words for the sender)."""


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    mime: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Processed:
    image: Rendition
    preview: Rendition
    thumbnail: Rendition
    #: (latitude, longitude) from the photo's EXIF, only when asked for and present.
    position: tuple[float, float] | None


def process(data: bytes, kind: FileKind, *, max_pixels: int,
            keep_position: bool = False) -> Processed:
    """The re-encoded image, its preview and thumbnail (and position, if asked).

    Raises:
        ImageRefused: not decodable as ``kind``, truncated, or over ``max_pixels``.
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:  # reads the header only
            width, height = opened.size
            if width * height > max_pixels:
                raise ImageRefused(f"the image is {width}x{height}: more than "
                                   f"{max_pixels} pixels")
            if _mime_of(opened.format) != kind:
                raise ImageRefused("the image's content is not what its first bytes say")
            position = _position(opened) if keep_position else None
            opened.load()
            upright = ImageOps.exif_transpose(opened)
    except Image.DecompressionBombError:  # Pillow's own limit, met while reading the header
        raise ImageRefused(f"the image has more than {max_pixels} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ImageRefused):
            raise
        raise ImageRefused("the image cannot be read (damaged, truncated or not an image)") \
            from None
    clear = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info)
    mode = "RGBA" if clear else "RGB"
    # A new image from the pixels alone: what Pillow read besides them (comments, EXIF,
    # ICC, XMP, text chunks) rides along in .info and would be written back.
    pixels = Image.frombytes(mode, upright.size, upright.convert(mode).tobytes())
    if clear:
        kept = _encode(pixels, "PNG" if kind == FileKind.PNG else "WEBP", quality=90)
    else:
        kept = _encode(pixels, "WEBP" if kind == FileKind.WEBP else "JPEG", quality=90)
    return Processed(kept, _fit(pixels, _PREVIEW_SIDE, PREVIEW_BYTES, clear),
                     _fit(pixels, _THUMBNAIL_SIDE, THUMBNAIL_BYTES, clear), position)


def _mime_of(pillow_format: str | None) -> FileKind | None:
    return {"JPEG": FileKind.JPEG, "MPO": FileKind.JPEG, "PNG": FileKind.PNG,
            "WEBP": FileKind.WEBP, "HEIF": FileKind.HEIC}.get(pillow_format or "")


def _encode(pixels: Image.Image, fmt: str, *, quality: int) -> Rendition:
    out = io.BytesIO()
    if fmt == "PNG":
        pixels.save(out, format="PNG", optimize=True)
    else:
        pixels.save(out, format=fmt, quality=quality)
    return Rendition(out.getvalue(), f"image/{fmt.lower()}", pixels.width, pixels.height)


def _fit(pixels: Image.Image, side: int, limit: int, clear: bool) -> Rendition:
    """A smaller copy of at most ``limit`` bytes: the longest side ``side`` or less,
    the quality then the size lowered until it fits."""
    fmt = "WEBP" if clear else "JPEG"
    scale = min(1.0, side / max(pixels.width, pixels.height))
    while True:
        size = (max(1, round(pixels.width * scale)), max(1, round(pixels.height * scale)))
        small = pixels.resize(size, Image.Resampling.LANCZOS) if size != pixels.size \
            else pixels
        for quality in (80, 65, 50, 35):
            made = _encode(small, fmt, quality=quality)
            if len(made.data) <= limit:
                return made
        scale *= 0.7


def _position(image: Image.Image) -> tuple[float, float] | None:
    """The EXIF GPS position in decimal degrees, or None."""
    try:
        gps = image.getexif().get_ifd(_GPS_IFD)
        lat = _degrees(gps.get(2), gps.get(1))
        lon = _degrees(gps.get(4), gps.get(3))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 7), round(lon, 7)


def _degrees(value: object, ref: object) -> float | None:
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    d, m, s = (float(v) for v in value)
    out = d + m / 60 + s / 3600
    if not math.isfinite(out):
        return None
    return -out if str(ref).strip().upper() in ("S", "W") else out
