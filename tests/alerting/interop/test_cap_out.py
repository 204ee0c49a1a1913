"""alerting/interop/cap_out.py: every case and alert as a CAP 1.2 document the OASIS schema
accepts."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerting.interop.cap_in import NS, read_cap, schema
from alerting.interop.cap_out import (
    ATOM,
    FeedEntry,
    InLanguage,
    alert_document,
    atom_feed,
    cap_time,
    case_document,
)

Q = f"{{{NS}}}"
CASE: dict[str, Any] = {
    "id": "case_abc", "title": "Levee breach at Kerns", "description": "Water over the road",
    "category": "incident", "severity": "critical", "status": "open", "exercise": False,
    "location": {"place": "Kerns levee", "lat": 47.05, "lon": 8.31},
    "reporting_agency": "POLICE", "created_at": 1795000000.0, "updated_at": 1795000000.0}
ALERT: dict[str, Any] = {
    "id": "al-x-1", "summary": "Levee breach at Kerns is critical", "details": "",
    "state": "firing",
    "severity": "critical", "case_id": "case_abc", "exercise": False, "occurrences": 1,
    "first_at": 1795000100.0, "last_at": 1795000100.0, "acked_at": None, "resolved_at": None}


def valid(doc: bytes) -> Element:
    root = fromstring(doc, forbid_dtd=True)
    errors = list(schema().iter_errors(root))
    assert errors == [], [str(e) for e in errors[:3]]
    return root


def text(root: Element, path: str) -> str | None:
    found = root.find(path.replace("/", f"/{Q}").replace("./", "./") if "/" in path
                      else f"{Q}{path}")
    return found.text if found is not None else None


def doc_of(case: dict[str, Any], version: int = 1) -> Element:
    return valid(case_document(case, version, sender="hub.example", op_id="op_1",
                               op_name="OP-A Alpha", web="https://hub.example/#op=op_1"))


def test_a_new_case_is_an_actual_alert_with_its_area() -> None:
    root = doc_of(CASE)
    assert text(root, "status") == "Actual" and text(root, "msgType") == "Alert"
    assert text(root, "identifier") == "hub.example:op_1:case:case_abc:1"
    assert text(root, "sent") == "2026-11-18T11:06:40+00:00" == cap_time(1795000000.0)
    assert root.find(f"{Q}references") is None
    info = root.find(f"{Q}info")
    assert info is not None
    assert info.findtext(f"{Q}severity") == "Extreme"
    assert info.findtext(f"{Q}headline") == "Levee breach at Kerns"
    assert info.findtext(f"{Q}area/{Q}circle") == "47.05,8.31 0"
    assert info.findtext(f"{Q}area/{Q}areaDesc") == "Kerns levee"


def test_later_versions_update_or_cancel_and_reference_the_first_message() -> None:
    update = doc_of({**CASE, "updated_at": 1795000500.0, "status": "in_progress"}, 3)
    assert text(update, "msgType") == "Update"
    assert text(update, "references") == \
        "hub.example,hub.example:op_1:case:case_abc:1,2026-11-18T11:06:40+00:00"
    resolved = doc_of({**CASE, "status": "resolved"}, 4)
    info = resolved.find(f"{Q}info")
    assert info is not None and info.findtext(f"{Q}urgency") == "Past"
    assert info.findtext(f"{Q}responseType") == "AllClear"
    closed = doc_of({**CASE, "status": "closed"}, 5)
    assert text(closed, "msgType") == "Cancel" and text(closed, "note")


def test_an_exercise_is_never_actual() -> None:
    assert text(doc_of({**CASE, "exercise": True}), "status") == "Exercise"
    alert = valid(alert_document({**ALERT, "exercise": True}, 2, sender="s", op_id="o",
                                 op_name="n", web="https://h/"))
    assert text(alert, "status") == "Exercise" and text(alert, "msgType") == "Update"


def test_an_alert_takes_its_cases_area_and_its_state() -> None:
    root = valid(alert_document({**ALERT, "state": "resolved", "resolved_at": 1795000900.0}, 4,
                                sender="s", op_id="o", op_name="n", web="https://h/",
                                case=CASE))
    info = root.find(f"{Q}info")
    assert info is not None and info.findtext(f"{Q}urgency") == "Past"
    assert info.findtext(f"{Q}area/{Q}areaDesc") == "Kerns levee"
    assert text(root, "sent") == cap_time(1795000900.0)


def test_an_alert_carries_one_info_per_language_with_the_hub_s_own_event_word() -> None:
    root = valid(alert_document(
        {**ALERT, "summary": "Dique roto en Kerns", "details": "Agua en la carretera"}, 1,
        sender="s", op_id="o", op_name="n", web="https://h/", case=CASE, language="es",
        translations=[InLanguage("en", "Dike broken in Kerns", "Water on the road"),
                      InLanguage("fr", "Digue rompue à Kerns", "")]))
    infos = root.findall(f"{Q}info")
    assert [(i.findtext(f"{Q}language"), i.findtext(f"{Q}event"), i.findtext(f"{Q}headline"))
            for i in infos] == [("es", "Alerta", "Dique roto en Kerns"),
                                ("en", "Alert", "Dike broken in Kerns"),
                                ("fr", "Alerte", "Digue rompue à Kerns")]
    # The structured fields are the same in every block.
    assert {i.findtext(f"{Q}severity") for i in infos} == {"Extreme"}
    assert {i.findtext(f"{Q}area/{Q}areaDesc") for i in infos} == {"Kerns levee"}
    assert [i.findtext(f"{Q}description") for i in infos][:2] == \
        ["Agua en la carretera", "Water on the road"]


def test_what_the_hub_writes_it_can_read_back() -> None:
    doc = case_document(CASE, 1, sender="hub.example", op_id="op_1", op_name="A",
                        web="https://hub.example/")
    message = read_cap(doc)
    assert message.status == "Actual" and message.infos[0].headline == CASE["title"]


TEXT = st.text(max_size=300)


@settings(max_examples=150, suppress_health_check=list(HealthCheck))
@given(title=TEXT.filter(str.strip), description=TEXT, place=st.none() | TEXT,
       severity=st.sampled_from(["info", "minor", "major", "critical"]),
       status=st.sampled_from(["open", "in_progress", "resolved", "closed"]),
       category=st.sampled_from(["incident", "request", "complaint", "casualty", "detention",
                                 "other"]),
       exercise=st.booleans(), version=st.integers(1, 10_000),
       at=st.floats(0, 4_000_000_000), point=st.none() | st.tuples(
           st.floats(-90, 90), st.floats(-180, 180)))
def test_any_case_makes_a_document_the_schema_accepts(
        title: str, description: str, place: str | None, severity: str, status: str,
        category: str, exercise: bool, version: int, at: float,
        point: tuple[float, float] | None) -> None:
    location: dict[str, Any] = {}
    if place:
        location["place"] = place
    if point:
        location["lat"], location["lon"] = point
    case = {**CASE, "title": title, "description": description, "severity": severity,
            "status": status, "category": category, "exercise": exercise,
            "location": location or None, "created_at": at, "updated_at": at}
    root = doc_of(case, version)
    assert text(root, "status") == ("Exercise" if exercise else "Actual")


def test_the_atom_feed_links_each_entry_to_its_cap_document() -> None:
    doc = atom_feed([FeedEntry("urn:x:1", "Levee <breach>", 1795000000.0,
                               "https://h/api/operations/o/cap/cases/c", "critical · open")],
                    feed_id="urn:x", title="OP-A", self_href="https://h/feed",
                    updated=1795000000.0)
    root = fromstring(doc, forbid_dtd=True)
    assert root.tag == f"{{{ATOM}}}feed"
    entry = root.find(f"{{{ATOM}}}entry")
    assert entry is not None and entry.findtext(f"{{{ATOM}}}title") == "Levee <breach>"
    link = entry.find(f"{{{ATOM}}}link")
    assert link is not None and link.get("type") == "application/cap+xml"
    assert entry.findtext(f"{{{ATOM}}}updated") == "2026-11-18T11:06:40Z"
