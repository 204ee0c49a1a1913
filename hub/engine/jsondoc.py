"""Documents (records, events, state) as both engines store them.

Writes are strict: :func:`dump` refuses anything :func:`hub.boundary.check_value`
refuses, so no new record can be stored that a list, a replay or a board
snapshot could not serve back.

Reads are forgiving: :func:`load` serves a document written before those
checks existed (a NaN label, a lone surrogate in a title) after replacing
what cannot be encoded (see :func:`hub.boundary.sanitize`), logs it and
counts it in ``liaison_poisoned_records_total``. One bad row never takes an
operation down; ``liaison repair`` rewrites such rows for good.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hub.boundary import check_value, note_repaired, sanitize

__all__ = ["dump", "load", "repaired"]

# What a stored document that needs a closer look contains: an escaped surrogate
# (a lone one, or half of a pair written by an older ensure_ascii encoder) or a
# number with 16 or more digits.
_SUSPECT = re.compile(r"\\u[dD][89a-fA-F]|\d{16}")

def dump(doc: Any, what: str = "record", *, checked: bool = False) -> str:
    """Strict JSON of a document about to be stored (``checked``: the caller already
    passed it through check_value, as part of a larger document).

    Raises:
        BadRequest: naming the field that cannot be stored.
    """
    if not checked:
        check_value(doc, what, max_depth=32)
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _parse(raw: str | bytes) -> tuple[Any, bool]:
    """The stored document, and whether it may hold something that cannot be served."""
    flagged = False

    def constant(name: str) -> float:
        nonlocal flagged
        flagged = True
        return float(name)

    doc = json.loads(raw, parse_constant=constant)
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    return doc, flagged or _SUSPECT.search(text) is not None


def load(raw: str | bytes, what: str = "record") -> Any:
    """A stored document, repaired (and counted) if it cannot be served as stored."""
    doc, suspect = _parse(raw)
    if not suspect:
        return doc
    clean, changed = sanitize(doc)
    if changed:
        note_repaired(f"stored {what}")
    return clean


def repaired(raw: str | bytes) -> str | None:
    """The stored text a document should have, or None if it is fine as stored.

    For ``liaison repair``: no counting, no logging; the caller writes it back.
    """
    doc, suspect = _parse(raw)
    if not suspect:
        return None
    clean, changed = sanitize(doc)
    return dump(clean, "record") if changed else None
