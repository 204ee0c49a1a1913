"""Silences: mute notifications of matching alerts for a while. Pure.

A silence is data::

    {"matchers": [{"label": "rule", "value": "critical-case"},
                  {"label": "severity", "op": "!=", "value": "info"}],
     "duration": "2h", "reason": "known outage, crews on site"}

An alert matches when every matcher holds over its labels (``severity``,
``source``, ``rule``, ``case``, ``alert``, ``fingerprint``, ``exercise``
and the labels a bot pushed). Operators: ``=`` (default), ``!=``, and ``~``
(shell-style wildcards: ``*``, ``?``). A silence with an ``alert`` matcher
and no end lasts as long as that alert does.

A silenced alert is still raised, stored, shown and audited; only its
notifications wait. When the silence ends, the escalation resumes where it
stood.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from alerting.documents import SilenceDoc
from alerting.rules.expr import ExprError, parse_duration

__all__ = ["SilenceError", "alert_labels", "is_active", "matching", "new_silence"]

OPS = ("=", "!=", "~")


class SilenceError(ValueError):
    """An invalid silence; the message names the part."""


def alert_labels(alert: Mapping[str, Any]) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    labels.update({"severity": str(alert.get("severity", "")),
                   "source": str(alert.get("source", "")),
                   "rule": str(alert.get("rule_id") or ""),
                   "case": str(alert.get("case_id") or ""),
                   "alert": str(alert.get("id", "")),
                   "fingerprint": str(alert.get("fingerprint", "")),
                   "exercise": "true" if alert.get("exercise") else "false"})
    return labels


def new_silence(data: Mapping[str, Any], *, silence_id: str, author: str,
                now: float) -> SilenceDoc:
    if not isinstance(data, Mapping):
        raise SilenceError("a silence must be an object")
    unknown = set(data) - {"matchers", "starts_at", "ends_at", "duration", "reason"}
    if unknown:
        raise SilenceError(f"silence: {sorted(unknown)[0]}: unknown setting")
    raw = data.get("matchers")
    if not isinstance(raw, list) or not 0 < len(raw) <= 20:
        raise SilenceError("silence: matchers: must be a list of 1-20 matchers")
    matchers = []
    for i, m in enumerate(raw):
        where = f"silence: matchers[{i}]"
        if not isinstance(m, Mapping) or set(m) - {"label", "value", "op"}:
            raise SilenceError(f"{where}: a matcher is {{label, value, op}}")
        label, value, op = m.get("label"), m.get("value"), m.get("op", "=")
        if not isinstance(label, str) or not 0 < len(label) <= 64:
            raise SilenceError(f"{where}.label: must be a label name")
        if not isinstance(value, str) or len(value) > 200:
            raise SilenceError(f"{where}.value: must be a string of at most 200 characters")
        if op not in OPS:
            raise SilenceError(f"{where}.op: must be one of {', '.join(OPS)}")
        matchers.append({"label": label, "value": value, "op": op})
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise SilenceError("silence: reason: say why, in 1-500 characters")
    starts = data.get("starts_at", now)
    if isinstance(starts, bool) or not isinstance(starts, int | float):
        raise SilenceError("silence: starts_at: must be a time (seconds since the epoch)")
    ends = data.get("ends_at")
    if data.get("duration") is not None:
        if ends is not None:
            raise SilenceError("silence: give ends_at or duration, not both")
        try:
            ends = float(starts) + parse_duration(data["duration"])
        except ExprError as exc:
            raise SilenceError(f"silence: duration: {exc}") from None
    if ends is None:
        if not any(m["label"] == "alert" and m["op"] == "=" for m in matchers):
            raise SilenceError("silence: ends_at: needed unless the silence names one alert "
                               "(then it ends with that alert)")
    elif isinstance(ends, bool) or not isinstance(ends, int | float) or ends <= starts:
        raise SilenceError("silence: ends_at: must be a time after starts_at")
    return {"id": silence_id, "matchers": matchers, "starts_at": float(starts),
            "ends_at": None if ends is None else float(ends), "reason": reason.strip(),
            "created_by": author, "created_at": now, "expired_by": None}


def _holds(matcher: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    actual = labels.get(matcher["label"], "")
    if matcher["op"] == "=":
        return actual == matcher["value"]
    if matcher["op"] == "!=":
        return actual != matcher["value"]
    return fnmatch.fnmatchcase(actual, matcher["value"])


def is_active(silence: Mapping[str, Any], now: float) -> bool:
    ends = silence.get("ends_at")
    return float(silence["starts_at"]) <= now and (ends is None or now < float(ends))


def matching(alert: Mapping[str, Any], silences: Iterable[Mapping[str, Any]],
             now: float) -> Mapping[str, Any] | None:
    """The active silence covering ``alert`` that ends last (None: not silenced)."""
    labels = alert_labels(alert)
    best: Mapping[str, Any] | None = None
    for s in silences:
        if is_active(s, now) and all(_holds(m, labels) for m in s["matchers"]):
            if best is None or (best.get("ends_at") is not None and (
                    s.get("ends_at") is None or s["ends_at"] > best["ends_at"])):
                best = s
    return best
