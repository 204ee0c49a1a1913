"""A deployment's own map tile server: the one setting checked, and its origin.

The board's map draws a bundled basemap (country outlines) and needs nothing
from the internet. A deployment with a tile server of its own (OpenStreetMap
tiles behind its firewall, a national mapping agency's WMTS as XYZ) sets
``map_tile_url`` to an XYZ template such as ``https://tiles.example.org/{z}/{x}/{y}.png``
and ``map_tile_attribution`` to the credit its licence asks for. The page's
Content-Security-Policy then allows images from that origin and no other.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["PLACEHOLDERS", "tile_origin"]

PLACEHOLDERS = ("{z}", "{x}", "{y}")
_UNSAFE = frozenset(" \t\r\n;,'\"<>\\`")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]+")  # after urlsplit lowercased it


def tile_origin(url: str) -> str:
    """The ``scheme://host[:port]`` of a tile URL template; ``ValueError`` saying what is wrong."""
    if any(ch in _UNSAFE for ch in url):
        raise ValueError("map_tile_url must not contain spaces, quotes, ';' or ','")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed "[" in the host
        raise ValueError(f"map_tile_url is not a URL: {exc}") from exc
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("map_tile_url must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("map_tile_url must not carry credentials")
    if "{" in parts.netloc or "}" in parts.netloc:
        raise ValueError("map_tile_url: placeholders go in the path, not the host")
    if not _HOST.fullmatch(parts.hostname):
        raise ValueError("map_tile_url: the host must be an ASCII name or an IP address")
    missing = [p for p in PLACEHOLDERS if p not in url]
    if missing:
        raise ValueError(f"map_tile_url must contain {', '.join(missing)}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("map_tile_url has an invalid port") from exc
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
