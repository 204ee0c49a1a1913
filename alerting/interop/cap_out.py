"""OASIS CAP 1.2 documents out, and the Atom feed CAP consumers read. No I/O.

Every case and alert at or above the deployment's ``cap_min_severity`` is a
CAP ``<alert>``: one message per version of the record, identified as
``<sender>:<operation>:<kind>:<id>:<version>``. Version 1 is an ``Alert``;
later versions are ``Update``s that reference the first message; a closed
case is a ``Cancel``. A resolved alert or case is an ``Update`` with urgency
``Past`` and response ``AllClear``. An exercise is ``<status>Exercise``,
never ``Actual``. The scope is ``Restricted``: the documents are served to
the operation's members only. A case's files are ``<resource>``s: name, type, size,
the link its readers fetch it by and its SHA-1 ``digest`` (the hash CAP 1.2 names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from alerting.interop.cap_in import NS
from alerting.vocabulary import SEVERITY_RANK
from hub.labels import marking_of

__all__ = ["ATOM", "CATEGORY_OUT", "EVENT_WORDS", "SEVERITY_OUT", "FeedEntry", "InLanguage",
           "Resource", "alert_document", "atom_feed", "cap_time", "case_document",
           "shown_as_cap"]

ATOM = "http://www.w3.org/2005/Atom"
SEVERITY_OUT = {"critical": "Extreme", "major": "Severe", "minor": "Moderate", "info": "Minor"}
CATEGORY_OUT = {"incident": "Safety", "casualty": "Rescue", "detention": "Security",
                "request": "Other", "complaint": "Other", "other": "Other"}
#: A case's category (or "alert": an alert) as CAP's <event> says it, per language (the
#: hub's own words, never machine translated); a language not here says it in English.
EVENT_WORDS: dict[str, dict[str, str]] = {
    "en": {"incident": "Incident", "casualty": "Casualty", "detention": "Detention",
           "request": "Request", "complaint": "Complaint", "other": "Other",
           "alert": "Alert"},
    "es": {"incident": "Incidente", "casualty": "Víctima", "detention": "Detención",
           "request": "Solicitud", "complaint": "Queja", "other": "Otro",
           "alert": "Alerta"},
    "fr": {"incident": "Incident", "casualty": "Victime", "detention": "Détention",
           "request": "Demande", "complaint": "Plainte", "other": "Autre",
           "alert": "Alerte"},
}


@dataclass(frozen=True, slots=True)
class InLanguage:
    """A case's or an alert's texts in one more language, for one more <info> block."""

    language: str
    headline: str
    description: str


@dataclass(frozen=True, slots=True)
class FeedEntry:
    entry_id: str
    title: str
    updated: float
    href: str
    summary: str


@dataclass(frozen=True, slots=True)
class Resource:
    """A file as CAP's ``<resource>``: ``digest`` is its SHA-1, in hex."""

    desc: str
    mime: str
    size: int
    uri: str
    digest: str


