"""The live situational board of an operation: a pure projection of its event log.

The board is rows (one per case, one per active alert) plus the latest
significant events, at a **version**: the seq of the last operation event
folded in. A client gets a snapshot at version V, then applies every
``op_event`` frame with seq V+1, V+2, ... using :func:`apply` — the same
function the server uses, mirrored in ``web/board.js``. Everything else the
board shows (counts by severity x status, the ranking of open cases, which
alerts are active) is derived from the rows by :func:`view`, so the client
and a recomputation from the store cannot drift apart.

Rows carry their record version and :func:`apply` never replaces a newer row
with an older one, which makes folding an event twice harmless: that is what
lets the snapshot read records after it read the log head (see
:meth:`alerting.cases.service.CaseService.board`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, cast

from alerting.documents import LedgerRow
from alerting.pipeline.alerts import ledger, pending_agencies
from alerting.vocabulary import CASE_STATUSES, OPEN_CASE_STATUSES, SEVERITIES, SEVERITY_RANK
from hub.labels import marking_of

__all__ = ["EVENTS_KEPT", "TAIL_EVENTS", "AlertRow", "Board", "BoardView", "CaseRow",
           "EventItem", "alert_row", "apply", "assemble", "case_row", "empty", "event_item",
           "from_frame", "view"]

EVENTS_KEPT = 20
TAIL_EVENTS = 500  # the events log of a snapshot looks this far back


class CaseRow(TypedDict):
    """A case as the board shows it (web/board.js reads the same keys)."""

    id: str
    version: int
    title: str
    severity: str
    status: str
    category: str
    place: str | None
    lat: float | None
    lon: float | None
    assignees: list[str]
    reporting_agency: str
    updated_at: float
    created_at: float
    exercise: bool
    marking: str
    real_world: bool
    #: How many files the case carries, and which is the first photo (its thumbnail is
    #: ``/api/operations/{op}/cases/{id}/files/{photo}?variant=thumbnail``), if any.
    files: int
    photo: int | None


class AlertRow(TypedDict):
    """An alert as the board shows it."""

    id: str
    version: int
    summary: str
    severity: str
    state: str
    case_id: str | None
    source: str | None
    acked_by: str | None
    acked_at: float | None
    step: int | None
    reminder: int
    notified: list[str]
    next_at: float | None
    silenced_by: str | None
    first_at: float
    occurrences: int
    exercise: bool
    marking: str
    real_world: bool
    pending_agencies: list[str]
    ledger: list[LedgerRow]
    informed_agencies: list[str]
    raised_by: str | None
    message_ref: str | None
    summary_words: dict[str, Any] | None


class EventItem(TypedDict):
    """A line of the board's significant-events log."""

    seq: int
    ts: float | None
    kind: str
    action: str
    id: str | None
    actor: str | None
    key: str
    values: dict[str, object]
    text: str
    exercise: bool
    real_world: bool


class Board(TypedDict):
    """An operation's board at ``version`` (the seq of the last event folded in)."""

    operation: str
    version: int
    cases: dict[str, CaseRow]
    alerts: dict[str, AlertRow]
    events: list[EventItem]


class BoardView(TypedDict):
    """What the board shows, derived from its rows (:func:`view`)."""

    operation: str
    version: int
    counts: dict[str, dict[str, int]]
    open_cases: list[CaseRow]
    alerts: list[AlertRow]
    events: list[EventItem]
    online: list[Mapping[str, Any]]


def empty(operation_id: str) -> Board:
    return {"operation": operation_id, "version": 0, "cases": {}, "alerts": {}, "events": []}


def case_row(record: Mapping[str, Any], version: int) -> CaseRow:
    location = record.get("location") or {}
    files = list(record.get("files") or [])
    return {"id": record["id"], "version": version, "title": record.get("title", ""),
            "severity": record.get("severity", "info"), "status": record.get("status", "open"),
            "category": record.get("category", ""), "place": location.get("place"),
            "lat": location.get("lat"), "lon": location.get("lon"),
            "assignees": list(record.get("assignees") or []),
            "reporting_agency": record.get("reporting_agency", ""),
            "updated_at": record.get("updated_at", 0), "created_at": record.get("created_at", 0),
            "exercise": bool(record.get("exercise")), "marking": marking_of(record.get("label")),
            "real_world": bool(record.get("real_world")), "files": len(files),
            "photo": next((i for i, f in enumerate(files) if f.get("thumbnail")), None)}


