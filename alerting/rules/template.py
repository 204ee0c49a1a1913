"""Alert summaries: ``{name}`` substitution that can only fail when saved. No I/O.

    "{title}: {fields.casualties} casualties reported at {location.place}"
    "{count} {group} cases in the last hour"

A template is plain text with ``{name}`` placeholders; ``{{`` and ``}}`` are
literal braces. Names are checked when the rule is saved (:func:`compile_template`
raises :class:`TemplateError` with the column); there are no format specs, no
indexing and no attribute access beyond the dotted names listed in
:data:`CASE_FIELDS`, ``fields.<name>`` (a custom field) and, for rate rules,
:data:`RATE_FIELDS`. Rendering never raises: a missing value shows as
:data:`MISSING`, each value is cut to :data:`MAX_VALUE` characters and the
whole summary to :data:`MAX_OUTPUT`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CASE_FIELDS", "CASE_NAMES", "MAX_OUTPUT", "MISSING", "RATE_FIELDS", "Template",
           "TemplateError", "compile_template"]

#: Case fields a summary may name (besides ``fields.<custom field>``).
CASE_FIELDS = frozenset({
    "id", "title", "description", "category", "severity", "status", "reporting_agency",
    "created_by", "updated_by", "comments", "assignees", "location.place", "location.lat",
    "location.lon"})
#: What a rate rule's summary may name: the count, the group value and the rule's name.
RATE_FIELDS = frozenset({"count", "group", "rule"})
MISSING = "?"
MAX_VALUE = 200
MAX_OUTPUT = 1000
MAX_TEMPLATE = 500

_NAME = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)?")


class TemplateError(ValueError):
    """Raised when a summary template cannot be saved; the message names the column."""


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled summary: literal text and names, alternating."""

    text: str
    parts: tuple[tuple[str, bool], ...]  # (literal text, False) or (name, True)

    def render(self, values: Mapping[str, Any]) -> str:
        """The summary for these values; never raises, never longer than MAX_OUTPUT."""
        out: list[str] = []
        size = 0
        for part, is_name in self.parts:
            piece = _show(_lookup(values, part)) if is_name else part
            out.append(piece)
            size += len(piece)
            if size >= MAX_OUTPUT:
                break
        return "".join(out)[:MAX_OUTPUT]


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    head, _, rest = name.partition(".")
    value = values.get(head)
    if rest:
        value = value.get(rest) if isinstance(value, Mapping) else None
    return value


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        text = str(int(value)) if value.is_integer() and abs(value) < 2**53 else f"{value:g}"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list | tuple):
        text = ", ".join(_show(v) for v in value[:20])
    else:
        return MISSING
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def compile_template(text: object, names: frozenset[str] = CASE_FIELDS) -> Template:
    """Check a summary template against the names it may use.

    Raises:
        TemplateError: naming the column of the first mistake.
    """
    if not isinstance(text, str):
        raise TemplateError("must be a string")
    if len(text) > MAX_TEMPLATE:
        raise TemplateError(f"is limited to {MAX_TEMPLATE} characters")
    parts: list[tuple[str, bool]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "{}" and text[i + 1:i + 2] == c:
            literal.append(c)
            i += 2
            continue
        if c == "}":
            raise TemplateError(f"unmatched '}}' at column {i + 1} (write '}}}}' for a brace)")
        if c != "{":
            literal.append(c)
            i += 1
            continue
        end = text.find("}", i + 1)
        if end < 0:
            raise TemplateError(f"unclosed '{{' at column {i + 1} (write '{{{{' for a brace)")
        name = text[i + 1:end].strip()
        if not _NAME.fullmatch(name):
            raise TemplateError(f"'{{{text[i + 1:end][:40]}}}' at column {i + 1}: write a "
                                "field name such as {title} or {fields.casualties}; format "
                                "specs and indexing are not supported")
        if name not in names and not (name.startswith("fields.") and "fields.*" in names):
            known = ", ".join(sorted(n for n in names if n != "fields.*"))
            extra = ", fields.<name>" if "fields.*" in names else ""
            raise TemplateError(f"unknown name '{name}' at column {i + 2} "
                                f"(known: {known}{extra})")
        if literal:
            parts.append(("".join(literal), False))
            literal = []
        parts.append((name, True))
        i = end + 1
    if literal:
        parts.append(("".join(literal), False))
    return Template(text, tuple(parts))


#: The names a case rule's summary may use.
CASE_NAMES = CASE_FIELDS | {"fields.*", "rule"}
