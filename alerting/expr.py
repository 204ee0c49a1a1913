"""The rule condition language: small, safe, no I/O, never ``eval``.

    severity >= "major" and fields.casualties >= 10
    severity == "critical" and since_update > 15m
    category in ["casualty", "detention"] and not exercise

Grammar::

    expr  := or
    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | cmp
    cmp   := atom (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") atom)?
    atom  := NUMBER | DURATION | STRING | true | false | null | NAME("." NAME)*
           | "(" expr ")" | "[" (atom ("," atom)*)? "]"

Durations (``90s``, ``15m``, ``2h``, ``1d``) are seconds. ``severity`` (and
``prev.severity``) compare by rank with severity names: ``severity >= "major"``.
Comparing values of different types is false, never an error. Names are
checked when the rule is loaded; a mistake is reported with its column.

``compile_expr`` turns the text into a Python closure; evaluating it also
reports the moments at which a time-dependent comparison (``since_update``,
``age``) will change its answer, so the engine can set a timer instead of
polling.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alerting.cases import Severity

__all__ = ["CASE_NAMES", "Compiled", "ExprError", "compile_expr", "parse_duration"]

CASE_NAMES = {"title", "description", "category", "severity", "status", "exercise",
              "assignees", "reporting_agency", "created_by", "updated_by", "comments",
              "since_update", "age", "location", "id"}
TIME_NAMES = {"since_update": "updated_at", "age": "created_at"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<duration>\d+(?:\.\d+)?(?:s|m|h|d)\b)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
MAX_LENGTH = 2000
MAX_DEPTH = 32


class ExprError(ValueError):
    """Raised when a condition cannot be parsed; the message names the column."""


def parse_duration(text: object) -> float:
    if isinstance(text, int | float) and not isinstance(text, bool) and text >= 0:
        return float(text)
    if isinstance(text, str):
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h|d)", text.strip())
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ExprError(f"{text!r} is not a duration (like 90s, 15m, 2h, 1d)")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    col: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos + 1))
        pos = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Sev(int):
    """A severity rank that compares with severity names."""


_RANKS = {s.name.lower(): int(s) for s in Severity}
_SEVS = [_Sev(int(s)) for s in Severity]


Env = Mapping[str, Any]
Fn = Callable[[Env, float, list[float]], Any]


def _lookup(path: tuple[str, ...]) -> Fn:
    if path[0] == "prev":
        inner = _lookup(path[1:])

        def prev(env: Env, now: float, times: list[float]) -> Any:
            before = env.get("__prev__")
            return None if before is None else inner(before, now, [])
        return prev
    head = path[0]
    if head in TIME_NAMES:
        source = TIME_NAMES[head]

        def since(env: Env, now: float, times: list[float]) -> Any:
            at = env.get(source)
            return None if not isinstance(at, int | float) else now - at
        return since
    if head == "severity":
        def sev(env: Env, now: float, times: list[float]) -> Any:
            rank = _RANKS.get(env.get("severity", "info"))
            return None if rank is None else _SEVS[rank]
        return sev

    def get(env: Env, now: float, times: list[float]) -> Any:
        value: Any = env
        for part in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value
    return get


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, _Sev) and isinstance(b, str):
        rank = _RANKS.get(b.lower())
        return (a, b) if rank is None else (int(a), rank)
    if isinstance(b, _Sev) and isinstance(a, str):
        bb, aa = _coerce(b, a)
        return aa, bb
    return a, b


def _compatible(a: Any, b: Any) -> bool:
    num = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, num) and isinstance(b, num)) or type(a) is type(b)


class _Parser:
    def __init__(self, text: str, names: set[str]) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.names = names
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> _Tok:
        tok = self.tok
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            want = repr(text) if text else kind
            found = repr(tok.text) if tok.text else "the end"
            raise ExprError(f"expected {want} at column {tok.col}, found {found}")
        self.i += 1
        return tok

    def parse(self) -> Fn:
        fn = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self.tok.text!r} at column {self.tok.col}")
        return fn

    def or_(self) -> Fn:
        left = self.and_()
        while self.tok.text == "or":
            self.take("or")
            right, prev = self.and_(), left
            left = (lambda a, b: lambda e, n, t: bool(a(e, n, t)) or bool(b(e, n, t)))(prev,
                                                                                       right)
        return left

    def and_(self) -> Fn:
        left = self.not_()
        while self.tok.text == "and":
            self.take("and")
            right, prev = self.not_(), left
            left = (lambda a, b: lambda e, n, t: bool(a(e, n, t)) and bool(b(e, n, t)))(prev,
                                                                                        right)
        return left

    def not_(self) -> Fn:
        if self.tok.text == "not":
            self.take("not")
            inner = self.not_()
            return lambda e, n, t: not inner(e, n, t)
        return self.cmp()

    def cmp(self) -> Fn:
        left_tok = self.tok
        left, left_time = self.atom()
        op = self.tok.text
        if op in _CMP:
            self.take()
            right_tok = self.tok
            right, right_time = self.atom()
            if left_time and right_tok.kind == "duration":
                return self._timed(left, op, right, left_time)
            if right_time and left_tok.kind == "duration":
                flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
                return self._timed(right, flipped, left, right_time)
            fn = _CMP[op]

            def compare(e: Env, n: float, t: list[float]) -> bool:
                a, b = _coerce(left(e, n, t), right(e, n, t))
                return _compatible(a, b) and bool(fn(a, b))
            return compare
        if op == "in":
            self.take()
            right, _ = self.atom()

            def contains(e: Env, n: float, t: list[float]) -> bool:
                haystack = right(e, n, t)
                return isinstance(haystack, list | tuple) and left(e, n, t) in haystack
            return contains
        return left

    @staticmethod
    def _timed(left: Fn, op: str, right: Fn, source: str) -> Fn:
        """``since_update > 15m``: also report when the answer will flip."""
        fn = _CMP[op]
        # ">" and "<=" change their answer just after the limit, the others at it.
        after = 0.001 if op in (">", "<=") else 0.0

        def compare(e: Env, n: float, t: list[float]) -> bool:
            elapsed, limit = left(e, n, t), right(e, n, t)
            at = e.get(source)
            if elapsed is None or not isinstance(at, int | float):
                return False
            flip = at + limit + after
            if flip > n:
                t.append(flip)
            return bool(fn(elapsed, limit))
        return compare

    def atom(self) -> tuple[Fn, str | None]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("expression nested too deeply")
        try:
            return self._atom()
        finally:
            self.depth -= 1

    def _atom(self) -> tuple[Fn, str | None]:
        tok = self.tok
        if tok.kind == "duration":
            self.take()
            value: Any = parse_duration(tok.text)
            return (lambda e, n, t: value), None
        if tok.kind == "number":
            self.take()
            value = float(tok.text) if "." in tok.text else int(tok.text)
            return (lambda e, n, t: value), None
        if tok.kind == "string":
            self.take()
            value = bytes(tok.text[1:-1], "utf-8").decode("unicode_escape")
            return (lambda e, n, t: value), None
        if tok.text == "(":
            self.take("(")
            inner = self.or_()
            self.take(")")
            return inner, None
        if tok.text == "[":
            self.take("[")
            items: list[Fn] = []
            while self.tok.text != "]":
                items.append(self.atom()[0])
                if self.tok.text != "]":
                    self.take(",")
            self.take("]")
            return (lambda e, n, t: [f(e, n, t) for f in items]), None
        if tok.kind == "name":
            if tok.text in ("true", "false", "null"):
                self.take()
                value = {"true": True, "false": False, "null": None}[tok.text]
                return (lambda e, n, t: value), None
            if tok.text in ("and", "or", "not", "in"):
                raise ExprError(f"unexpected {tok.text!r} at column {tok.col}")
            parts = [self.take(kind="name").text]
            while self.tok.text == ".":
                self.take(".")
                parts.append(self.take(kind="name").text)
            self._check_name(parts, tok.col)
            base = parts[1] if parts[0] == "prev" and len(parts) > 1 else parts[0]
            timed = TIME_NAMES.get(base) if parts[0] != "prev" else None
            return _lookup(tuple(parts)), timed
        found = repr(tok.text) if tok.text else "the end"
        raise ExprError(f"expected a value at column {tok.col}, found {found}")

    def _check_name(self, parts: list[str], col: int) -> None:
        path = parts[1:] if parts[0] == "prev" else parts
        if not path:
            raise ExprError(f"'prev' needs a field, like prev.severity (column {col})")
        if path[0] in ("fields", "location") and len(path) == 2:
            return
        if path[0] in self.names and len(path) == 1:
            return
        hint = difflib.get_close_matches(path[0], sorted(self.names | {"fields", "prev"}), 1)
        also = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ExprError(f"unknown name '{'.'.join(parts)}' at column {col}{also}")


@dataclass(frozen=True, slots=True)
class Compiled:
    text: str
    fn: Fn

    def __call__(self, env: Env, now: float, times: list[float] | None = None) -> bool:
        return bool(self.fn(env, now, times if times is not None else []))


def compile_expr(text: object, names: set[str] = CASE_NAMES) -> Compiled:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("a condition must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"a condition is limited to {MAX_LENGTH} characters")
    return Compiled(text, _Parser(text, names).parse())
