"""Confidentiality labels: a deployment's policy, the labels items carry, who may see them.

Modelled on the structure of NATO's confidentiality labels (STANAG 4774): a
*policy* names an ordered list of classification *levels* and a set of
*categories*; a label is one level plus, per category, the list of values it is
released to ("REL TO POLICE, ARMY"). Categories here are permissive, as
releasability is: a reader must hold at least one value of each category's list.
The "REL TO" values a user holds are their agency (plus any granted to them).

Three relations, all pure:

* :meth:`Policy.may_see` — a reader's :class:`Clearance` against a label: level at
  least the label's and a value in every category's list.
* :meth:`Policy.within` — an item against its container's label (the ceiling): not
  above its level, and no category widened or dropped (narrowing is allowed: a
  message released to POLICE only, inside a channel released to POLICE and ARMY).
* :meth:`Policy.parse` — a label from an untrusted request body, failing with a
  :class:`LabelError` that names the field and says what is wrong.

No I/O; the policy is read once from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_COLOURS", "LABEL_SCHEMA_MARK", "LEVEL_SCHEMA_MARK", "NOBODY", "REL_TO",
           "Clearance", "Label", "LabelError", "Policy", "marking_of", "stored_view"]

#: The releasability category: its values are agencies.
REL_TO = "REL TO"

#: Banner colours per level of the default policy (background, with white text: each
#: at least 4.5:1, WCAG AA).
DEFAULT_COLOURS: tuple[tuple[str, str], ...] = (
    ("UNCLASSIFIED", "#1f6f3a"), ("RESTRICTED", "#1d4f91"),
    ("CONFIDENTIAL", "#0b5f6b"), ("SECRET", "#a3161d"))

_MAX_VALUES = 64
_MAX_NAME = 64


#: The JSON Schema keyword that marks a label input in a declared body; the OpenAPI
#: document puts the deployment policy's :meth:`Policy.input_schema` in its place.
LABEL_SCHEMA_MARK = "x-liaison-label"
#: The mark of a level name input (a level alone, no categories).
LEVEL_SCHEMA_MARK = "x-liaison-level"

#: A category value: no control character, no outer space (with ``isprintable``, the
#: check :meth:`Policy.parse` makes).
_VALUE_PATTERN = (r"^[^\x00-\x20\x7f-\xa0](?:[^\x00-\x1f\x7f-\x9f]*"
                  r"[^\x00-\x20\x7f-\xa0])?$")

#: The one value of a category that nobody holds (see :meth:`Policy.join`).
NOBODY = "(nobody)"


class LabelError(ValueError):
    """A label that cannot be accepted; ``field`` names where in the request it is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Label:
    """One level and, per category, the values it is released to (sorted, no empties)."""

    level: str
    categories: tuple[tuple[str, frozenset[str]], ...] = ()

    def values(self, category: str) -> frozenset[str] | None:
        for name, values in self.categories:
            if name == category:
                return values
        return None

    def marking(self) -> str:
        """The text a banner shows: ``SECRET REL TO ARMY, POLICE``."""
        parts = [self.level]
        parts += [f"{name} {', '.join(sorted(values))}" for name, values in self.categories]
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level,
                "categories": {name: sorted(values) for name, values in self.categories}}

    def dumps(self) -> str:
        """The label as a store keeps it (read back by :meth:`Policy.stored`)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)


def marking_of(raw: object) -> str:
    """The marking of a label a record carries (its dict), "" if it carries none; for
    showing, without the policy (``web/board-model.js`` mirrors it)."""
    if not isinstance(raw, Mapping):
        return ""
    categories = raw.get("categories") or {}
    if not isinstance(categories, Mapping):
        return str(raw.get("level", ""))
    return Label(str(raw.get("level", "")), tuple(sorted(
        (str(k), frozenset(map(str, v))) for k, v in categories.items()
        if isinstance(v, list | tuple)))).marking()


def stored_view(raw: str) -> tuple[dict[str, Any] | None, str]:
    """(label as a dict, marking) of a stored label, for showing it without the policy:
    the JSON a hub writes, or free text written before labels existed (no dict)."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            d = json.loads(text)
            label = Label(str(d["level"]), tuple(sorted(
                (str(k), frozenset(map(str, v))) for k, v in d.get("categories", {}).items())))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None, "UNREADABLE LABEL"
        return label.to_dict(), label.marking()
    return None, text


