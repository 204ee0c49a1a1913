"""Alerts and their lifecycle. Pure: documents in, documents out.

    firing --ack--> acknowledged --resolve--> resolved
       \\____________resolve____________________/

* The same fingerprint while an alert is firing or acknowledged updates that
  alert (``occurrences`` + 1, ``last_at``) instead of raising another.
* Resolving wins over acknowledging: an acknowledgement that reaches an
  already resolved alert is refused, and a resolution of an acknowledged alert
  resolves it (keeping who acknowledged). With the store's version check,
  an acknowledgement racing an automatic resolution always ends ``resolved``,
  acknowledged first or not at all, never reopened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alerting.documents import AlertDoc, AlertView, Escalation, LedgerRow
from alerting.pipeline.escalation import idle_state, initial_state
from alerting.vocabulary import SEVERITIES, AlertState
from hub.errors import BadRequest, Conflict

__all__ = [
    "AlertState",
    "acknowledge",
    "alert_id_for",
    "answered",
    "fingerprint",
    "ledger",
    "new_alert",
    "pending_agencies",
    "repeat",
    "resolve",
    "told",
]



def fingerprint(labels: Mapping[str, object]) -> str:
    """A stable 16-hex-digit identity of an alert's labels (like Alertmanager's)."""
    blob = json.dumps({k: str(v) for k, v in labels.items()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def alert_id_for(operation_id: str, fp: str, generation: int) -> str:
    """The id of the ``generation``-th alert with fingerprint ``fp``.

    Deterministic, so two nodes raising the same alert at once write the same
    record and the store's version check lets exactly one of them create it.
    """
    digest = hashlib.sha256(f"{operation_id}\n{fp}".encode()).hexdigest()[:16]
    return f"al-{digest}-{generation}"


def new_alert(*, alert_id: str, operation_id: str, source: str, fp: str, severity: str,
              summary: str, details: str, now: float, rule_id: str | None = None,
              case_id: str | None = None, exercise: bool = False,
              labels: Mapping[str, object] | None = None,
              route: Sequence[str] = (), policy: str | None = None,
              label: Mapping[str, object] | None = None,
              real_world: bool = False,
              ack_agencies: Sequence[str] | None = None,
              informed_agencies: Sequence[str] = (),
              raised_by: str | None = None,
              summary_words: Mapping[str, object] | None = None) -> AlertDoc:
    """A new firing alert. ``labels`` are its routing labels (Alertmanager's sense);
    ``label`` its confidentiality label (hub.labels), its case's when it has one;
    ``raised_by`` the person whose action raised it (an urgent message's sender);
    ``summary_words`` a summary the hub composed, as a message key and its values
    (``{"key": "alert.urgent_summary", "values": {...}}``), so each client words it in
    its reader's language (``summary`` keeps the English)."""
    if severity not in SEVERITIES:
        raise BadRequest(f"'severity' must be one of {', '.join(SEVERITIES)}")
    return {"id": alert_id, "operation_id": operation_id, "source": source,
            "rule_id": rule_id, "case_id": case_id, "fingerprint": fp,
            "severity": severity, "summary": summary, "details": details,
            "labels": dict(labels or {}), "state": str(AlertState.FIRING),
            "occurrences": 1, "first_at": now, "last_at": now, "acked_by": None,
            "acked_at": None, "resolved_by": None, "resolved_at": None,
            "resolution": None, "exercise": exercise, "route": list(route),
            "escalation": initial_state(policy, now), "silenced_by": None,
            "last_notice": None, "label": dict(label) if label is not None else None,
            "real_world": real_world and not exercise,
            # Each of these agencies must acknowledge (None: anyone's acknowledgement does);
            # "acks" and "told" keep, per agency, who acknowledged when and when it was told.
            "ack_agencies": sorted(set(ack_agencies)) if ack_agencies else None,
            # ...and these can read it but have nobody who may acknowledge (observers).
            "informed_agencies": sorted(set(informed_agencies)),
            "raised_by": raised_by, "acks": {}, "told": {},
            "summary_words": dict(summary_words) if summary_words else None}


def _stopped(alert: AlertDoc) -> Escalation:
    """Escalation ends with acknowledgement or resolution."""
    return {**(alert.get("escalation") or idle_state()), "next_at": None}


def repeat(alert: AlertDoc, *, now: float, summary: str | None = None,
           severity: str | None = None, occurrence: str | None = None,
           window: float = 0.0) -> AlertDoc:
    """The same fingerprint again while active: count it, don't raise another.

    ``occurrence`` names what the sender said; the same occurrence again within
    ``window`` seconds of the last count is a resend (a retry) and changes nothing.
    """
    if alert["state"] == AlertState.RESOLVED:
        raise Conflict("a resolved alert does not repeat; raise a new one")
    if occurrence is not None and alert.get("last_occurrence") == occurrence \
            and now - float(alert.get("last_at") or 0) < window:
        return {**alert}
    out: AlertDoc = {**alert, "occurrences": alert["occurrences"] + 1, "last_at": now}
    if occurrence is not None:
        out["last_occurrence"] = occurrence
    if summary:
        out["summary"] = summary
    if severity is not None and severity in SEVERITIES:
        out["severity"] = severity
    return out


def acknowledge(alert: AlertDoc, *, actor: str, now: float, agency: str = "") -> AlertDoc:
    """Acknowledge for ``actor`` of ``agency``. An alert that needs each agency stays
    firing (and escalating to the others) until the last of them has acknowledged."""
    state = alert["state"]
    if state == AlertState.RESOLVED:
        raise Conflict("the alert is already resolved")
    if state == AlertState.ACKNOWLEDGED:
        return {**alert}
    acks = dict(alert.get("acks") or {})
    if agency and agency not in acks:
        acks[agency] = {"by": actor, "at": now}  # the first of each agency counts
    out: AlertDoc = {**alert, "acks": acks}
    if pending_agencies(out):
        return out
    return {**out, "state": str(AlertState.ACKNOWLEDGED), "acked_by": actor, "acked_at": now,
            "escalation": _stopped(alert)}


def pending_agencies(alert: Mapping[str, Any]) -> list[str]:
    """The agencies that must still acknowledge (empty when anyone's ack does)."""
    acks = alert.get("acks") or {}
    return [a for a in alert.get("ack_agencies") or () if a not in acks]


def told(alert: AlertDoc, agencies: Iterable[str], now: float) -> dict[str, float]:
    """The alert's "told" map after a notification reached people of ``agencies``."""
    out = dict(alert.get("told") or {})
    for agency in agencies:
        out.setdefault(agency, now)
    return out


def ledger(alert: Mapping[str, Any]) -> list[LedgerRow]:
    """(An alert as stored, or as an event of the log carries it: a board, a report.)"""
    """Per agency: when it was first told, when and by whom it acknowledged, how long that
    took (seconds; None while pending). For the export and the clients."""
    acks, first = alert.get("acks") or {}, alert.get("told") or {}
    agencies = sorted(set(alert.get("ack_agencies") or ()) | set(acks) | set(first))
    rows: list[LedgerRow] = []
    for agency in agencies:
        ack = acks.get(agency) or {}
        at, told_at = ack.get("at"), first.get(agency)
        rows.append({"agency": agency, "told_at": told_at, "acked_at": at,
                     "acked_by": ack.get("by"),
                     "seconds": round(at - told_at, 3) if at is not None
                     and told_at is not None else None})
    return rows


def answered(alert: AlertDoc, version: int) -> AlertView:
    """An alert as every answer of the API gives it: with its version, the agencies still
    to acknowledge and the ledger (the OpenAPI ``Alert`` schema requires all three)."""
    return {**alert, "version": version, "pending_agencies": pending_agencies(alert),
            "ledger": ledger(alert)}


def resolve(alert: AlertDoc, *, actor: str, now: float, resolution: str) -> AlertDoc:
    if alert["state"] == AlertState.RESOLVED:
        return {**alert}
    return {**alert, "state": str(AlertState.RESOLVED), "resolved_by": actor,
            "resolved_at": now, "resolution": resolution, "escalation": _stopped(alert)}
