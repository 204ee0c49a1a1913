from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import ConfigError, Settings
from hub.config_sources import load_settings


def test_defaults_are_secure() -> None:
    s = Settings()
    assert s.host == "127.0.0.1" and s.max_frame_bytes == 64 * 1024
    assert s.argon2_memory_kib >= 19456 and s.argon2_time_cost >= 2
    assert s.sqlite_synchronous == "FULL" and s.allowed_origins == ()


def test_file_then_environment(tmp_path: Path) -> None:
    f = tmp_path / "hub.toml"
    f.write_text('port = 9000\nallowed_origins = ["https://ops.example"]\nmax_text_chars = 10\n')
    s = load_settings({"LIAISON_PORT": "9100", "LIAISON_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2"},
                      config_file=f)
    assert s.port == 9100 and s.max_text_chars == 10
    assert s.allowed_origins == ("https://ops.example",)
    assert s.trusted_proxies == ("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize("env", [
    {"LIAISON_PORT": "abc"}, {"LIAISON_ARGON2_MEMORY_KIB": "1024"},
    {"LIAISON_SQLITE_SYNCHRONOUS": "OFF"}, {"LIAISON_MAX_FRAME_BYTES": "99999999"},
    {"LIAISON_REQUIRE_TOTP_FOR": "everyone"},
    {"LIAISON_ACCESS_CACHE_SECONDS": "-1"}, {"LIAISON_ACCESS_CACHE_SECONDS": "nan"},
    {"LIAISON_ACCESS_CACHE_SECONDS": "inf"}, {"LIAISON_ACCESS_CACHE_SECONDS": "61"},
])
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(env)


def test_unknown_file_key_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "hub.toml"
    f.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings({}, config_file=f)


def test_a_tile_server_needs_its_credit_and_a_clean_template() -> None:
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(ConfigError, match="map_tile_attribution"):
        load_settings({"LIAISON_MAP_TILE_URL": url})
    with pytest.raises(ConfigError, match="credentials"):
        load_settings({"LIAISON_MAP_TILE_URL": "https://u:p@tiles.example.org/{z}/{x}/{y}",
                       "LIAISON_MAP_TILE_ATTRIBUTION": "© OSM"})
    s = load_settings({"LIAISON_MAP_TILE_URL": url, "LIAISON_MAP_TILE_ATTRIBUTION": "© OSM"})
    assert (s.map_tile_url, s.map_tile_attribution) == (url, "© OSM")
    assert load_settings({}).map_tile_url == ""  # by default: the bundled outlines only


def test_access_memory_is_configurable_and_off_at_zero() -> None:
    assert Settings().access_cache_seconds == 1.0
    assert load_settings({"LIAISON_ACCESS_CACHE_SECONDS": "0"}).access_cache_seconds == 0.0
