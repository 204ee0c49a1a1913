"""Schemas of alerting's REST answers and bodies, for the OpenAPI document
(:mod:`hub.openapi`): cases, alerts, rules, policies, silences, log events,
CAP results and outgoing webhooks."""

from __future__ import annotations

from alerting.interop.outgoing import FORMATS
from alerting.vocabulary import ALERT_STATES, CASE_CATEGORIES, CASE_STATUSES, SEVERITIES
from channels.bodies import FileRef
from hub.bodies import schema
from hub.openapi import (
    Schema,
    array,
    boolean,
    enum,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
)

__all__ = ["ALERTING_SCHEMAS"]

SEVERITY = enum(*SEVERITIES)
LOCATION: Schema = obj({"lat": number(minimum=-90, maximum=90),
                        "lon": number(minimum=-180, maximum=180), "place": string(200)})
FIELDS: Schema = {"type": "object", "maxProperties": 32,
                  "additionalProperties": {"anyOf": [number(), string(500)]}}
_CASE_FIELDS: dict[str, Schema] = {
    "title": string(200), "description": string(10_000), "category": enum(*CASE_CATEGORIES),
    "severity": SEVERITY, "status": enum(*CASE_STATUSES), "location": nullable(LOCATION),
    "assignees": array(string(64), maxItems=20), "fields": FIELDS, "exercise": boolean(),
    "real_world": boolean(), "lang": string(pattern="^[a-z]{2,3}$"),
    "label": {"anyOf": [string(64), ref("Label")]}}
#: Where a translation came from (cases and alerts alike).
_PROVENANCE: dict[str, Schema] = {
    "source": string(), "detected": boolean(), "engine": string(), "route": array(string()),
    "glossary_version": integer(), "at": number()}
ALERTING_SCHEMAS: dict[str, Schema] = {
    "Case": obj({**_CASE_FIELDS, "id": string(), "operation_id": string(),
                 "version": integer(), "reporting_agency": string(), "created_by": string(),
                 "created_at": number(), "updated_by": string(), "updated_at": number(),
                 "comments": integer(), "event_seq": integer(), "duplicate": boolean(),
                 "files": array(schema(FileRef)),
                 "translation": ref("CaseTranslation")},
                "id", "title", "severity", "status"),
    "CaseTranslation": obj({"title": string(), "description": string(), **_PROVENANCE,
                            "version": integer(), "reviewed_by": string(),
                            "reviewed_at": number(), "machine": nullable(array(string()))},
                           "title", "description", "source", "version"),
    "Alert": obj({"id": string(), "operation_id": string(), "source": string(),
                  "fingerprint": string(), "severity": SEVERITY, "summary": string(),
                  "details": string(), "labels": obj(), "state": enum(*ALERT_STATES),
                  "occurrences": integer(), "first_at": number(), "last_at": number(),
                  "case_id": nullable(string()), "acked_by": nullable(string()),
                  "exercise": boolean(), "real_world": boolean(), "version": integer(),
                  "duplicate": boolean(), "pending_agencies": array(string()),
                  "ledger": array(obj({"agency": string(), "told_at": nullable(number()),
                                       "acked_at": nullable(number()),
                                       "acked_by": nullable(string()),
                                       "seconds": nullable(number())}, "agency")),
                  "label": nullable(ref("Label")), "lang": string(pattern="^[a-z]{2,3}$"),
                  "translation": obj({"summary": string(), "details": string(),
                                      "original": array(string()), **_PROVENANCE})},
                 "id", "severity", "summary", "state", "version", "pending_agencies",
                 "ledger"),
    "Rule": obj({"id": string(), "severity": SEVERITY, "version": integer()}, "id"),
    "Policy": obj({"id": string(), "steps": array(obj()), "version": integer()}, "id"),
    "Silence": obj({"id": string(), "matchers": array(obj()), "version": integer(),
                    "label": nullable(ref("Label"))}, "id"),
    "OpEvent": obj({"feed": string(), "seq": integer(), "kind": string(),
                    "action": string(), "id": string(), "version": integer(),
                    "actor": string(), "ts": number(), "record": obj()},
                   "seq", "kind", "action", "id"),
    "ReceivedAlert": obj({"fingerprint": string(),
                          "action": enum("fired", "repeated", "unchanged", "resolved",
                                         "ignored"),
                          "id": nullable(string())}, "fingerprint", "action"),
    "CapReceived": obj({"identifier": string(), "sender": string(),
                        "action": enum("created", "updated", "cancelled", "ignored"),
                        "case_id": nullable(string()), "fingerprint": string(),
                        "duplicate": boolean()}, "identifier", "action", "duplicate"),
    "OutgoingWebhook": obj({"id": string(), "name": string(), "url": string(),
                            "events": array(string()), "channels": array(string()),
                            "format": enum(*FORMATS), "lang": string(),
                            "state": enum("active", "disabled"),
                            "disabled_reason": nullable(string()), "created_by": string(),
                            "created_at": number(), "secret": string()},
                           "id", "url", "events", "state"),
    "Delivery": obj({"id": string(), "subscription_id": string(), "event": string(),
                     "state": enum("pending", "delivered", "failed", "cancelled"),
                     "attempts": integer(), "next_at": nullable(number()),
                     "last_status": nullable(integer()), "last_error": nullable(string()),
                     "created_at": number(), "delivered_at": nullable(number()),
                     "log": array(obj())}, "id", "event", "state", "attempts"),
}
