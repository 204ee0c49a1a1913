"""Prometheus Alertmanager (webhook v4) and Grafana notifications, read as alerts. Pure.

Alertmanager posts a group of alerts; so does Grafana's unified alerting
(``version: "1"``, the same alert fields plus dashboard and panel links).
:func:`read_notification` checks one such body field by field and returns an
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
from typing import Any

from alerting.vocabulary import SEVERITIES
from hub.errors import BadRequest

__all__ = ["DEFAULT_SEVERITY", "MAX_ALERTS", "SEVERITY_WORDS", "Incoming", "read_notification",
           "severity_of"]

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
_LINKS = {"generatorURL": "generator", "dashboardURL": "dashboard", "panelURL": "panel",
          "silenceURL": "silence", "imageURL": "image"}


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


def read_notification(body: Mapping[str, Any], *, severity_label: str = "severity",
                      ) -> list[Incoming]:
    """The alerts of an Alertmanager or Grafana webhook body; BadRequest naming a field."""
    if not isinstance(body, Mapping):
        raise BadRequest("the body must be a JSON object")
    version = body.get("version")
    if version not in ("4", "1"):
        raise BadRequest("'version' must be \"4\" (Alertmanager) or \"1\" (Grafana)")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or len(alerts) > MAX_ALERTS:
        raise BadRequest(f"'alerts' must be a list of at most {MAX_ALERTS} alerts")
    group_key = _str(body, "groupKey", "", required=False, limit=2000)
    external = _url(body, "externalURL", "")
    common = _strings(body, "commonLabels", "", required=False)
    out = []
    for i, raw in enumerate(alerts):
        path = f"alerts[{i}]."
        if not isinstance(raw, dict):
            raise BadRequest(f"'alerts[{i}]' must be an object")
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            raise BadRequest(f"'{path}status' must be \"firing\" or \"resolved\"")
        labels = {**common, **_strings(raw, "labels", path, required=True)}
        if not labels:
            raise BadRequest(f"'{path}labels' must not be empty")
        annotations = _strings(raw, "annotations", path, required=False)
        fp = _str(raw, "fingerprint", path, required=False, limit=64)
        if fp and not all(c.isalnum() or c in "-_" for c in fp):
            raise BadRequest(f"'{path}fingerprint' must be letters and digits")
        starts_at = _str(raw, "startsAt", path, required=False, limit=64)
        links = {name: url for key, name in _LINKS.items() if (url := _url(raw, key, path))}
        if external:
            links["source"] = external
        said = {k: raw.get(k) for k in ("status", "labels", "annotations", "startsAt", "endsAt",
                                        "fingerprint", "generatorURL")}
        occurrence = hashlib.sha256(json.dumps([group_key, said], sort_keys=True,
                                               ensure_ascii=True).encode()).hexdigest()[:32]
        out.append(Incoming(
            fingerprint="am:" + (fp or _label_digest(labels)), firing=status == "firing",
            severity=severity_of(labels, severity_label), summary=_summary(labels, annotations),
            details=_details(annotations, links), labels=labels, annotations=annotations,
            links=links, starts_at=starts_at,
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


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool, limit: int) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"'{path}{key}' must be a string of at most {limit} characters")
    return value


def _url(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _str(obj, key, path, required=False, limit=2000)
    if value and not value.startswith(("http://", "https://")):
        return ""  # a link the clients would not follow anyway
    return value


def _strings(obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> dict[str, str]:
    value = obj.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_LABELS or not all(
            isinstance(k, str) and 0 < len(k) <= 128 and isinstance(v, str) and len(v) <= 10_000
            for k, v in value.items()):
        raise BadRequest(f"'{path}{key}' must be an object of at most {MAX_LABELS} strings")
    return dict(value)