def alert_row(record: Mapping[str, Any], version: int) -> AlertRow:
    escalation = record.get("escalation") or {}
    notice = record.get("last_notice") or {}
    return {"id": record["id"], "version": version, "summary": record.get("summary", ""),
            "severity": record.get("severity", "major"), "state": record.get("state", "firing"),
            "case_id": record.get("case_id"), "source": record.get("source"),
            "acked_by": record.get("acked_by"), "acked_at": record.get("acked_at"),
            "step": notice.get("step"), "reminder": notice.get("reminder", 0),
            "notified": list(notice.get("users") or []),
            "next_at": escalation.get("next_at"), "silenced_by": record.get("silenced_by"),
            "first_at": record.get("first_at", 0), "occurrences": record.get("occurrences", 1),
            "exercise": bool(record.get("exercise")), "marking": marking_of(record.get("label")),
            "real_world": bool(record.get("real_world")),
            "pending_agencies": pending_agencies(record), "ledger": ledger(record),
            "informed_agencies": list(record.get("informed_agencies") or ()),
            "raised_by": record.get("raised_by"), "message_ref": _message_ref(record),
            "summary_words": record.get("summary_words")}


def _message_ref(record: Mapping[str, Any]) -> str | None:
    """``channel:seq`` of the urgent message an alert is about (the chat shows its
    acknowledgement state from the alert), else None."""
    labels = record.get("labels") or {}
    if record.get("source") != "message" or "channel_id" not in labels:
        return None
    return f"{labels['channel_id']}:{labels.get('message')}"


_TEXTS = {
    "ev.case_created": "new {severity} case: {title}",
    "ev.case_severity": "{title}: severity {from} -> {to}",
    "ev.case_status": "{title}: {status}",
    "ev.alert_fired": "alert: {summary}",
    "ev.alert_acknowledged": "alert acknowledged by {actor}: {summary}",
    "ev.alert_resolved": "alert resolved by {actor}: {summary}",
    "ev.alert_escalated": "alert escalated (step {step}): {summary}",
    "ev.silence": "silence: {reason}",
}


def event_item(frame: Mapping[str, Any]) -> EventItem | None:
    """A line for the significant-events log, or None if the event is routine.

    ``key`` and ``values`` let clients show it in their language (the keys
    are in ``web/i18n.js``); ``text`` is the English line for bots.
    """
    kind, action = frame.get("kind"), frame.get("action")
    record = frame.get("record") or {}
    changes = frame.get("changes") or {}
    key: str | None = None
    values: dict[str, object] = {}
    if kind == "case":
        if action == "created":
            key, values = "ev.case_created", {"title": record.get("title"),
                                              "severity": record.get("severity")}
        elif "severity" in changes:
            key, values = "ev.case_severity", {"title": record.get("title"),
                                               "from": changes["severity"][0],
                                               "to": changes["severity"][1]}
        elif "status" in changes:
            key, values = "ev.case_status", {"title": record.get("title"),
                                             "status": changes["status"][1]}
    elif kind == "alert":
        summary = record.get("summary")
        if action == "fired":
            key, values = "ev.alert_fired", {"summary": summary}
        elif action in ("acknowledged", "resolved"):
            key, values = f"ev.alert_{action}", {"summary": summary,
                                                 "actor": frame.get("actor")}
        elif action == "notified" and (frame.get("notice") or {}).get("step", 0) > 0:
            key, values = "ev.alert_escalated", {"summary": summary,
                                                 "step": frame["notice"]["step"] + 1}
    elif kind == "silence" and action == "created":
        key, values = "ev.silence", {"reason": record.get("reason")}
    if key is None:
        return None
    text = _TEXTS[key].format_map({k: "" if v is None else v for k, v in values.items()})
    item: EventItem = {
        "seq": frame["seq"], "ts": frame.get("ts"), "kind": str(kind), "action": str(action),
        "id": frame.get("id"), "actor": frame.get("actor"), "key": key, "values": values,
        "text": text, "exercise": bool(record.get("exercise")),
        "real_world": bool(record.get("real_world"))}
    return item


