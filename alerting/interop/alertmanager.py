"""Prometheus Alertmanager (webhook v4) and Grafana notifications, read as alerts. Pure.

Alertmanager posts a group of alerts; so does Grafana's unified alerting
(``version: "1"``, the same alert fields plus dashboard and panel links).
:func:`read_notification` checks one such body against its declaration
(:class:`Notification`, also its OpenAPI schema) and returns an
:class:`Incoming` per alert: its fingerprint (the sender's, prefixed so it
cannot meet one of ours), firing or resolved, a severity taken from a label,
a summary and details from the annotations, labels and annotations kept, the
sender's links kept, and an *occurrence* key: the digest of everything the
sender said about the alert, so a resent notification (Alertmanager retries)
is recognised and changes nothing.

The severity comes from the label named by ``severity_label`` (``severity``
unless the receiver's URL says otherwise), mapped by :data:`SEVERITY_WORDS`;
a missing or unknown value is ``major``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from alerting.vocabulary import SEVERITIES
from hub.bodies import convert

__all__ = ["DEFAULT_SEVERITY", "MAX_ALERTS", "SEVERITY_WORDS", "Incoming", "Notification",
           "SentAlert", "read_notification", "severity_of"]

MAX_ALERTS = 500
MAX_LABELS = 64
DEFAULT_SEVERITY = "major"
#: Label values (lower-cased) and the hub severity they mean.
SEVERITY_WORDS: dict[str, str] = {
    **{s: s for s in SEVERITIES},
    "emergency": "critical", "alert": "critical", "page": "critical", "fatal": "critical",
    "p1": "critical", "disaster": "critical",
    "error": "major", "high": "major", "severe": "major", "p2": "major",
    "warning": "minor", "warn": "minor", "medium": "minor", "average": "minor", "p3": "minor",
    "notice": "info", "low": "info", "none": "info", "informational": "info", "debug": "info",
    "p4": "info", "p5": "info", "ok": "info",
}
#: The links an alert may carry, by the name the hub keeps them under.
_LINKS = ("generator", "dashboard", "panel", "silence", "image")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One alert of a notification, as the hub takes it."""

    fingerprint: str
    firing: bool
    severity: str
    summary: str
    details: str
    labels: dict[str, str]
    annotations: dict[str, str]
    links: dict[str, str]
    starts_at: str
    exercise: bool
    occurrence: str


def severity_of(labels: Mapping[str, str], label: str) -> str:
    return SEVERITY_WORDS.get(labels.get(label, "").strip().lower(), DEFAULT_SEVERITY)


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Texts = Annotated[dict[Name, Annotated[str, msgspec.Meta(max_length=10_000)]],
                  msgspec.Meta(max_length=MAX_LABELS)]
Link = Annotated[str, msgspec.Meta(max_length=2000)]


class SentAlert(msgspec.Struct, kw_only=True, frozen=True, rename={
        "starts_at": "startsAt", "ends_at": "endsAt", "generator": "generatorURL",
        "dashboard": "dashboardURL", "panel": "panelURL", "silence": "silenceURL",
        "image": "imageURL"}):
    """One alert of a notification, as far as the hub reads it (other fields are kept
    out, not refused: senders add their own)."""

    status: Literal["firing", "resolved"]
    labels: Annotated[Texts, msgspec.Meta(min_length=1)]
    annotations: Texts | None = None
    fingerprint: Annotated[str, msgspec.Meta(
        max_length=64, pattern=r"^[\w-]*$",
        description="letters, digits, '-' and '_'")] | None = None
    starts_at: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    generator: Link | None = None
    dashboard: Link | None = None
    panel: Link | None = None
    silence: Link | None = None
    image: Link | None = None


class Notification(msgspec.Struct, kw_only=True, frozen=True, rename={
        "group_key": "groupKey", "external_url": "externalURL",
        "common_labels": "commonLabels"}):
    """An Alertmanager (webhook v4, ``version: "4"``) or Grafana (``"1"``) body."""

    version: Literal["4", "1"]
    alerts: Annotated[list[SentAlert], msgspec.Meta(max_length=MAX_ALERTS)]
    group_key: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    external_url: Link | None = None
    common_labels: Texts | None = None


def read_notification(body: Mapping[str, Any], *, severity_label: str = "severity",
                      ) -> list[Incoming]:
    """The alerts of an Alertmanager or Grafana webhook body; BadRequest naming a field."""
    note = convert(body, Notification)
    external = _web(note.external_url)
    common = note.common_labels or {}
    out = []
    for alert, raw in zip(note.alerts, body["alerts"], strict=True):
        labels = {**common, **alert.labels}
        annotations = dict(alert.annotations or {})
        links = {name: url for name in _LINKS if (url := _web(getattr(alert, name)))}
        if external:
            links["source"] = external
        # the digest of what the sender said, as it said it (a resent notification
        # is recognised across releases)
        said = {k: raw.get(k) for k in ("status", "labels", "annotations", "startsAt", "endsAt",
                                        "fingerprint", "generatorURL")}
        occurrence = hashlib.sha256(json.dumps([note.group_key or "", said], sort_keys=True,
                                               ensure_ascii=True).encode()).hexdigest()[:32]
        out.append(Incoming(
            fingerprint="am:" + (alert.fingerprint or _label_digest(labels)),
            firing=alert.status == "firing", severity=severity_of(labels, severity_label),
            summary=_summary(labels, annotations), details=_details(annotations, links),
            labels=labels, annotations=annotations, links=links,
            starts_at=alert.starts_at or "",
            exercise=labels.get("exercise", "").lower() in ("true", "yes", "1"),
            occurrence=occurrence))
    return out


def _label_digest(labels: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]


def _summary(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    text = annotations.get("summary") or annotations.get("title") or ""
    if not text.strip():
        name = labels.get("alertname", "alert")
        where = labels.get("instance") or labels.get("job") or ""
        text = f"{name} on {where}" if where else name
    return " ".join(text.split())[:500]


def _details(annotations: Mapping[str, str], links: Mapping[str, str]) -> str:
    lines = [annotations[k] for k in ("description", "message") if annotations.get(k)]
    lines += [f"{k}: {v}" for k, v in sorted(annotations.items())
              if k not in ("summary", "title", "description", "message")]
    lines += [f"{k}: {v}" for k, v in links.items()]
    return "\n".join(lines)[:10_000]


def _web(url: str | None) -> str:
    """A link the clients would follow (http or https), or ""."""
    return url if url and url.startswith(("http://", "https://")) else ""
