"""Where settings come from: built-in defaults, a TOML file (``LIAISON_CONFIG`` or
``--config``), then ``LIAISON_*`` environment variables, later ones winning, into one
:class:`~hub.config.Settings` (which checks them). Read once, by the composition root
and the CLI.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub.config import ConfigError, Settings

__all__ = ["load_settings"]


def _coerce(name: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple):
            if isinstance(raw, list | tuple):
                return tuple(str(x) for x in raw)
            return tuple(part.strip() for part in str(raw).split(",") if part.strip())
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: cannot read {raw!r}") from exc


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build :class:`Settings` from a TOML file, ``LIAISON_*`` variables and overrides."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    names = {f.name for f in dataclasses.fields(Settings) if f.init} - {"extra"}
    values: dict[str, Any] = {}

    path = config_file or environ.get("LIAISON_CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        for key, raw in data.items():
            if key not in names:
                raise ConfigError(f"unknown setting in {path}: {key}")
            values[key] = _coerce(key, raw, getattr(defaults, key))

    for key in names:
        env_name = "LIAISON_" + key.upper()
        if env_name in environ:
            values[key] = _coerce(env_name, environ[env_name], getattr(defaults, key))

    for key, raw in overrides.items():
        if raw is not None:
            values[key] = raw
    return Settings(**values)
