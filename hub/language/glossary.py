"""An operation's agreed terms, kept out of a machine translation engine's reach.

Before a text goes to an engine, every span the operation has agreed on is swapped for
a placeholder the engine carries through untouched: a term with its agreed form in each
language ("bank" → es "orilla"), a do-not-translate entry (a call sign, a place, a unit)
and what is never translated anywhere (@mentions, links, e-mail addresses, numbers with
units, call signs such as BRAVO-2, the hub's own ids). After, each placeholder becomes
the agreed form for the target language, or the span as written. A term with no agreed
form in the target language is kept as written and flagged, never guessed.

The placeholders are given names the engines here keep as they are and treat as nouns
(tried on every Apertium pair this hub is tested with), of the grammatical gender the
agreed form has where the glossary says it, so an engine's article agrees ("la
orilla"). A placeholder the engine lost is reported, and the caller shows the original
rather than a translation missing an agreed term. Pure, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "BUILT_IN",
    "Glossary",
    "Protected",
    "Slot",
    "Term",
    "Unprotected",
    "protect",
    "restore",
]

#: What no engine is given in any operation (longest spans are taken first).
BUILT_IN: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("link", re.compile(r"\b(?:https?|ftp)://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("e-mail", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("mention", re.compile(r"(?<![\w@])@[\w][\w.-]*\w|(?<![\w@])@\w")),
    ("hub id", re.compile(r"\b(?:case|alert|msg|op|ch|up|rule|pol|sil)_[A-Za-z0-9_-]{12}\b")),
    ("call sign", re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-[0-9]+[A-Z]?\b")),
    ("quantity", re.compile(
        r"(?<![\w.,])[0-9]+(?:[.,][0-9]+)?\s?(?:km/h|km|m|cm|mm|kg|t|l|h|min|s|°C|%|nm|NM|"
        r"kt|ft|mi|m³|m3|ha)(?!\w)")),
)

#: Placeholder names, by grammatical gender: each kept as is, as a noun, by every
#: Apertium pair the tests run (eng↔spa, fra↔spa), in sentence and after an article.
NAMES: Mapping[str, tuple[str, ...]] = {
    "m": ("Pedro", "Juan", "Carlos", "Pablo", "Xavier", "Jorge", "Miguel", "Diego", "Felipe"),
    "f": ("Elena", "Ana", "Laura", "Isabel", "Teresa", "Julia"),
}


@dataclass(frozen=True, slots=True)
class Term:
    """One glossary entry. ``forms``: the agreed text per language tag. ``keep``: a
    do-not-translate entry, read as written in every language (``forms`` then holds the
    text under any tag). ``genders``: "m" or "f" per language where it matters."""

    forms: Mapping[str, str]
    keep: bool = False
    genders: Mapping[str, str] = field(default_factory=dict)

    def source_forms(self, source: str) -> Iterable[str]:
        if self.keep:
            return self.forms.values()
        form = self.forms.get(source)
        return (form,) if form else ()


@dataclass(frozen=True, slots=True)
class Glossary:
    """An operation's terms at one version (the version a cached translation names)."""

    terms: tuple[Term, ...] = ()
    version: int = 0


@dataclass(frozen=True, slots=True)
class Slot:
    """One protected span: what stood there, what the translation reads there, and
    whether that is a term whose agreed form in the target language is missing."""

    placeholder: str
    written: str
    shown: str
    kind: str
    missing: bool = False


@dataclass(frozen=True, slots=True)
class Protected:
    """The text an engine is given, and the spans to put back after."""

    text: str
    slots: tuple[Slot, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s.written for s in self.slots if s.missing)


@dataclass(frozen=True, slots=True)
class Unprotected:
    """The translation with the agreed spans back; ``lost``: spans the engine dropped."""

    text: str
    lost: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    shown: str | None  # None: as written
    kind: str
    gender: str = "m"
    missing: bool = False


