"""The one data boundary: what any input value may contain. Pure, no I/O.

Every REST body and every WebSocket frame passes :func:`check_value` once,
right after it is parsed and before any feature sees it, so nothing past
the edge has to defend against values that cannot be stored and read back:

* numbers must be finite (no NaN, no ±Infinity, no ``1e999``) and integers
  must lie within ±(2**53 - 1), the range every JSON and msgpack client
  (JavaScript included) reads exactly;
* strings (values and keys) must be valid Unicode: no lone surrogates;
* structures nest at most :data:`MAX_DEPTH` deep.

A refusal is a :class:`~hub.errors.BadRequest` whose message names the
field by its path (``labels.level``, ``route[2]``), so a bot author sees
what to fix. :func:`int_param` does the same for numeric path, query and
header parameters.

:func:`sanitize` is the other side: it turns a value that slipped into
storage before these checks existed into one that can be served (NaN and
infinities become null, lone surrogates U+FFFD, out-of-range integers
strings), and says whether it changed anything.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from typing import Any

from hub.errors import BadRequest

__all__ = ["MAX_DEPTH", "MAX_INT", "SECONDS_PATTERN", "check_value", "int_param",
           "is_clean_text", "note_repaired", "repaired_total", "sanitize", "time_param"]

log = logging.getLogger("hub.boundary")
_lock = threading.Lock()
_repaired = 0

#: The largest integer every client reads exactly (JavaScript's Number.MAX_SAFE_INTEGER).
MAX_INT = 2**53 - 1
#: A moment in a query string: seconds since the epoch, at most microseconds.
SECONDS_PATTERN = r"^[0-9]{1,11}(\.[0-9]{1,6})?$"
_SECONDS = re.compile(SECONDS_PATTERN)
#: How deeply objects and lists may nest in any input.
MAX_DEPTH = 16


def is_clean_text(text: str) -> bool:
    """True if ``text`` is valid Unicode (encodes to UTF-8: no lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _name(path: str) -> str:
    return path or "body"


def check_value(value: Any, path: str = "", *, max_depth: int = MAX_DEPTH,
                error: type[BadRequest] = BadRequest) -> None:
    """Refuse a parsed input value that could not be stored and served back.

    Raises:
        BadRequest (or ``error``): naming the offending field by its path.
    """
    _check(value, path, 0, max_depth, error)


def _check(value: Any, path: str, depth: int, max_depth: int,
           error: type[BadRequest]) -> None:
    if isinstance(value, str):
        if not is_clean_text(value):
            raise error(f"'{_name(path)}' is not valid Unicode (lone surrogate)")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise error(f"'{_name(path)}' is outside the integer range ±(2**53 - 1)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise error(f"'{_name(path)}' must be a finite number")
    elif isinstance(value, dict):
        if depth >= max_depth:
            raise error(f"'{_name(path)}' is nested more than {max_depth} levels deep")
        for key, item in value.items():
            if not isinstance(key, str):
                raise error(f"'{_name(path)}' has a key that is not a string")
            if not is_clean_text(key):
                raise error(f"'{_name(path)}' has a key that is not valid Unicode")
            _check(item, f"{path}.{key}" if path else key, depth + 1, max_depth, error)
    elif isinstance(value, list | tuple):
        if depth >= max_depth:
            raise error(f"'{_name(path)}' is nested more than {max_depth} levels deep")
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", depth + 1, max_depth, error)
    else:
        raise error(f"'{_name(path)}' has a value of an unsupported type")


def int_param(raw: str | None, name: str, *, default: int | None = None, low: int = 0,
              high: int = MAX_INT) -> int | None:
    """A numeric path, query or header parameter in [low, high], or ``default`` if absent.

    Checks the length before converting, so a 5,000-digit value costs nothing.
    """
    if raw is None or raw == "":
        return default
    digits = len(str(high))
    if not raw.isascii() or not raw.isdigit() or len(raw.lstrip("0")) > digits \
            or not low <= int(raw) <= high:
        raise BadRequest(f"'{name}' must be an integer between {low} and {high}")
    return int(raw)


def time_param(raw: str | None, name: str) -> float | None:
    """A moment as seconds since the epoch (``1795000012`` or ``1795000012.25``), or None
    if absent; anything else (signs, exponents, NaN, 12+ digits) is refused naming it."""
    if raw is None or raw == "":
        return None
    if not _SECONDS.fullmatch(raw):
        raise BadRequest(f"'{name}' must be seconds since the epoch, e.g. 1795000012.5")
    return float(raw)


def sanitize(value: Any) -> tuple[Any, bool]:
    """A copy of ``value`` that check_value accepts (depth aside), and whether it changed."""
    if isinstance(value, str):
        if is_clean_text(value):
            return value, False
        return _replace_surrogates(value), True
    if isinstance(value, bool) or value is None:
        return value, False
    if isinstance(value, int):
        return (value, False) if -MAX_INT <= value <= MAX_INT else (str(value), True)
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            clean_key, key_changed = sanitize(str(key))
            clean, item_changed = sanitize(item)
            out[clean_key] = clean
            changed = changed or key_changed or item_changed or not isinstance(key, str)
        return out, changed
    if isinstance(value, list | tuple):
        items = [sanitize(v) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    return repr(value), True


def _replace_surrogates(text: str) -> str:
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def note_repaired(what: str) -> None:
    """Count (and log) a stored value or outgoing frame served only after sanitize()."""
    global _repaired
    with _lock:
        _repaired += 1
    log.warning("served a %s after repairing values that cannot be encoded; "
                "run 'liaison repair'", what, extra={"what": what})


def repaired_total() -> int:
    """How many values were repaired on their way out since the process started."""
    return _repaired


def parse_json_body(body: bytes) -> dict[str, Any]:
    """A request's JSON body: an object, every value checked (:func:`check_value`).
    Anything else is a :class:`BadRequest` naming what is wrong."""
    try:
        data = json.loads(body or b"null", parse_constant=_constant)
    except (ValueError, RecursionError):
        raise BadRequest("malformed JSON body") from None
    if not isinstance(data, dict):
        raise BadRequest("the JSON body must be an object")
    check_value(data)
    return data


def _constant(name: str) -> float:
    """NaN and ±Infinity parse (so the field can be named), then check_value refuses them."""
    return float(name)
