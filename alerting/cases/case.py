"""Cases: the shared record of incidents, requests, complaints. Pure: no I/O.

A case is a JSON-able document. This module validates input, builds new
cases, applies changes and computes what changed, so the service only has
to authorize, store and broadcast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, cast

from alerting.documents import CaseDoc, LocationDoc
from alerting.vocabulary import CASE_CATEGORIES as CATEGORIES
from alerting.vocabulary import SEVERITIES, Severity
from alerting.vocabulary import CaseStatus as Status
from hub.errors import BadRequest

__all__ = ["CATEGORIES", "Severity", "Status", "apply_update", "new_case", "parse_severity",
           "play_marking", "severity_of"]


def parse_severity(value: object) -> Severity:
    if isinstance(value, str) and value.upper() in Severity.__members__:
        return Severity[value.upper()]
    raise BadRequest(f"'severity' must be one of {', '.join(SEVERITIES)}")


_EDITABLE = {"title", "description", "category", "severity", "status", "location",
             "assignees", "fields", "exercise", "real_world", "lang"}
_LANG = re.compile(r"[a-z]{2,3}")


def play_marking(record: Mapping[str, object]) -> str:
    """How every output marks a record (a case, an alert): "REAL WORLD" for a real event
    raised inside an exercise, "EXERCISE" for play, "" for an ordinary real record."""
    if record.get("real_world"):
        return "REAL WORLD"
    return "EXERCISE" if record.get("exercise") else ""
MAX_FIELDS = 32


def severity_of(case: Mapping[str, object]) -> Severity:
    return parse_severity(case.get("severity", "info"))


def _text(data: Mapping[str, object], key: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    if required and not value.strip():
        raise BadRequest(f"'{key}' is required")
    if len(value) > limit:
        raise BadRequest(f"'{key}' is longer than {limit} characters")
    return value.strip()


def _location(value: object) -> LocationDoc | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("'location' must be an object {lat, lon, place}")
    lat, lon = value.get("lat"), value.get("lon")
    out: LocationDoc = {}
    if lat is not None or lon is not None:
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                   for v in (lat, lon)):
            raise BadRequest("'location.lat' and 'location.lon' must be numbers")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # type: ignore[operator]
            raise BadRequest("'location' is outside the globe")
        out["lat"], out["lon"] = float(lat), float(lon)  # type: ignore[arg-type]
    place = value.get("place")
    if place is not None:
        if not isinstance(place, str) or len(place) > 200:
            raise BadRequest("'location.place' must be a string of at most 200 characters")
        out["place"] = place.strip()
    return out or None


def _fields(value: object) -> dict[str, float | str]:
    """Custom fields: numbers (casualties, people affected) or short texts."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_FIELDS:
        raise BadRequest(f"'fields' must be an object of at most {MAX_FIELDS} entries")
    out: dict[str, float | str] = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key.isidentifier() or len(key) > 40:
            raise BadRequest(f"field name {str(key)[:40]!r} must be an identifier")
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise BadRequest(f"field '{key}' must be a number or a string")
        if isinstance(v, float) and not math.isfinite(v):
            raise BadRequest(f"field '{key}' must be finite")
        if isinstance(v, str) and len(v) > 500:
            raise BadRequest(f"field '{key}' is longer than 500 characters")
        out[key] = v
    return out


def _assignees(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 20 or \
            not all(isinstance(a, str) and 0 < len(a) <= 64 for a in value):
        raise BadRequest("'assignees' must be a list of usernames")
    return sorted(set(value))


def _validated(data: Mapping[str, object], key: str) -> Any:
    if key == "title":
        return _text(data, "title", 200, required=True)
    if key == "description":
        return _text(data, "description", 10_000)
    if key == "category":
        category = data.get("category", "incident")
        if category not in CATEGORIES:
            raise BadRequest(f"'category' must be one of {', '.join(CATEGORIES)}")
        return category
    if key == "severity":
        return parse_severity(data.get("severity", "info")).label()
    if key == "status":
        try:
            return str(Status(str(data.get("status", "open"))))
        except ValueError:
            raise BadRequest("'status' must be open, in_progress, resolved or closed") from None
    if key == "location":
        return _location(data.get("location"))
    if key == "assignees":
        return _assignees(data.get("assignees"))
    if key == "fields":
        return _fields(data.get("fields"))
    if key in ("exercise", "real_world"):
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise BadRequest(f"'{key}' must be true or false")
        return value
    if key == "lang":
        value = data.get("lang")
        if not isinstance(value, str) or not _LANG.fullmatch(value):
            raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
        return value
    raise BadRequest(f"unknown field '{key}'")


def new_case(data: Mapping[str, object], *, case_id: str, operation_id: str, actor: str,
             agency: str, now: float) -> CaseDoc:
    unknown = set(data) - _EDITABLE - {"idempotency_key"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    case: CaseDoc = {
        "id": case_id, "operation_id": operation_id,
        "title": _validated(data, "title"), "description": _validated(data, "description"),
        "category": _validated(data, "category"), "severity": _validated(data, "severity"),
        "status": _validated(data, "status"), "location": _validated(data, "location"),
        "assignees": _validated(data, "assignees"), "fields": _validated(data, "fields"),
        "exercise": _validated(data, "exercise"), "real_world": _validated(data, "real_world"),
        "reporting_agency": agency, "created_by": actor, "created_at": now,
        "updated_by": actor, "updated_at": now, "comments": 0}
    if data.get("lang") is not None:
        case["lang"] = _validated(data, "lang")
    _one_of_play(case)
    return case


def apply_update(case: CaseDoc, data: Mapping[str, object], *, actor: str,
                 now: float) -> tuple[CaseDoc, dict[str, list[Any]]]:
    """Return the updated case and the changes as {field: [old, new]}."""
    unknown = set(data) - _EDITABLE
    if unknown:
        raise BadRequest(f"unknown or read-only field(s): {', '.join(sorted(unknown))}")
    # Changed by name below: every value passes _validated, whose names are CaseDoc's
    # editable fields, so what is returned is a CaseDoc again.
    updated: dict[str, object] = dict(case)
    changes: dict[str, list[Any]] = {}
    for key in sorted(data):
        value = _validated(data, key)
        if key == "fields":
            merged = dict(case.get("fields", {}))
            for name, v in value.items():
                merged[name] = v
            value = merged
        if value != case.get(key):
            changes[key] = [case.get(key), value]
            updated[key] = value
    if changes:
        _one_of_play(updated)
        updated["updated_by"], updated["updated_at"] = actor, now
    return cast(CaseDoc, updated), changes


def _one_of_play(case: Mapping[str, object]) -> None:
    if case.get("exercise") and case.get("real_world"):
        raise BadRequest("'real_world' and 'exercise' exclude each other: a real event "
                         "raised during an exercise is real_world, not exercise")
