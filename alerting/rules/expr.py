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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alerting.cases.case import CATEGORIES, Severity, Status
from alerting.rules.lexer import MAX_DURATION, ExprError, Tok, parse_duration, tokens, unquote

__all__ = ["CASE_NAMES", "MAX_DURATION", "Compiled", "ExprError", "compile_expr",
           "parse_duration"]

CASE_NAMES = {"title", "description", "category", "severity", "status", "exercise",
              "assignees", "reporting_agency", "created_by", "updated_by", "comments",
              "since_update", "age", "location", "id"}
TIME_NAMES = {"since_update": "updated_at", "age": "created_at"}

_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
MAX_LENGTH = 2000
MAX_DEPTH = 32
#: Names whose values come from a fixed set; only severity is ordered.
ENUMS: dict[str, tuple[str, ...]] = {
    "severity": tuple(s.name.lower() for s in Severity),
    "status": tuple(str(s) for s in Status),
    "category": CATEGORIES,
}
_ORDER = {"<", "<=", ">", ">="}
MAX_NUMBER = 2**53 - 1
MAX_LIST = 100




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
    """Whether ``a`` and ``b`` can be ordered: two numbers or two strings."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    num = (int, float)
    return (isinstance(a, num) and isinstance(b, num)) or (isinstance(a, str)
                                                             and isinstance(b, str))


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _plain(value: Any) -> Any:
    """A severity rank back to its name (for ``in`` lists of names)."""
    if isinstance(value, _Sev):
        return Severity(int(value)).name.lower()
    return value


@dataclass(frozen=True, slots=True)
class _Atom:
    fn: Fn
    timed: str | None = None  # the time field a since_update/age name reads
    name: str | None = None  # a plain field name (prev. stripped)
    literal: bool = False
    value: Any = None


class _Parser:
    def __init__(self, text: str, names: set[str]) -> None:
        self.text = text
        self.toks = tokens(text)
        self.i = 0
        self.names = names
        self.depth = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None, kind: str | None = None) -> Tok:
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
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError("expression nested too deeply")
            inner = self.not_()
            self.depth -= 1
            return lambda e, n, t: not inner(e, n, t)
        return self.cmp()

    def cmp(self) -> Fn:
        left_tok = self.tok
        left = self.atom()
        op = self.tok.text
        if op in _CMP:
            op_tok = self.take()
            right_tok = self.tok
            right = self.atom()
            self._check_enum(left, op, right, right_tok.col)
            self._check_enum(right, op, left, left_tok.col)
            if left.timed and right_tok.kind == "duration":
                return self._timed(left.fn, op, right.fn, left.timed)
            if right.timed and left_tok.kind == "duration":
                flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
                return self._timed(right.fn, flipped, left.fn, right.timed)
            if (left.timed or right.timed) and op in _ORDER and not (
                    right_tok.kind in ("duration", "number")
                    or left_tok.kind in ("duration", "number")):
                raise ExprError(f"{op!r} at column {op_tok.col} compares a time with "
                                "something that is not a duration")
            fn = _CMP[op]
            lf, rf = left.fn, right.fn
            if op in ("==", "!="):
                negate = op == "!="

                def equal(e: Env, n: float, t: list[float]) -> bool:
                    a, b = _coerce(lf(e, n, t), rf(e, n, t))
                    return _equal(a, b) != negate
                return equal

            def compare(e: Env, n: float, t: list[float]) -> bool:
                a, b = _coerce(lf(e, n, t), rf(e, n, t))
                return _compatible(a, b) and bool(fn(a, b))
            return compare
        if op == "in":
            self.take()
            right_tok = self.tok
            right = self.atom()
            if right.literal and isinstance(right.value, list):
                for item in right.value:
                    self._check_enum(left, "==", _Atom(right.fn, literal=True, value=item),
                                     right_tok.col)
            lf, rf = left.fn, right.fn

            def contains(e: Env, n: float, t: list[float]) -> bool:
                haystack = rf(e, n, t)
                if not isinstance(haystack, list | tuple):
                    return False
                needle = _plain(lf(e, n, t))
                return any(_equal(needle, item) for item in haystack)
            return contains
        return left.fn

    @staticmethod
    def _check_enum(name: _Atom, op: str, other: _Atom, col: int) -> None:
        """``severity == "catastrophic"`` or ``status > "open"`` can never hold: refuse."""
        values = ENUMS.get(name.name or "")
        if values is None or not other.literal:
            return
        if op in _ORDER and name.name != "severity":
            raise ExprError(f"'{name.name}' has no order; compare it with == or != "
                            f"(column {col})")
        value = other.value
        if value is None and op in ("==", "!="):
            return  # prev.severity == null: the case was just created
        if not isinstance(value, str) or value.lower() not in values:
            shown = repr(value) if value is not None else "null"
            raise ExprError(f"{shown[:40]} at column {col} is not a {name.name} "
                            f"({', '.join(values)})")

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

    def atom(self) -> _Atom:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("expression nested too deeply")
        try:
            return self._atom()
        finally:
            self.depth -= 1

    def _atom(self) -> _Atom:
        tok = self.tok
        if tok.kind == "duration":
            self.take()
            value: Any = parse_duration(tok.text)
            return _Atom(lambda e, n, t: value, literal=True, value=value)
        if tok.kind == "number":
            self.take()
            value = float(tok.text) if "." in tok.text else int(tok.text)
            if not abs(value) <= MAX_NUMBER:
                raise ExprError(f"number at column {tok.col} is too large")
            return _Atom(lambda e, n, t: value, literal=True, value=value)
        if tok.kind == "string":
            self.take()
            value = unquote(tok.text, tok.col)
            return _Atom(lambda e, n, t: value, literal=True, value=value)
        if tok.text == "(":
            self.take("(")
            inner = self.or_()
            self.take(")")
            return _Atom(inner)
        if tok.text == "[":
            self.take("[")
            items: list[_Atom] = []
            while self.tok.text != "]":
                if len(items) >= MAX_LIST:
                    raise ExprError(f"a list is limited to {MAX_LIST} items "
                                    f"(column {self.tok.col})")
                items.append(self.atom())
                if self.tok.text != "]":
                    self.take(",")
            self.take("]")
            fns = [a.fn for a in items]
            literal = all(a.literal for a in items)
            return _Atom(lambda e, n, t: [f(e, n, t) for f in fns], literal=literal,
                         value=[a.value for a in items] if literal else None)
        if tok.kind == "name":
            if tok.text in ("true", "false", "null"):
                self.take()
                value = {"true": True, "false": False, "null": None}[tok.text]
                return _Atom(lambda e, n, t: value, literal=True, value=value)
            if tok.text in ("and", "or", "not", "in"):
                raise ExprError(f"unexpected {tok.text!r} at column {tok.col}")
            parts = [self.take(kind="name").text]
            while self.tok.text == ".":
                self.take(".")
                parts.append(self.take(kind="name").text)
            self._check_name(parts, tok.col)
            base = parts[1] if parts[0] == "prev" and len(parts) > 1 else parts[0]
            timed = TIME_NAMES.get(base) if parts[0] != "prev" else None
            plain = ".".join(parts[1:] if parts[0] == "prev" else parts)
            return _Atom(_lookup(tuple(parts)), timed, plain)
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
