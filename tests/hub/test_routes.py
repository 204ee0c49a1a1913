"""hub/routes.py: the hub-level routes not covered elsewhere (the map's settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.routes import BASEMAP
from liaison.app import WEB_DIR
from tests.conftest import embedded_settings


async def test_the_map_settings_are_for_logged_in_users_and_name_the_bundled_outlines(
        start_hub: Any, tmp_path: Path) -> None:
    plain = await start_hub(embedded_settings(tmp_path / "plain"))
    assert plain.http is not None
    assert (await plain.http.get("/api/map")).status_code == 401
    r = await plain.api("GET", "/api/map", "olga")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json() == {"basemap": BASEMAP, "tile_url": None, "attribution": None}
    assert (WEB_DIR / BASEMAP.lstrip("/")).is_file()
    served = await plain.http.get(BASEMAP)
    assert served.status_code == 200 and served.json()["type"] == "Topology"

    tiled = await start_hub(embedded_settings(tmp_path / "tiled").replace(
        map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
        map_tile_attribution="© OpenStreetMap contributors"))
    got = (await tiled.api("GET", "/api/map", "olga")).json()
    assert got["tile_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert got["attribution"] == "© OpenStreetMap contributors"
