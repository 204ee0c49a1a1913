"""The human-readable page of an operation export: pure, from the export's own records.

A timeline per case; per alert, its notices and an acknowledgement ledger by
agency (told at, acknowledged at, by whom, how long); per urgent message, the
same ledger from the acknowledgements people sent. Every value is escaped; the
page has no scripts and loads nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from alerting.cases.case import play_marking
from alerting.pipeline.alerts import ledger

__all__ = ["LANGUAGES", "render"]

#: The report's own words, in each language a reader may ask for (?lang=); the records'
#: contents stay as they were written.
_WORDS: dict[str, dict[str, str]] = {
    "en": {"title": "record of the operation", "exported": "Exported {when} by {who}, "
           "cleared {clearance}. Records: {counts}.", "left_out": "Left out (above the "
           "exporter's clearance)", "nothing_left": "Nothing was left out.", "cases": "Cases",
           "alerts": "Alerts", "urgent": "Urgent messages", "no_cases": "No cases.",
           "no_alerts": "No alerts.", "no_urgent": "No urgent messages.", "notices": "Notices",
           "by_agency": "Acknowledgement by agency", "not_acked": "Not acknowledged by anyone.",
           "When": "When", "Who": "Who", "What": "What", "Version": "Version",
           "Changes": "Changes", "Step": "Step", "Told": "Told", "Channels": "Channels",
           "Agency": "Agency", "Told at": "Told at", "Acknowledged at": "Acknowledged at",
           "By": "By", "Took": "Took", "Marking": "Marking", "Left out": "Left out",
           "pending": "pending", "comment": "comment", "EXERCISE": "EXERCISE",
           "REAL WORLD": "REAL WORLD"},
    "fr": {"title": "registre de l'opération", "exported": "Exporté le {when} par {who}, "
           "habilitation {clearance}. Enregistrements : {counts}.", "left_out": "Omis "
           "(au-dessus de l'habilitation de l'exportateur)", "nothing_left": "Rien n'a été "
           "omis.", "cases": "Dossiers", "alerts": "Alertes", "urgent": "Messages urgents",
           "no_cases": "Aucun dossier.", "no_alerts": "Aucune alerte.",
           "no_urgent": "Aucun message urgent.", "notices": "Notifications",
           "by_agency": "Acquittement par organisation", "not_acked": "Acquitté par personne.",
           "When": "Quand", "Who": "Qui", "What": "Quoi", "Version": "Version",
           "Changes": "Modifications", "Step": "Palier", "Told": "Prévenus",
           "Channels": "Canaux", "Agency": "Organisation", "Told at": "Prévenue à",
           "Acknowledged at": "Acquittée à", "By": "Par", "Took": "Délai",
           "Marking": "Marquage", "Left out": "Omis", "pending": "en attente",
           "comment": "commentaire", "EXERCISE": "EXERCICE", "REAL WORLD": "RÉEL"},
}
LANGUAGES = tuple(_WORDS)


def _time(ts: object) -> str:
    if not isinstance(ts, int | float):
        return "—"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _took(seconds: object, w: Mapping[str, str]) -> str:
    if not isinstance(seconds, int | float):
        return w["pending"]
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _play(record: Mapping[str, Any], w: Mapping[str, str]) -> str:
    """[EXERCISE] or [REAL WORLD] before a record's title, as every output marks it."""
    marking = play_marking(record)
    return f"<strong>[{escape(w.get(marking, marking))}]</strong> " if marking else ""


