"""The fields of operations and channels in a request body: pure checks, no I/O.

Each returns the value to store or raises :class:`hub.errors.BadRequest` naming the
field.
"""

from __future__ import annotations

import re

from hub.errors import BadRequest

__all__ = ["CODE", "NAME", "agencies_field", "flag_field", "text_field"]

#: An operation's code (what bots and the CLI name it by).
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
#: A channel's name (its address within the operation).
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")


def text_field(value: object, field: str, max_len: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"'{field}' must be a non-empty string")
    if len(value) > max_len:
        raise BadRequest(f"'{field}' is longer than {max_len} characters")
    return value.strip()


def flag_field(data: dict[str, object], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false")
    return value


def agencies_field(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, str) and 0 < len(a) <= 64
                                              for a in value) or len(value) > 64:
        raise BadRequest("'agencies' must be a list of agency names")
    return tuple(dict.fromkeys(a.strip() for a in value))
