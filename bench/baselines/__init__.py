"""Bare fan-out servers the hub is measured against (bench/compare.py)."""
