"""OASIS CAP 1.2 documents in: parsed safely, validated, mapped onto a case. No I/O.

A public warning system posts a CAP ``<alert>``. :func:`read_cap` parses it
with :mod:`defusedxml` (no DTD, no entity, nothing external: XXE and
entity-expansion bombs are refused before any expansion), validates it
against the OASIS schema (``alerting/interop/schema/cap-v1.2.xsd``) and returns a
:class:`CapMessage`. :func:`case_data` turns that into the body of a hub case:
the headline (or event) as title, every ``info`` block in its own language
in the description, the most severe ``severity`` mapped by
:data:`SEVERITY_IN`, the first ``area`` as location (a circle's centre, a
polygon's centroid, geocodes and ``areaDesc`` as the place), and the CAP
values a reader needs (event, urgency, certainty, instruction, web...) as
case fields.

``status``: ``Actual`` is real; ``Exercise`` and ``Test`` become exercise
cases (never shown as real); ``System`` and ``Draft`` are not events and are
refused, as are ``msgType`` ``Ack`` and ``Error``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from hub.errors import BadRequest
from hub.language.codes import language_tag

__all__ = ["NS", "SCHEMA_PATH", "SEVERITY_IN", "CapArea", "CapInfo", "CapMessage", "case_data",
           "location_of", "message_key", "parse_within_budget", "read_cap", "schema"]

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "cap-v1.2.xsd"
SEVERITY_IN = {"Extreme": "critical", "Severe": "major", "Moderate": "minor", "Minor": "info",
               "Unknown": "info"}
_RANK = ["Unknown", "Minor", "Moderate", "Severe", "Extreme"]
_TAKEN = {"Actual": False, "Exercise": True, "Test": True}  # status -> exercise
_Q = f"{{{NS}}}"


@dataclass(frozen=True, slots=True)
class CapArea:
    desc: str
    polygons: list[str] = field(default_factory=list)
    circles: list[str] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CapInfo:
    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    sender_name: str = ""
    areas: list[CapArea] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CapMessage:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    references: list[tuple[str, str, str]]
    note: str
    infos: list[CapInfo]

    @property
    def exercise(self) -> bool:
        return _TAKEN[self.status]


@functools.cache
def schema() -> xmlschema.XMLSchema:
    """The OASIS CAP 1.2 schema, read once."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def message_key(sender: str, identifier: str, poster: str) -> str:
    """A CAP message's identity as a short record id: its sender and identifier as
    posted by ``poster`` (the hub user or bot whose credential sent it).

    The poster is part of it because the sender is only what the document says:
    another credential's message with the same sender and identifier is another
    message, and can neither stand in for this one nor update or cancel it.
    """
    both = json.dumps([poster, sender, identifier]).encode()
    return "cap-" + hashlib.sha256(both).hexdigest()[:32]


#: What a CAP document may hold before any schema work is done on it (a real warning
#: is far below each): the schema checker's cost grows with these, faster than
#: linearly for attributes, so a document past one is refused unchecked.
MAX_ELEMENTS = 5000
MAX_DEPTH = 12
#: CAP 1.2 elements carry no attributes; a few (xsi:schemaLocation) are let through.
MAX_ATTRIBUTES = 4
#: References one Update or Cancel may name (each is a look-up in the store).
MAX_REFERENCES = 100


