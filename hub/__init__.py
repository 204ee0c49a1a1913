"""Liaison Hub server core."""

__version__ = "0.2.0.dev0"
