"""Schemas of the core's REST answers (users, operations, channels, messages) for
the OpenAPI document (:mod:`hub.openapi`); the features add their own."""

from __future__ import annotations

from typing import Any

from hub.labels import LABEL_SCHEMA_MARK, LEVEL_SCHEMA_MARK, Policy
from hub.openapi import array, boolean, enum, integer, nullable, number, obj, ref, string
from hub.vocabulary import OPERATION_STATUSES

__all__ = ["CORE_SCHEMAS", "under_policy"]

ROLES = ("coordinator", "member", "observer")

CORE_SCHEMAS = {
    "User": obj({"id": string(), "username": string(), "display_name": string(),
                 "agency": string(), "is_admin": boolean(), "is_bot": boolean(),
                 "disabled": boolean(), "totp_enabled": boolean(),
                 "lang": nullable(string())},
                "id", "username", "display_name", "agency"),
    "Label": obj({"level": string(64),
                  "categories": obj(additionalProperties=array(string(64)))}, "level"),
    "Operation": obj({"id": string(), "code": string(), "name": string(),
                      "status": enum(*OPERATION_STATUSES), "classification": string(),
                      "label": ref("Label"), "marking": string(), "colour": string(),
                      "exercise": boolean(), "agencies": array(string()), "created_at": number(),
                      "role": nullable(enum(*ROLES))},
                     "id", "code", "name", "status"),
    "Member": obj({"username": string(), "display_name": string(), "agency": string(),
                   "role": enum(*ROLES), "is_bot": boolean(), "custodian": boolean()},
                  "username", "role"),
    "Person": obj({"username": string(), "display_name": string(), "agency": string()},
                  "username"),
    "Channel": obj({"id": string(), "operation_id": string(), "name": string(),
                    "topic": string(), "agencies": array(string()), "restricted": boolean(),
                    "last_seq": integer(), "first_seq": integer(), "created_at": number(),
                    "label": ref("Label"), "marking": string(), "colour": string(),
                    "exercise": boolean()},
                   "id", "operation_id", "name"),
    "Session": obj({"user": ref("User"), "session_id": string(), "expires_at": nullable(
        number()), "kind": enum("session", "token"), "token": string(),
        "scope": nullable(array(string()))}, "user", "session_id"),
}


def under_policy(node: Any, policy: Policy) -> Any:
    """``node`` (an OpenAPI document or a part) with every label input a body declares
    replaced by what the deployment's label policy accepts, so the document names the
    levels and categories the hub checks."""
    if isinstance(node, dict):
        if node.get(LABEL_SCHEMA_MARK) is True:
            return policy.input_schema()
        if node.get(LEVEL_SCHEMA_MARK) is True:
            return {"type": "string", "enum": list(policy.levels)}
        return {k: under_policy(v, policy) for k, v in node.items()}
    if isinstance(node, list):
        return [under_policy(v, policy) for v in node]
    return node
