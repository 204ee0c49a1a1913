"""The words of the rule condition language: tokens, string literals, durations.

Pure, no I/O; :mod:`alerting.rules.expr` parses the tokens into conditions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_DURATION", "ExprError", "Tok", "parse_duration", "tokens", "unquote"]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<duration>[0-9]+(?:\.[0-9]+)?(?:s|m|h|d)\b)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
  | (?P<name>[^\W\d]\w*)
""", re.VERBOSE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest duration anywhere (rule holds and windows, waits, silences): 90 days.
MAX_DURATION = 90 * 86400
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


class ExprError(ValueError):
    """Raised when a condition cannot be parsed; the message names the column."""


def parse_duration(text: object) -> float:
    """Seconds in a duration written with its unit (``90s``, ``15m``, ``2h``, ``1d``).

    Bare numbers are refused (is ``30`` seconds or minutes?), and so is
    anything longer than :data:`MAX_DURATION`.
    """
    if isinstance(text, str):
        m = re.fullmatch(r"([0-9]{1,9}(?:\.[0-9]{1,6})?)(s|m|h|d)", text.strip())
        if m:
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
            if seconds > MAX_DURATION:
                raise ExprError(f"{text.strip()!r} is longer than the maximum of "
                                f"{MAX_DURATION // 86400}d")
            return seconds
    shown = repr(text) if isinstance(text, str | int | float) else type(text).__name__
    raise ExprError(f"{shown[:40]} is not a duration: write a number with its unit, "
                    "like 90s, 15m, 2h or 1d")


def unquote(token: str, col: int) -> str:
    """The value of a string literal; the escapes are \\\\, \\", \\', \\n and \\t."""
    out: list[str] = []
    body = token[1:-1]
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1:i + 2]
            if nxt not in _ESCAPES:
                raise ExprError(f"unknown escape '\\{nxt}' at column {col + i + 1} "
                                "(use \\\\, \\\", \\', \\n or \\t)")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str
    text: str
    col: int


def tokens(text: str) -> list[Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(), pos + 1))
        pos = m.end()
    out.append(Tok("end", "", len(text) + 1))
    return out
