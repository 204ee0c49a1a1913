"""alerting/record/report.py: the export's human-readable page, from records alone.

An export made by a real hub is read back in tests/functional/test_export_functional.py
and test_ledger_functional.py; here the page is rendered from hand-made records so
each part of it (timelines, notices, ledgers, urgent messages, markings, escaping,
language) is checked on its own.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alerting.record.report import LANGUAGES, render

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
META = {"operation": {"id": "op-1", "code": "OP-DELTA", "name": "Flood"},
        "exported_at": T0 + 3600, "exported_by": "olga", "clearance": "SECRET POLICE",
        "counts": {"event": 5, "message": 3}, "withheld": {}}


def event(kind: str, record_id: str, action: str, seq: int, record: dict[str, Any],
          **extra: Any) -> dict[str, Any]:
    return {"type": "event", "kind": kind, "id": record_id, "action": action, "seq": seq,
            "ts": T0 + seq * 60, "actor": "bruno", "version": seq, "record": record, **extra}


def text_of(page: str) -> str:
    """What a reader sees: the page without its tags."""
    parts: list[str] = []

    class Text(HTMLParser):
        def handle_data(self, data: str) -> None:
            parts.append(data)

    Text().feed(page)
    return re.sub(r"\s+", " ", " ".join(parts))


CASE = {"id": "case-1", "title": "Levee breach", "severity": "critical", "exercise": True}
ALERT = {"id": "al-1", "summary": "Levee breach is critical", "severity": "critical",
         "state": "acknowledged", "ack_agencies": ["ARMY", "POLICE"],
         "told": {"ARMY": T0 + 180, "POLICE": T0 + 180},
         "acks": {"ARMY": {"by": "bruno", "at": T0 + 300}}}
RECORDS = [
    event("case", "case-1", "created", 1, CASE),
    event("case", "case-1", "updated", 2, CASE, changes={"severity": ["major", "critical"]}),
    event("case", "case-1", "commented", 3, CASE, comment={"text": "Army on site"}),
    event("alert", "al-1", "notified", 4, ALERT,
          notice={"step": 0, "at": T0 + 180, "users": ["bruno", "pia"], "channels": ["ops"]}),
    {"type": "channel", "id": "ch-1", "exercise": False},
    {"type": "message", "channel": "ch-1", "channel_name": "ops", "seq": 7, "ts": T0 + 100,
     "priority": "urgent", "sender_name": "Pia", "text": "Water over the road"},
    {"type": "message", "channel": "ch-1", "seq": 8, "ts": T0 + 160, "ack_of": 7,
     "agency": "ARMY", "sender": "bruno"},
    {"type": "message", "channel": "ch-1", "seq": 9, "ts": T0 + 200, "ack_of": 7,
     "agency": "ARMY", "sender": "later"},
]


def test_each_case_has_its_timeline_and_each_alert_its_notices_and_ledger() -> None:
    shown = text_of(render(META, RECORDS))
    assert "OP-DELTA Flood: record of the operation" in shown
    assert "[EXERCISE] Levee breach (case-1)" in shown
    assert "severity: major → critical" in shown and "comment: Army on site" in shown
    assert "2026-01-01 00:03:00 UTC 1 bruno, pia ops" in shown  # the notice, step 1
    # the ledger: ARMY acknowledged two minutes after it was told, POLICE still pending
    assert "ARMY 2026-01-01 00:03:00 UTC 2026-01-01 00:05:00 UTC bruno 2 min 0 s" in shown
    assert "POLICE 2026-01-01 00:03:00 UTC — — pending" in shown


def test_an_urgent_message_lists_the_first_acknowledgement_of_each_agency() -> None:
    shown = text_of(render(META, RECORDS))
    assert "#ops · 2026-01-01 00:01:40 UTC · Pia" in shown and "Water over the road" in shown
    assert "ARMY 2026-01-01 00:01:40 UTC 2026-01-01 00:02:40 UTC bruno 1 min 0 s" in shown
    assert "later" not in shown


def test_an_empty_record_says_so_and_what_was_left_out_is_counted() -> None:
    meta = {**META, "withheld": {"SECRET REL POLICE": 4}}
    shown = text_of(render(meta, []))
    assert "No cases." in shown and "No alerts." in shown and "No urgent messages." in shown
    assert "SECRET REL POLICE 4" in shown
    assert "Nothing was left out." in text_of(render(META, []))


def test_the_page_is_in_the_reader_s_language_and_the_records_as_written() -> None:
    page = render(META, RECORDS, lang="fr")
    assert page.startswith('<!doctype html><html lang="fr">')
    shown = text_of(page)
    assert "Dossiers" in shown and "[EXERCICE] Levee breach" in shown
    assert render(META, [], lang="xx").startswith('<!doctype html><html lang="en">')
    assert set(LANGUAGES) == {"en", "fr"}


def test_a_real_world_message_in_an_exercise_operation_is_marked_real() -> None:
    records = [{"type": "operation", "exercise": True}, {"type": "channel", "id": "ch-1"},
               {**RECORDS[5], "real_world": True},
               {**RECORDS[5], "seq": 10, "text": "Drill: sandbags"}]
    shown = text_of(render(META, records))
    assert "[REAL WORLD] #ops" in shown and "[EXERCISE] #ops" in shown


@given(st.text(max_size=40))
def test_no_record_content_becomes_markup(payload: str) -> None:
    hostile = f"<script>alert(1)</script>{payload}<img src=x onerror=alert(2)>"
    case = {**CASE, "title": hostile}
    message = {**RECORDS[5], "text": hostile, "sender_name": hostile}
    page = render({**META, "exported_by": hostile}, [event("case", "c", "created", 1, case),
                                                     RECORDS[4], message])
    assert "<script" not in page and "<img" not in page
    assert page.count("<") == render(META, [event("case", "c", "created", 1, CASE),
                                            RECORDS[4], RECORDS[5]]).count("<")