def apply(board: Board, frame: Mapping[str, Any]) -> Board:
    """Fold one op_event frame into the board (in place) and return it."""
    seq = int(frame["seq"])
    if seq <= board["version"]:
        return board  # already folded in
    record = frame.get("record")
    version = int(frame.get("version", 0))
    if isinstance(record, Mapping):
        row_id, kind = frame["id"], frame.get("kind")
        if kind == "case":
            case = board["cases"].get(row_id)
            if case is None or case["version"] <= version:
                board["cases"][row_id] = case_row(record, version)
        elif kind == "alert":
            alert = board["alerts"].get(row_id)
            if alert is None or alert["version"] <= version:
                board["alerts"][row_id] = alert_row(record, version)
    item = event_item(frame)
    if item is not None:
        board["events"] = [*board["events"], item][-EVENTS_KEPT:]
    board["version"] = seq
    return board


def assemble(operation_id: str, head: int,
             cases: Iterable[tuple[Mapping[str, Any], int]],
             alerts: Iterable[tuple[Mapping[str, Any], int]],
             tail: Iterable[Mapping[str, Any]],
             after: Iterable[Mapping[str, Any]]) -> Board:
    """A snapshot from reads made in this order: the log head, the records, the log again.

    ``tail`` is the log up to ``head`` (for the events list), ``after`` every
    event after ``head`` read once the records were read. The records may
    already include some of ``after``; folding them again changes nothing.
    """
    board = empty(operation_id)
    board["cases"] = {str(r["id"]): case_row(r, v) for r, v in cases}
    board["alerts"] = {str(r["id"]): alert_row(r, v) for r, v in alerts}
    items = [i for f in tail if int(f["seq"]) <= head and (i := event_item(f)) is not None]
    board["events"] = items[-EVENTS_KEPT:]
    board["version"] = head
    for frame in after:
        apply(board, frame)
    return board


def from_frame(frame: Mapping[str, Any]) -> Board:
    """A client's board state from the ``board`` frame it received (rows made by
    :func:`case_row` and :func:`alert_row` on the hub)."""
    return {"operation": frame["operation"], "version": int(frame["version"]),
            "cases": {r["id"]: cast(CaseRow, dict(r)) for r in frame["cases"]},
            "alerts": {r["id"]: cast(AlertRow, dict(r)) for r in frame["alerts"]},
            "events": list(frame["events"])}


def _case_order(row: CaseRow) -> tuple[int, float, str]:
    """Most urgent first: severity, then longest without an update."""
    return (-SEVERITY_RANK.get(row["severity"], 0), float(row["updated_at"]), row["id"])


def view(board: Board, online: Iterable[Mapping[str, Any]] = ()) -> BoardView:
    """What the board shows, derived from its rows."""
    cases = list(board["cases"].values())
    counts = {sev: dict.fromkeys(CASE_STATUSES, 0) for sev in reversed(SEVERITIES)}
    for row in cases:
        if row["severity"] in counts and row["status"] in CASE_STATUSES:
            counts[row["severity"]][row["status"]] += 1
    open_cases = sorted((r for r in cases if r["status"] in OPEN_CASE_STATUSES), key=_case_order)
    active = sorted((a for a in board["alerts"].values() if a["state"] != "resolved"),
                    key=lambda a: (a["state"] != "firing",
                                   -SEVERITY_RANK.get(a["severity"], 0), a["first_at"],
                                   a["id"]))
    return {"operation": board["operation"], "version": board["version"], "counts": counts,
            "open_cases": open_cases, "alerts": active, "events": list(board["events"]),
            "online": list(online)}
