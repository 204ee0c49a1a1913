"""Liaison Hub server core."""

__version__ = "0.1.0"