def _term_pattern(form: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in form.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def _candidates(text: str, glossary: Glossary, source: str, target: str) -> list[_Span]:
    found: list[_Span] = []
    for term in glossary.terms:
        for form in term.source_forms(source):
            for m in _term_pattern(form).finditer(text):
                if term.keep:
                    found.append(_Span(m.start(), m.end(), None, "kept"))
                    continue
                agreed = term.forms.get(target)
                found.append(_Span(m.start(), m.end(), agreed, "term",
                                   term.genders.get(target, "m"), missing=agreed is None))
    for kind, pattern in BUILT_IN:
        found.extend(_Span(m.start(), m.end(), None, kind) for m in pattern.finditer(text))
    return found


def _chosen(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping spans, the longest first (then the glossary's before the built-in
    ones, then the leftmost): "north bank" wins over "bank"."""
    order = sorted(spans, key=lambda s: (-(s.end - s.start), s.kind not in ("term", "kept"),
                                         s.start))
    taken: list[_Span] = []
    for span in order:
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken, key=lambda s: s.start)


#: Names an engine may write a placeholder's name for: a text holding one of them
#: ("John said", which becomes "Juan dijo") does not get that placeholder.
COGNATES: Mapping[str, tuple[str, ...]] = {
    "Pedro": ("peter", "pierre", "pete"), "Juan": ("john", "jean", "johan", "jon"),
    "Carlos": ("charles", "carl", "karl", "charlie"), "Pablo": ("paul", "pol"),
    "Xavier": ("javier", "xavi"), "Jorge": ("george", "georges"),
    "Miguel": ("michael", "michel", "mike"), "Diego": ("james", "jacques", "jaime"),
    "Felipe": ("philip", "philippe", "phil"), "Elena": ("helen", "hélène", "helene"),
    "Ana": ("anne", "ann", "anna"), "Laura": ("laure", "lauren"),
    "Isabel": ("elizabeth", "isabelle", "elisabeth"), "Teresa": ("theresa", "thérèse"),
    "Julia": ("julie", "juliette"),
}


def _placeholders(text: str, genders: list[str]) -> list[str]:
    """A placeholder per span, none of which the text already holds as a word, or as a
    name an engine might translate into it."""
    present = {w.lower() for w in re.findall(r"\w+", text)}
    pools = {g: [n for n in names
                 if n.lower() not in present and present.isdisjoint(COGNATES.get(n, ()))]
             for g, names in NAMES.items()}
    numbers = (str(n) for n in range(70_001, 10**9) if str(n) not in present)
    out = []
    for gender in genders:
        pool = pools.get(gender) or pools["m"]
        out.append(pool.pop(0) if pool else next(numbers))
    return out


def protect(text: str, glossary: Glossary, source: str, target: str) -> Protected:
    """``text`` (in ``source``) as an engine translating to ``target`` may see it."""
    spans = _chosen(_candidates(text, glossary, source, target))
    names = _placeholders(text, [s.gender for s in spans])
    parts, slots, at = [], [], 0
    for span, name in zip(spans, names, strict=True):
        written = text[span.start:span.end]
        parts += [text[at:span.start], name]
        slots.append(Slot(name, written, written if span.shown is None else span.shown,
                          span.kind, span.missing))
        at = span.end
    parts.append(text[at:])
    return Protected("".join(parts), tuple(slots))


_SENTENCE_START = re.compile(r"(?:^|[.!?¡¿:]\s+|\n\s*)$")


def restore(translated: str, protected: Protected) -> Unprotected:
    """The engine's ``translated`` text with every placeholder back as its agreed form.
    A form that opens a sentence there opens with a capital letter."""
    lost: list[str] = []
    out = translated
    for slot in protected.slots:
        pattern = re.compile(rf"(?<!\w){re.escape(slot.placeholder)}(?!\w)")
        if pattern.search(out) is None:
            lost.append(slot.written)
            continue

        def shown(m: re.Match[str], slot: Slot = slot) -> str:
            text = slot.shown
            opens = _SENTENCE_START.search(m.string, 0, m.start()) is not None
            if opens and slot.kind == "term" and text[:1].islower():
                return text[:1].upper() + text[1:]
            return text

        out = pattern.sub(shown, out)
    return Unprotected(out, tuple(lost))