class _Budgeted(TreeBuilder):
    """Builds the tree while counting, and stops the parse at the first element past
    the budget: a swollen document costs the parser no more than the budget allows."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._count += 1
        self._depth += 1
        if self._count > MAX_ELEMENTS:
            raise BadRequest(f"more than {MAX_ELEMENTS} elements: not a CAP alert the hub takes")
        if self._depth > MAX_DEPTH:
            raise BadRequest(f"elements nested deeper than {MAX_DEPTH}: not a CAP alert")
        if len(attrs) > MAX_ATTRIBUTES:
            name = tag.rpartition("}")[2]
            raise BadRequest(f"<{name}> has {len(attrs)} attributes: CAP 1.2 "
                             f"elements carry none (at most {MAX_ATTRIBUTES} are let through)")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return super().end(tag)


def parse_within_budget(body: bytes) -> Element:
    """Parse ``body`` without DTDs, entities or external references, refusing it at
    the first element past :data:`MAX_ELEMENTS`, :data:`MAX_DEPTH` or
    :data:`MAX_ATTRIBUTES` (each named), before any schema work."""
    parser = DefusedXMLParser(target=_Budgeted(), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(body)
        root: Element = parser.close()
    except DefusedXmlException:
        raise BadRequest("DTDs, entities and external references are refused") from None
    except ParseError as exc:
        line, column = exc.position
        raise BadRequest(f"not well-formed XML at line {line}, column {column + 1}") from None
    except (LookupError, ValueError) as exc:  # an encoding expat does not read
        raise BadRequest(f"the XML declaration names an encoding the hub cannot read "
                         f"({exc}): send UTF-8") from None
    return root


def read_cap(body: bytes) -> CapMessage:
    """A CAP 1.2 document, parsed without DTDs or entities, held to the budget above,
    then checked against the schema."""
    root = parse_within_budget(body)
    if root.tag != f"{_Q}alert":
        raise BadRequest(f"the root element must be <alert> in namespace {NS}")
    error = next(iter(schema().iter_errors(root)), None)
    if error is not None:
        where = (error.path or "").replace(_Q, "").strip("/") or "alert"
        raise BadRequest(f"not a valid CAP 1.2 alert at {where}: {error.reason}")
    message = CapMessage(
        identifier=_text(root, "identifier"), sender=_text(root, "sender"),
        sent=_text(root, "sent"), status=_text(root, "status"),
        msg_type=_text(root, "msgType"), scope=_text(root, "scope"),
        references=_references(_text(root, "references")), note=_text(root, "note"),
        infos=[_info(e) for e in root.findall(f"{_Q}info")])
    if message.status not in _TAKEN:
        raise BadRequest(f"status {message.status} is not an event: the hub takes Actual, "
                         "Exercise and Test messages")
    if message.msg_type not in ("Alert", "Update", "Cancel"):
        raise BadRequest(f"msgType {message.msg_type}: the hub takes Alert, Update and Cancel")
    if message.msg_type != "Cancel" and not message.infos:
        raise BadRequest(f"a {message.msg_type} message needs an <info> block")
    return message


def _text(parent: Element, name: str) -> str:
    found = parent.find(f"{_Q}{name}")
    return (found.text or "").strip() if found is not None else ""


def _all(parent: Element, name: str) -> list[str]:
    return [(e.text or "").strip() for e in parent.findall(f"{_Q}{name}")]


def _references(text: str) -> list[tuple[str, str, str]]:
    out = []
    triples = text.split()
    if len(triples) > MAX_REFERENCES:
        raise BadRequest(f"references names {len(triples)} messages; the hub follows at "
                         f"most {MAX_REFERENCES}")
    for triple in triples:
        parts = triple.split(",")
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
    return out


def _info(e: Element) -> CapInfo:
    return CapInfo(
        language=_text(e, "language") or "en-US", categories=_all(e, "category"),
        event=_text(e, "event"), urgency=_text(e, "urgency"), severity=_text(e, "severity"),
        certainty=_text(e, "certainty"), headline=_text(e, "headline"),
        description=_text(e, "description"), instruction=_text(e, "instruction"),
        web=_text(e, "web"), sender_name=_text(e, "senderName"),
        areas=[CapArea(desc=_text(a, "areaDesc"), polygons=_all(a, "polygon"),
                       circles=_all(a, "circle"),
                       geocodes=[(_text(g, "valueName"), _text(g, "value"))
                                 for g in a.findall(f"{_Q}geocode")])
               for a in e.findall(f"{_Q}area")])


def _point(text: str) -> tuple[float, float] | None:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        return None
    if math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    return None


def location_of(area: CapArea) -> dict[str, Any] | None:
    """Where an area is, for a case: a circle's centre or a polygon's centroid, and a place."""
    point = None
    for circle in area.circles:
        point = _point(circle.split()[0]) if circle.split() else None
        if point:
            break
    for polygon in ([] if point else area.polygons):
        vertices = [p for p in (_point(v) for v in polygon.split()) if p]
        if len(vertices) > 1 and vertices[0] == vertices[-1]:
            vertices = vertices[:-1]
        if vertices:
            point = (sum(v[0] for v in vertices) / len(vertices),
                     sum(v[1] for v in vertices) / len(vertices))
            break
    codes = ", ".join(f"{name}={value}" for name, value in area.geocodes if value)
    place = " · ".join(p for p in (area.desc, codes) if p)[:200]
    out: dict[str, Any] = {"place": place} if place else {}
    if point:
        out["lat"], out["lon"] = round(point[0], 6), round(point[1], 6)
    return out or None


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def case_data(message: CapMessage) -> dict[str, Any]:
    """The body of the hub case that stands for a CAP message (create or update)."""
    infos = message.infos
    first = infos[0]
    worst = max(infos, key=lambda i: _RANK.index(i.severity) if i.severity in _RANK else 0)
    blocks = []
    for info in infos:
        lines = [f"[{info.language}] {info.headline or info.event}"]
        lines += [text for text in (info.description,) if text]
        if info.instruction:
            lines.append(f"Instruction: {info.instruction}")
        if info.web:
            lines.append(f"More: {info.web}")
        blocks.append("\n".join(lines))
    areas = [a for info in infos for a in info.areas]
    location = next((loc for loc in (location_of(a) for a in areas) if loc), None)
    fields: dict[str, Any] = {
        "cap_sender": message.sender, "cap_identifier": message.identifier,
        "cap_sent": message.sent, "cap_status": message.status,
        "cap_msg_type": message.msg_type, "cap_event": first.event,
        "cap_urgency": worst.urgency, "cap_severity": worst.severity,
        "cap_certainty": worst.certainty,
        "cap_category": " ".join(dict.fromkeys(c for i in infos for c in i.categories)),
        "cap_languages": " ".join(dict.fromkeys(i.language for i in infos)),
    }
    for name, value in (("cap_instruction", first.instruction), ("cap_web", first.web),
                        ("cap_sender_name", first.sender_name)):
        if value:
            fields[name] = value
    data: dict[str, Any] = {
        "title": _short(first.headline or first.event, 200),
        "description": _short("\n\n".join(blocks), 10_000),
        "severity": SEVERITY_IN.get(worst.severity, "info"), "category": "incident",
        "exercise": message.exercise,
        "fields": {k: _short(str(v), 500) for k, v in fields.items() if v},
    }
    if location:
        data["location"] = location
    # Written in one language (every block's, "es-ES" read as "es"): the case says it;
    # blocks in several languages leave it to be detected.
    said = {language_tag(info.language) for info in infos}
    if len(said) == 1 and None not in said:
        data["lang"] = said.pop()
    return data
