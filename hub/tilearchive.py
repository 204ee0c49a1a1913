"""Offline map tiles: one PMTiles archive on the hub's disk, served as XYZ tiles.

A liaison cell far from any network loads the map of its area as a single file
(``pmtiles extract`` from a national or OpenStreetMap raster archive, for the
region of the operation) and names it in ``map_tile_archive``. The hub reads
the archive's directory and serves each tile at ``/tiles/{z}/{x}/{y}`` (the
board's map draws them under the cases as it draws a tile server's); the file
itself is also served, with HTTP range requests, at ``/tiles/archive.pmtiles``
for tools that read PMTiles directly. Only raster archives (PNG, JPEG, WebP)
can be drawn: a vector archive is refused when the hub starts, saying so.

The tiles are the same for every user of the deployment (a map, not a record);
they are served to signed-in users only, and the service worker keeps those of
the operation's area for use offline.
"""

from __future__ import annotations

import hashlib
import mmap
from pathlib import Path
from typing import Any

from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType

from hub.config import ConfigError

__all__ = ["TileArchive"]

MEDIA_TYPES = {TileType.PNG: "image/png", TileType.JPEG: "image/jpeg",
               TileType.WEBP: "image/webp", TileType.AVIF: "image/avif"}


class TileArchive:
    """A raster PMTiles archive, memory-mapped read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = path.open("rb")
        except OSError as exc:
            raise ConfigError(f"map_tile_archive {path}: cannot be read ({exc})") from exc
        try:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            reader: Any = Reader  # the reference reader is untyped
            self._reader = reader(lambda offset, length: self._map[offset:offset + length])
            header = self._reader.header()
        except Exception as exc:  # an empty file, or the reader's own errors
            self.close()
            raise ConfigError(f"map_tile_archive {path}: not a readable PMTiles archive "
                              f"({exc})") from exc
        tile_type = header["tile_type"]
        if tile_type not in MEDIA_TYPES:
            self.close()
            raise ConfigError(f"map_tile_archive {path}: {tile_type.name} tiles cannot be "
                              "drawn by the board's map; give a raster archive (PNG, JPEG, "
                              "WebP)")
        if header["tile_compression"] not in (Compression.NONE, Compression.UNKNOWN):
            self.close()
            raise ConfigError(f"map_tile_archive {path}: raster tiles must not be "
                              "compressed again inside the archive")
        self.media_type = MEDIA_TYPES[tile_type]
        self.min_zoom = int(header["min_zoom"])
        self.max_zoom = int(header["max_zoom"])
        self.bounds = [header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
                       header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7]
        stat = path.stat()
        self.etag = hashlib.sha256(f"{path}\n{stat.st_size}\n{stat.st_mtime_ns}".encode()
                                   ).hexdigest()[:16]
        try:
            meta: dict[str, Any] = self._reader.metadata()
        except ValueError:
            meta = {}
        self.attribution = str(meta.get("attribution") or "")[:300]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when the archive has none there."""
        if not self.min_zoom <= z <= self.max_zoom or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
            return None
        data = self._reader.get(z, x, y)
        return bytes(data) if data else None

    def describe(self) -> dict[str, Any]:
        """What the map needs to know: where the tiles are, and their zoom levels."""
        return {"tile_url": "/tiles/{z}/{x}/{y}", "min_zoom": self.min_zoom,
                "max_zoom": self.max_zoom, "bounds": self.bounds}

    def close(self) -> None:
        if hasattr(self, "_map"):
            self._map.close()
        self._file.close()
