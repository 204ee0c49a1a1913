"""hub/tilearchive.py: a raster PMTiles archive, and any tile address a caller sends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import ConfigError
from hub.tilearchive import TileArchive
from tests.web.test_map_browser import KERNS, tile_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TileArchive]:
    path = Path(tmp_path_factory.mktemp("tiles")) / "kerns.pmtiles"
    tile_archive(path, KERNS["lat"], KERNS["lon"])
    opened = TileArchive(path)
    yield opened
    opened.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(), st.integers(), st.integers())
def test_any_tile_address_is_a_tile_or_none_never_an_error(archive: TileArchive, z: int,
                                                           x: int, y: int) -> None:
    """Huge or negative numbers (the route's {z:int} takes any digits) answer None at
    once: the zoom is checked before 2**z is ever computed."""
    got = archive.tile(z, x, y)
    assert got is None or (got.startswith(b"\x89PNG") and 8 <= z <= 12)


def test_the_archive_describes_its_zooms_and_refuses_what_is_not_one(
        archive: TileArchive, tmp_path: Path) -> None:
    assert archive.describe()["tile_url"] == "/tiles/{z}/{x}/{y}"
    assert (archive.min_zoom, archive.max_zoom, archive.media_type) == (8, 12, "image/png")
    bad = tmp_path / "not.pmtiles"
    bad.write_bytes(b"not an archive at all")
    with pytest.raises(ConfigError, match="not a readable PMTiles archive"):
        TileArchive(bad)  # and its file closed: no ResourceWarning surfaces later
    with pytest.raises(ConfigError, match="cannot be read"):
        TileArchive(tmp_path / "missing.pmtiles")