def cap_time(ts: float) -> str:
    """A CAP date-time: seconds, an explicit offset (the schema refuses a trailing Z)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def shown_as_cap(record: Mapping[str, Any], minimum: str) -> bool:
    return SEVERITY_RANK.get(str(record.get("severity")), 0) >= SEVERITY_RANK[minimum]


#: Characters XML 1.0 cannot carry (they may sit in a case's text): left out.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _el(parent: Element, name: str, text: object) -> Element:
    child = SubElement(parent, name)
    child.text = _NOT_XML.sub("", str(text))
    return child


def _message(*, sender: str, op_id: str, kind: str, record_id: str, version: int,
             first_at: float, sent_at: float, exercise: bool, msg_type: str,
             note: str = "", marking: str = "", real_world: bool = False) -> Element:
    root = Element("alert", {"xmlns": NS})  # children unqualified: in the default namespace
    identifier = f"{sender}:{op_id}:{kind}:{record_id}:{{}}"
    _el(root, "identifier", identifier.format(version))
    _el(root, "sender", sender)
    _el(root, "sent", cap_time(sent_at))
    _el(root, "status", "Exercise" if exercise else "Actual")
    _el(root, "msgType", msg_type)
    _el(root, "source", "Liaison Hub")
    _el(root, "scope", "Restricted")
    _el(root, "restriction", "Members of the operation only"
        + (f", cleared for {marking}" if marking else ""))
    if real_world:  # never to be taken for play: Actual, and said in words
        note = " ".join(filter(None, [REAL_WORLD_NOTE, note]))
    if note:
        _el(root, "note", note)
    if version > 1:
        _el(root, "references", f"{sender},{identifier.format(1)},{cap_time(first_at)}")
    _el(root, "incidents", f"{op_id}:{kind}:{record_id}")
    return root


def _info(root: Element, *, category: str, event: str, urgency: str, severity: str,
          certainty: str, sender_name: str, headline: str, description: str, web: str,
          response: str = "", parameters: Sequence[tuple[str, str]] = (),
          resources: Sequence[Resource] = (),
          location: Mapping[str, Any] | None = None, language: str = "en") -> None:
    info = SubElement(root, "info")
    _el(info, "language", language)
    _el(info, "category", category)
    _el(info, "event", event)
    if response:
        _el(info, "responseType", response)
    _el(info, "urgency", urgency)
    _el(info, "severity", severity)
    _el(info, "certainty", certainty)
    _el(info, "senderName", sender_name)
    _el(info, "headline", headline[:160])
    if description:
        _el(info, "description", description)
    if web:
        _el(info, "web", web)
    for name, value in parameters:
        parameter = SubElement(info, "parameter")
        _el(parameter, "valueName", name)
        _el(parameter, "value", value)
    for r in resources:
        resource = SubElement(info, "resource")
        for name, value in (("resourceDesc", r.desc), ("mimeType", r.mime),
                            ("size", str(r.size)), ("uri", r.uri), ("digest", r.digest)):
            _el(resource, name, value)
    if location and (location.get("place") or "lat" in location):
        area = SubElement(info, "area")
        has_point = isinstance(location.get("lat"), int | float)
        _el(area, "areaDesc", location.get("place") or
            f"{location.get('lat')},{location.get('lon')}")
        if has_point:
            _el(area, "circle", f"{location['lat']},{location['lon']} 0")


def _bytes(root: Element) -> bytes:
    text = tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode("utf-8")


#: What a real event raised during an exercise says in CAP, beside status Actual.
REAL_WORLD_NOTE = "REAL WORLD: a real event raised during an exercise. This is not play."


def _real(record: Mapping[str, Any]) -> str:
    return "REAL WORLD: " if record.get("real_world") else ""


def case_document(case: Mapping[str, Any], version: int, *, sender: str, op_id: str,
                  op_name: str, web: str, resources: Sequence[Resource] = (),
                  language: str = "en", translations: Sequence[InLanguage] = ()) -> bytes:
    """A case as a CAP 1.2 alert: one <info> in its own ``language``, and one more per
    translation, as CAP means several <info> blocks to be: the same message in several
    languages (the structured fields the same, the words in each language)."""
    status = case.get("status", "open")
    done = status in ("resolved", "closed")
    msg_type = "Alert" if version == 1 else "Cancel" if status == "closed" else "Update"
    root = _message(sender=sender, op_id=op_id, kind="case", record_id=str(case["id"]),
                    version=version, first_at=float(case.get("created_at") or 0),
                    sent_at=float(case.get("updated_at") or 0),
                    exercise=bool(case.get("exercise")), msg_type=msg_type,
                    note="The case was closed in the hub." if msg_type == "Cancel" else "",
                    marking=marking_of(case.get("label")),
                    real_world=bool(case.get("real_world")))
    location = case.get("location") or {}
    category = str(case.get("category") or "incident")
    texts = [InLanguage(language, str(case.get("title") or ""),
                        str(case.get("description") or "")), *translations]
    for said in texts:
        words = EVENT_WORDS.get(said.language, EVENT_WORDS["en"])
        _info(root, category=CATEGORY_OUT.get(category, "Other"),
              event=words.get(category, category.capitalize()),
              urgency="Past" if done else "Immediate",
              severity=SEVERITY_OUT.get(str(case.get("severity")), "Unknown"),
              certainty="Observed", sender_name=f"Liaison Hub, {op_name}",
              headline=_real(case) + said.headline, description=said.description,
              web=web, response="AllClear" if done else "",
              parameters=[("status", str(status)),
                          ("reporting_agency", str(case.get("reporting_agency") or ""))],
              resources=resources, location=location, language=said.language)
    return _bytes(root)


def alert_document(alert: Mapping[str, Any], version: int, *, sender: str, op_id: str,
                   op_name: str, web: str, case: Mapping[str, Any] | None = None,
                   resources: Sequence[Resource] = (), language: str = "en",
                   translations: Sequence[InLanguage] = ()) -> bytes:
    """An alert as a CAP 1.2 alert: one <info> in its own ``language`` and one more per
    translation of its summary and details (as :func:`case_document`)."""
    state = alert.get("state", "firing")
    root = _message(sender=sender, op_id=op_id, kind="alert", record_id=str(alert["id"]),
                    version=version, first_at=float(alert.get("first_at") or 0),
                    sent_at=max(float(alert.get(k) or 0) for k in
                                ("last_at", "acked_at", "resolved_at", "first_at")),
                    exercise=bool(alert.get("exercise")),
                    msg_type="Alert" if version == 1 else "Update",
                    marking=marking_of(alert.get("label")),
                    real_world=bool(alert.get("real_world")))
    urgency = {"firing": "Immediate", "acknowledged": "Expected"}.get(str(state), "Past")
    texts = [InLanguage(language, str(alert.get("summary") or ""),
                        str(alert.get("details") or "")), *translations]
    for said in texts:
        _info(root, category=CATEGORY_OUT.get(str((case or {}).get("category")), "Other"),
              event=EVENT_WORDS.get(said.language, EVENT_WORDS["en"])["alert"],
              urgency=urgency,
              severity=SEVERITY_OUT.get(str(alert.get("severity")), "Unknown"),
              certainty="Observed" if alert.get("case_id") else "Likely",
              sender_name=f"Liaison Hub, {op_name}",
              headline=_real(alert) + said.headline, description=said.description, web=web,
              response="AllClear" if state == "resolved" else "",
              parameters=[("state", str(state)),
                          ("occurrences", str(alert.get("occurrences", 1)))],
              resources=resources, location=(case or {}).get("location"),
              language=said.language)
    return _bytes(root)


def atom_feed(entries: Sequence[FeedEntry], *, feed_id: str, title: str, self_href: str,
              updated: float) -> bytes:
    """An Atom feed whose entries link to CAP documents (as CAP aggregators read them)."""
    feed = Element("feed", {"xmlns": ATOM})

    def add(parent: Element, name: str, text: str | None = None, **attrs: str) -> Element:
        child = SubElement(parent, name, attrs)
        if text is not None:
            child.text = _NOT_XML.sub("", text)
        return child

    add(feed, "id", feed_id)
    add(feed, "title", title)
    add(feed, "updated", _atom_time(updated))
    add(feed, "link", rel="self", href=self_href)
    author = add(feed, "author")
    add(author, "name", "Liaison Hub")
    for entry in entries:
        item = add(feed, "entry")
        add(item, "id", entry.entry_id)
        add(item, "title", entry.title)
        add(item, "updated", _atom_time(entry.updated))
        add(item, "summary", entry.summary)
        add(item, "link", rel="alternate", type="application/cap+xml", href=entry.href)
    text = tostring(feed, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode("utf-8")


def _atom_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
