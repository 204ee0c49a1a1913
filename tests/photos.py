"""Test photos as phones make them: real EXIF (GPS, serial number, maker notes, an
orientation) written with piexif, and files crafted to pass for images."""

from __future__ import annotations

import io
import random
import zipfile

import exifread
import piexif
from PIL import Image

#: Where the test photo says it was taken (Paris, Pont Neuf).
LAT, LON = 48.8566667, 2.3508333
SERIAL = b"SN-4815162342"
MAKER_NOTE = b"ACME-PRIVATE-MAKERNOTE"


def _rational(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (degrees, 1), (minutes, 1), (seconds, 100)


def exif_photo(width: int = 2400, height: int = 1600, orientation: int = 1) -> bytes:
    """A JPEG of noise-free colour bands with EXIF GPS, a body serial number, maker notes
    and the camera's make and model, as a phone writes them."""
    image = Image.new("RGB", (width, height))
    for i in range(8):
        image.paste((30 * i, 200 - 20 * i, 90), (i * width // 8, 0, (i + 1) * width // 8,
                                                  height))
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Acme", piexif.ImageIFD.Model: b"FieldPhone 9",
                piexif.ImageIFD.Orientation: orientation},
        "Exif": {piexif.ExifIFD.BodySerialNumber: SERIAL, piexif.ExifIFD.MakerNote: MAKER_NOTE},
        "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: _rational(LAT),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: _rational(LON)}})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=92)
    return out.getvalue()


def field_photo(seed: int, width: int = 1600, height: int = 1200) -> bytes:
    """A photo-like JPEG, different for each ``seed``: a sky-to-ground gradient, a few
    shapes and sensor noise, so its thumbnail weighs what a real photo's does."""
    from PIL import ImageDraw

    rng = random.Random(seed)
    sky = [rng.randrange(90, 200) for _ in range(3)]
    ground = [rng.randrange(30, 120) for _ in range(3)]
    column = Image.linear_gradient("L").resize((1, height))
    image = Image.composite(Image.new("RGB", (width, height), tuple(ground)),
                            Image.new("RGB", (width, height), tuple(sky)),
                            column.resize((width, height)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(width // 40, width // 6)
        draw.ellipse((x - r, y - r // 2, x + r, y + r // 2),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def tags(data: bytes) -> dict[str, object]:
    """Every EXIF tag exifread (not the hub's Pillow) finds in ``data``."""
    return dict(exifread.process_file(io.BytesIO(data), details=True))


def leaks(data: bytes) -> list[str]:
    """What of the test photo's private metadata is still in ``data``."""
    found = [name for name in tags(data)
             if name.startswith(("GPS", "MakerNote")) or "Serial" in name
             or name in ("Image Make", "Image Model", "EXIF MakerNote")]
    found += [f"bytes {raw!r}" for raw in (SERIAL, MAKER_NOTE, b"Acme", b"FieldPhone")
              if raw in data]
    return found


def heic_photo() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 160, 90)).save(out, format="HEIF")
    return out.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A small PNG that decodes to ``side`` x ``side`` pixels (one colour, so it
    compresses to almost nothing)."""
    out = io.BytesIO()
    Image.new("1", (side, side), 0).save(out, "PNG", optimize=True)
    return out.getvalue()


def polyglot_jpeg() -> bytes:
    """A real JPEG with an HTML page in a comment segment and after its end."""
    page = b"<html><body><script>alert(document.cookie)</script></body></html>"
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 0, 0)).save(out, "JPEG")
    jpeg = out.getvalue()
    comment = b"\xff\xfe" + (len(page) + 2).to_bytes(2, "big") + page
    return jpeg[:2] + comment + jpeg[2:] + page


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("report.html", "<script>alert(1)</script>")
    return out.getvalue()


HOSTILE = {
    "html named .jpg": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "svg with a script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                         b"</svg>",
    "zip": zip_file(),
    "elf program": b"\x7fELF\x02\x01\x01" + b"\x00" * 200,
    "binary junk": bytes(range(256)) * 4,
}
