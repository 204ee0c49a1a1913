"""An operation's glossary as TBX, the terminology exchange format (ISO 30042), both ways.

Written as TBX-Basic in its current, DCA style (``<tbx>``, one ``<conceptEntry>`` per
term, a ``<langSec xml:lang>`` per language, its ``<term>`` and, where the glossary has
one, ``<termNote type="grammaticalGender">``; the note as ``<note>``). Read in that
style and in the older one terminology tools still export (``<martif>``, ``<termEntry>``,
``<langSet>``, ``<tig>``). A do-not-translate entry is one whose ``<conceptEntry>`` carries
``<descrip type="x-doNotTranslate">yes</descrip>`` (TBX has no category for it; this
private one is what the hub reads back, and other tools keep as they find it).

Read with defusedxml (no entities, no external references), at most
:data:`MAX_ELEMENTS` elements; a file that cannot be read is refused naming why. Pure.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from channels.languages import MAX_TERMS, GlossaryBody, GlossaryDoc, TermBody
from hub.bodies import convert
from hub.errors import BadRequest

__all__ = ["MAX_ELEMENTS", "glossary_tbx", "parse_glossary_tbx"]

TBX_NS = "urn:iso:std:iso:30042:ed-2"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DO_NOT_TRANSLATE = "x-doNotTranslate"
GENDERS = {"m": "masculine", "f": "feminine"}
#: Elements a TBX file may have (5,000 terms in several languages fit).
MAX_ELEMENTS = 200_000


def glossary_tbx(doc: GlossaryDoc, title: str) -> bytes:
    """The glossary as a TBX-Basic (DCA) document."""
    root = Element("tbx", {"style": "dca", "type": "TBX-Basic", XML_LANG: "en",
                           "xmlns": TBX_NS})
    source = SubElement(SubElement(SubElement(root, "tbxHeader"), "fileDesc"), "sourceDesc")
    SubElement(source, "p").text = f"{title}, glossary version {doc['version']}"
    body = SubElement(SubElement(root, "text"), "body")
    for i, term in enumerate(doc["terms"], 1):
        entry = SubElement(body, "conceptEntry", {"id": f"c{i}"})
        if term["keep"]:
            SubElement(entry, "descrip", {"type": DO_NOT_TRANSLATE}).text = "yes"
        if term["note"]:
            SubElement(entry, "note").text = term["note"]
        for lang, text in sorted(term["forms"].items()):
            sec = SubElement(SubElement(entry, "langSec", {XML_LANG: lang}), "termSec")
            SubElement(sec, "term").text = text
            if lang in term["genders"]:
                SubElement(sec, "termNote", {"type": "grammaticalGender"}).text = \
                    GENDERS[term["genders"][lang]]
    written: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + written


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_glossary_tbx(data: bytes) -> GlossaryBody:
    """The glossary a TBX file holds; BadRequest naming what is wrong otherwise."""
    try:
        root = safe_xml.fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError) as exc:
        raise BadRequest(f"glossary TBX: not a TBX document ({type(exc).__name__})") from None
    if _local(root.tag) not in ("tbx", "martif"):
        raise BadRequest("glossary TBX: the root element must be <tbx> or <martif>")
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise BadRequest(f"glossary TBX: more than {MAX_ELEMENTS} elements")
    terms: list[TermBody] = []
    entries = [e for e in root.iter() if _local(e.tag) in ("conceptEntry", "termEntry")]
    if len(entries) > MAX_TERMS:
        raise BadRequest(f"glossary TBX: more than {MAX_TERMS} terms")
    for number, entry in enumerate(entries, 1):
        terms.append(_term(number, entry))
    return GlossaryBody(terms=terms)


def _term(number: int, entry: Element) -> TermBody:
    keep = any(_local(d.tag) == "descrip" and d.get("type") == DO_NOT_TRANSLATE
               and (d.text or "").strip().lower() == "yes" for d in entry)
    notes = [(n.text or "").strip() for n in entry if _local(n.tag) == "note"]
    forms: dict[str, str] = {}
    genders: dict[str, str] = {}
    for sec in entry:
        if _local(sec.tag) not in ("langSec", "langSet"):
            continue
        lang = (sec.get(XML_LANG) or sec.get("lang") or "").split("-")[0].lower()
        for holder in sec:
            if _local(holder.tag) not in ("termSec", "tig", "ntig"):
                continue
            term = next((t for t in holder.iter() if _local(t.tag) == "term"), None)
            if term is None or lang in forms:
                continue  # the first term of a language is its agreed form
            forms[lang] = "".join(term.itertext()).strip()
            for note in holder.iter():
                if _local(note.tag) == "termNote" and note.get("type") == "grammaticalGender":
                    said = (note.text or "").strip().lower()
                    genders[lang] = {"masculine": "m", "feminine": "f"}.get(said, said)
    if keep:
        forms, genders = dict(list(forms.items())[:1]), {}
    try:
        return convert({"forms": forms, "keep": keep, "genders": genders,
                        "note": "; ".join(n for n in notes if n)[:500]}, TermBody)
    except BadRequest as exc:
        raise BadRequest(f"glossary TBX: entry {number}: {exc.message}") from None