@dataclass(frozen=True, slots=True)
class Clearance:
    """What a reader holds: a level, their agency, and any category values granted."""

    level: str
    agency: str
    granted: tuple[tuple[str, frozenset[str]], ...] = ()

    def holds(self, category: str) -> frozenset[str]:
        held: frozenset[str] = frozenset()
        for name, values in self.granted:
            if name == category:
                held = values
        return held | {self.agency} if category == REL_TO else held


@dataclass(frozen=True, slots=True)
class Policy:
    """A deployment's label policy: ordered levels (lowest first) and category names."""

    name: str = "LIAISON"
    levels: tuple[str, ...] = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")
    categories: tuple[str, ...] = (REL_TO,)
    #: Banner colour per level; levels not named get a neutral grey.
    colours: tuple[tuple[str, str], ...] = DEFAULT_COLOURS
    _rank: Mapping[str, int] = field(init=False, repr=False, compare=False, hash=False,
                                     default_factory=dict)

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("a label policy needs at least one level")
        for what, names in (("level", self.levels), ("category", self.categories)):
            if len(set(names)) != len(names):
                raise ValueError(f"a label policy names a {what} twice")
            for name in names:
                if not name or len(name) > _MAX_NAME or name != name.strip():
                    raise ValueError(f"a label policy {what} must be 1-{_MAX_NAME} "
                                     f"characters without outer spaces: {name!r}")
        object.__setattr__(self, "_rank", {lvl: i for i, lvl in enumerate(self.levels)})

    # --- building ------------------------------------------------------------------

    @property
    def lowest(self) -> Label:
        return Label(self.levels[0])

    def rank(self, level: str) -> int:
        return self._rank[level]

    def label(self, level: str, **categories: list[str] | set[str]) -> Label:
        """A label from trusted code (tests, the demo); ``REL_TO`` as ``rel_to=``."""
        named = {REL_TO if k == "rel_to" else k: v for k, v in categories.items()}
        return self.parse({"level": level, "categories": named}, "label")

    def parse(self, raw: object, where: str) -> Label:
        """A label from a request: ``{"level": ..., "categories": {name: [values]}}``, or
        a bare level name. Raises :class:`LabelError` naming ``where`` and the part."""
        if isinstance(raw, str):
            raw = {"level": raw}
        if not isinstance(raw, Mapping):
            raise LabelError(where, "must be an object with 'level' (and 'categories')")
        unknown = set(raw) - {"level", "categories", "marking"}
        if unknown:
            raise LabelError(f"{where}.{sorted(unknown)[0]}", "is not a label field")
        level = raw.get("level")
        if not isinstance(level, str) or level not in self._rank:
            raise LabelError(f"{where}.level",
                             f"must be one of {', '.join(self.levels)}")
        cats = raw.get("categories", {})
        if not isinstance(cats, Mapping):
            raise LabelError(f"{where}.categories", "must be an object of lists")
        parsed: list[tuple[str, frozenset[str]]] = []
        for name, values in cats.items():
            at = f"{where}.categories.{name}"
            if name not in self.categories:
                raise LabelError(at, f"is not a category of policy {self.name} "
                                     f"({', '.join(self.categories) or 'none'})")
            if (not isinstance(values, list | tuple | set | frozenset) or not values
                    or len(values) > _MAX_VALUES):
                raise LabelError(at, f"must be a list of 1-{_MAX_VALUES} values")
            for value in values:
                if (not isinstance(value, str) or not value or len(value) > _MAX_NAME
                        or value != value.strip() or not value.isprintable()):
                    raise LabelError(at, f"values must be 1-{_MAX_NAME} printable characters")
            parsed.append((name, frozenset(values)))
        return Label(level, tuple(sorted(parsed)))

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of what :meth:`parse` accepts under this policy: a level name,
        or ``{"level", "categories"}`` with this policy's names only."""
        level = {"type": "string", "enum": list(self.levels)}
        value = {"type": "string", "minLength": 1, "maxLength": _MAX_NAME,
                 "pattern": _VALUE_PATTERN}
        categories = {"type": "object", "propertyNames": {"enum": list(self.categories)},
                      "additionalProperties": {"type": "array", "items": value,
                                               "minItems": 1, "maxItems": _MAX_VALUES}}
        return {"anyOf": [level, {"type": "object",
                                  "properties": {"level": level, "categories": categories},
                                  "required": ["level"], "additionalProperties": False}]}

    def clearance(self, level: str, agency: str,
                  granted: Mapping[str, list[str]] | None = None) -> Clearance:
        if level not in self._rank:
            raise LabelError("clearance", f"must be one of {', '.join(self.levels)}")
        extra = []
        for name, values in (granted or {}).items():
            if name not in self.categories:
                raise LabelError(f"clearance.categories.{name}", "is not a category")
            extra.append((name, frozenset(values)))
        return Clearance(level, agency, tuple(sorted(extra)))

    # --- relations -----------------------------------------------------------------

    def may_see(self, reader: Clearance, label: Label) -> bool:
        needed = self._rank.get(label.level)
        if needed is None or self._rank.get(reader.level, -1) < needed:
            return False  # a level the policy no longer has: nobody
        return all(reader.holds(name) & values for name, values in label.categories)

    def covers(self, outer: Label, inner: Label) -> bool:
        """Whether everyone who may see ``outer`` may see ``inner`` (say, every reader of
        a channel an alert about a case labelled ``inner`` would be posted into)."""
        if self._rank.get(inner.level, len(self.levels)) > self._rank.get(outer.level, -1):
            return False
        for name, values in inner.categories:
            theirs = outer.values(name)
            if theirs is None or not theirs <= values:
                return False
        return True

    def join(self, labels: Sequence[Label]) -> Label:
        """The least label whose readers may see every one of ``labels``: the highest
        level, and per category the values all of them release to. Where they share
        none, the category holds only :data:`NOBODY`, which no reader holds: a thing
        made of items no single reader may all see is shown to nobody."""
        if not labels:
            return self.lowest
        level = max((lb.level for lb in labels), key=lambda lv: self._rank.get(lv, 0))
        names = sorted({name for lb in labels for name, _ in lb.categories})
        categories = []
        for name in names:
            sets = [v for v in (lb.values(name) for lb in labels) if v is not None]
            common = frozenset.intersection(*sets)
            categories.append((name, common or frozenset({NOBODY})))
        return Label(level, tuple(categories))

    def of_record(self, raw: object) -> Label | None:
        """The label a stored record carries (the dict a hub wrote), or None if it has
        none (written before labels). One the policy cannot read is its highest level."""
        if raw is None:
            return None
        try:
            return self.parse(raw, "record")
        except LabelError:
            return Label(self.levels[-1])

    def within(self, item: Label, ceiling: Label) -> str | None:
        """None if ``item`` may sit under ``ceiling``; else why not (for an error)."""
        if self._rank[item.level] > self._rank[ceiling.level]:
            return f"{item.level} is above its container's {ceiling.level}"
        for name, values in ceiling.categories:
            mine = item.values(name)
            if mine is None:
                return f"must keep the container's {name} {', '.join(sorted(values))}"
            wider = mine - values
            if wider:
                return (f"{name} {', '.join(sorted(wider))} is wider than its container's "
                        f"{name} {', '.join(sorted(values))}")
        return None

    # --- stored labels ---------------------------------------------------------------

    def stored(self, raw: str, default: Label) -> Label:
        """A label as a store holds it: its JSON, a bare level name, or "" for ``default``.

        Text written before labels existed (an operation's free-text classification
        such as "RESTRICTED - EXERCISE") reads as the longest level it starts with.
        A stored label the policy cannot read (a level since removed) reads as the
        policy's highest level: closed, never open.
        """
        text = raw.strip()
        if not text:
            return default
        if text.startswith("{"):
            try:
                return self.parse(json.loads(text), "stored")
            except (ValueError, LabelError):
                return Label(self.levels[-1])
        starts = [lvl for lvl in self.levels if text.upper().startswith(lvl.upper())]
        return Label(max(starts, key=len)) if starts else Label(self.levels[-1])

    def clearance_of(self, stored: str, agency: str) -> Clearance:
        """A user's clearance from its stored JSON ("" is the lowest level)."""
        label = self.stored(stored, self.lowest)
        return Clearance(label.level, agency, label.categories)

    def colour(self, level: str) -> str:
        return dict(self.colours).get(level, "#4a4a4a")

    def describe(self) -> dict[str, Any]:
        """The policy as clients read it (levels in order, categories, banner colours)."""
        return {"name": self.name, "levels": list(self.levels),
                "categories": list(self.categories),
                "colours": {lvl: self.colour(lvl) for lvl in self.levels}}