def _table(head: Sequence[str], rows: Iterable[Sequence[object]],
           w: Mapping[str, str]) -> str:
    cells = "".join(f"<th>{escape(w.get(h, h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _ledger_table(rows: Iterable[Mapping[str, Any]], w: Mapping[str, str]) -> str:
    return _table(("Agency", "Told at", "Acknowledged at", "By", "Took"),
                  ((r["agency"], _time(r["told_at"]), _time(r["acked_at"]),
                    r["acked_by"] or "—", _took(r["seconds"], w)) for r in rows), w)


def _changes(event: Mapping[str, Any], w: Mapping[str, str]) -> str:
    changes = event.get("changes") or {}
    parts = [f"{k}: {v[0]} → {v[1]}" for k, v in changes.items()
             if isinstance(v, list) and len(v) == 2]
    comment = event.get("comment") or {}
    if comment:
        parts.append(f"{w['comment']}: {comment.get('text', '')}")
    return "; ".join(parts)


def _timelines(events: list[Mapping[str, Any]],
               kind: str) -> dict[str, list[Mapping[str, Any]]]:
    """The events of each record of ``kind``, in log order, by record id."""
    out: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in events:
        if e.get("kind") == kind:
            out[str(e["id"])].append(e)
    return out


def _cases(events: list[Mapping[str, Any]], w: Mapping[str, str]) -> str:
    out = []
    for case_id, timeline in _timelines(events, "case").items():
        record = timeline[-1].get("record") or {}
        out.append(f"<h3>{_play(record, w)}{escape(str(record.get('title', case_id)))} "
                   f"<small>({escape(case_id)})</small></h3>")
        out.append(_table(("When", "Who", "What", "Version", "Changes"),
                          ((_time(e.get("ts")), e.get("actor", ""), e.get("action", ""),
                            e.get("version", ""), _changes(e, w)) for e in timeline), w))
    return "".join(out) or f"<p>{escape(w['no_cases'])}</p>"


def _alerts(events: list[Mapping[str, Any]], w: Mapping[str, str]) -> str:
    out = []
    for alert_id, timeline in _timelines(events, "alert").items():
        record = timeline[-1].get("record") or {}
        out.append(f"<h3>{_play(record, w)}{escape(str(record.get('summary', alert_id)))} "
                   f"<small>({escape(alert_id)}, {escape(str(record.get('severity')))}, "
                   f"{escape(str(record.get('state')))})</small></h3>")
        told = [e.get("notice") or {} for e in timeline if e.get("action") == "notified"]
        notices = [(_time(n.get("at")), n.get("step", 0) + 1,
                    ", ".join(n.get("users") or []) or "—",
                    ", ".join(n.get("channels") or []) or "—") for n in told]
        out.append(f"<h4>{escape(w['notices'])}</h4>"
                   + _table(("When", "Step", "Told", "Channels"), notices, w))
        out.append(f"<h4>{escape(w['by_agency'])}</h4>" + _ledger_table(ledger(record), w))
    return "".join(out) or f"<p>{escape(w['no_alerts'])}</p>"


def _urgent(messages: list[Mapping[str, Any]], play: set[str], w: Mapping[str, str]) -> str:
    """``play``: the channels whose messages are play (exercise channels, or every one in
    an exercise operation)."""
    acks: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
    for m in messages:
        if "ack_of" in m:
            acks[(str(m["channel"]), int(m["ack_of"]))].append(m)
    out = []
    for m in messages:
        if m.get("priority") != "urgent" or "ack_of" in m:
            continue
        first: dict[str, Mapping[str, Any]] = {}
        for a in sorted(acks[(str(m["channel"]), int(m["seq"]))], key=lambda a: a["ts"]):
            first.setdefault(str(a.get("agency")), a)
        rows = [{"agency": agency, "told_at": m["ts"], "acked_at": a["ts"],
                 "acked_by": a.get("sender"), "seconds": float(a["ts"]) - float(m["ts"])}
                for agency, a in sorted(first.items())]
        mark = f"<strong>[{escape(w['REAL WORLD'])}]</strong> " if m.get("real_world") else \
            f"<strong>[{escape(w['EXERCISE'])}]</strong> " if str(m["channel"]) in play else ""
        out.append(f"<h3>{mark}#{escape(str(m.get('channel_name')))} · {_time(m.get('ts'))} · "
                   f"{escape(str(m.get('sender_name')))}</h3><p>{escape(str(m['text']))}</p>")
        out.append(_ledger_table(rows, w) if rows else f"<p>{escape(w['not_acked'])}</p>")
    return "".join(out) or f"<p>{escape(w['no_urgent'])}</p>"


def render(meta: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
           lang: str = "en") -> str:
    """The report in ``lang`` (one of :data:`LANGUAGES`; the records as written)."""
    w = _WORDS.get(lang, _WORDS["en"])
    op = meta.get("operation") or {}
    events = [r for r in records if r.get("type") == "event"]
    exercise = any(r.get("type") == "operation" and r.get("exercise") for r in records)
    play = {str(r["id"]) for r in records
            if r.get("type") == "channel" and (exercise or r.get("exercise"))}
    messages = [r for r in records if r.get("type") == "message"]
    withheld = meta.get("withheld") or {}
    title = f"{op.get('code', '')} {op.get('name', '')}: {w['title']}"
    held = _table(("Marking", "Left out"), withheld.items(), w) if withheld else \
        f"<p>{escape(w['nothing_left'])}</p>"
    exported = w["exported"].format(
        when=_time(meta.get("exported_at")), who=meta.get("exported_by"),
        clearance=meta.get("clearance"),
        counts=", ".join(f"{k} {v}" for k, v in (meta.get("counts") or {}).items()))
    return (f"<!doctype html><html lang=\"{escape(lang if lang in _WORDS else 'en')}\"><head>"
            f"<meta charset=\"utf-8\"><title>{escape(title)}</title><style>body{{font:14px "
            "sans-serif;margin:2rem}table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{"
            "border:1px solid #999;padding:.2rem .5rem;text-align:left}small{color:#555}"
            "</style></head><body>"
            f"<h1>{escape(title)}</h1><p>{escape(exported)}</p>"
            f"<h2>{escape(w['left_out'])}</h2>{held}"
            f"<h2>{escape(w['cases'])}</h2>{_cases(events, w)}"
            f"<h2>{escape(w['alerts'])}</h2>{_alerts(events, w)}"
            f"<h2>{escape(w['urgent'])}</h2>{_urgent(messages, play, w)}</body></html>")
