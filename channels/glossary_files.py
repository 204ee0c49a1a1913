"""An operation's glossary as a CSV file, both ways. Pure, no I/O.

One row per term; the header names the columns: a language code each ("en", "es"),
holding the term's agreed form in that language, and optionally ``keep`` ("yes": a
do-not-translate entry, whose one text is in any language column), ``note``, and
``gender:<code>`` ("m" or "f"). Spreadsheets open such files: a cell that starts with
``=``, ``+``, ``-``, ``@`` or a tab is written with a leading ``'`` so no spreadsheet
runs it as a formula (as is one that starts with ``'``), and that ``'`` is dropped again
when the file is read.
A file that cannot be read is refused naming its row and column.
"""

from __future__ import annotations

import csv
import io
import re

from channels.languages import MAX_TERMS, GlossaryBody, GlossaryDoc, TermBody
from hub.bodies import convert
from hub.errors import BadRequest

__all__ = ["glossary_csv", "parse_glossary_csv"]

_LANG = re.compile(r"[a-z]{2,3}")
_GENDER = re.compile(r"gender:([a-z]{2,3})")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
        "false": False, "0": False, "": False}


def _cell(value: str) -> str:
    return "'" + value if value.startswith((*_FORMULA, "'")) else value


def _uncell(value: str) -> str:
    value = value.strip()
    quoted = value.startswith("'") and value[1:].startswith((*_FORMULA, "'"))
    return value[1:] if quoted else value


def glossary_csv(doc: GlossaryDoc) -> str:
    """The glossary as CSV (UTF-8 text, CRLF line ends, as RFC 4180 has it)."""
    langs = sorted({lang for t in doc["terms"] for lang in t["forms"]}) or ["en"]
    genders = sorted({lang for t in doc["terms"] for lang in t["genders"]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*langs, "keep", *(f"gender:{g}" for g in genders), "note"])
    for t in doc["terms"]:
        writer.writerow([*(_cell(t["forms"].get(lang, "")) for lang in langs),
                         "yes" if t["keep"] else "",
                         *(t["genders"].get(g, "") for g in genders), _cell(t["note"])])
    return out.getvalue()


def parse_glossary_csv(text: str) -> GlossaryBody:
    """The glossary a CSV file holds; BadRequest naming the row and column otherwise."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise BadRequest(f"glossary CSV: {exc}") from None
    if not rows:
        raise BadRequest("glossary CSV: empty; the first row names the columns")
    header = [h.strip().lower() for h in rows[0]]
    for col, name in enumerate(header, 1):
        if not (_LANG.fullmatch(name) or _GENDER.fullmatch(name) or name in ("keep", "note")):
            raise BadRequest(f"glossary CSV: row 1, column {col} ({name!r}): a language "
                             "code (en, es...), keep, note or gender:<code>")
    if len(set(header)) != len(header):
        raise BadRequest("glossary CSV: row 1 names a column twice")
    if not any(_LANG.fullmatch(h) for h in header):
        raise BadRequest("glossary CSV: row 1 names no language column")
    terms: list[TermBody] = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise BadRequest(f"glossary CSV: row {number} has {len(row)} cells for "
                             f"{len(header)} columns")
        if len(terms) == MAX_TERMS:
            raise BadRequest(f"glossary CSV: more than {MAX_TERMS} terms")
        terms.append(_term(number, dict(zip(header, row, strict=False))))
    return GlossaryBody(terms=terms)


def _term(number: int, cells: dict[str, str]) -> TermBody:
    forms = {k: _uncell(v) for k, v in cells.items() if _LANG.fullmatch(k) and v.strip()}
    keep = _YES.get(cells.get("keep", "").strip().lower())
    if keep is None:
        raise BadRequest(f"glossary CSV: row {number}, column 'keep': yes or no")
    if keep:  # one text, whichever column it was put in
        forms = dict(list(forms.items())[:1]) if len(set(forms.values())) == 1 else forms
    genders = {m.group(1): v.strip().lower() for k, v in cells.items()
               if (m := _GENDER.fullmatch(k)) and v.strip()}
    raw = {"forms": forms, "keep": keep, "genders": genders,
           "note": _uncell(cells.get("note", ""))}
    try:
        return convert(raw, TermBody)
    except BadRequest as exc:
        raise BadRequest(f"glossary CSV: row {number}: {exc.message}") from None
