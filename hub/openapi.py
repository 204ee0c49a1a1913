"""The OpenAPI 3.1 description of the REST API, built from the route table.

Each REST handler carries its contract where it is written: the ``@api``
decorator attaches what the route takes (a JSON body's schema, query
parameters, other content types) and answers (a schema per status). Path
parameters come from the route itself. :func:`document` walks the app's
routes and assembles the document served at ``/api/openapi.json``; a test
fails when a route has no contract, so the description cannot fall behind the
routes. Every operation also answers the hub's error body (``Error``) for any
other status.

Schemas are JSON Schema 2020-12 (what OpenAPI 3.1 uses); the helpers below
keep the routes' contracts short.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Route

__all__ = ["ERROR", "Contract", "Schema", "api", "array", "boolean", "contract_of", "document",
           "enum", "integer", "nullable", "number", "obj", "ref", "string"]

Schema = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
_ID: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 200}


def string(max_length: int | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if max_length is not None:
        out["maxLength"] = max_length
    return out


def integer(**extra: Any) -> Schema:
    return {"type": "integer", **extra}


def number(**extra: Any) -> Schema:
    return {"type": "number", **extra}


def boolean() -> Schema:
    return {"type": "boolean"}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Mapping[str, Schema] | None = None, *required: str,
        closed: bool = False, **extra: Any) -> Schema:
    """An object; answers stay open to fields added later unless ``closed``."""
    out: Schema = {"type": "object", "properties": dict(properties or {}), **extra}
    if required:
        out["required"] = list(required)
    if closed:
        out["additionalProperties"] = False
    return out


ERROR = obj({"error": obj({"code": string(), "message": string(), "retryable": boolean()},
                          "code", "message", "retryable")}, "error")


@dataclass(frozen=True, slots=True)
class Contract:
    summary: str
    tag: str
    responses: Mapping[int, Schema | str | None]  # a schema, a media type, or no body
    body: Schema | None = None
    body_types: Mapping[str, Schema] = field(default_factory=dict)
    query: Mapping[str, Schema] = field(default_factory=dict)
    auth: bool = True
    description: str = ""
    #: query parameters the route cannot do without
    needs: frozenset[str] = frozenset()
    #: path parameters narrower than an id (an action word, say)
    path: Mapping[str, Schema] = field(default_factory=dict)
    #: request headers the route needs (tus uploads speak in headers)
    headers: Mapping[str, Schema] = field(default_factory=dict)


def api(summary: str, tag: str, responses: Mapping[int, Schema | str | None], *,
        body: Schema | None = None, body_types: Mapping[str, Schema] | None = None,
        query: Mapping[str, Schema] | None = None, auth: bool = True,
        description: str = "", needs: Iterable[str] = (),
        path: Mapping[str, Schema] | None = None,
        headers: Mapping[str, Schema] | None = None) -> Callable[[F], F]:
    """Attach a route's contract to its handler; ``needs`` names the required query
    parameters, ``path`` the schema of path parameters that are not plain ids,
    ``headers`` the request headers it requires."""
    contract = Contract(summary, tag, responses, body, dict(body_types or {}),
                        dict(query or {}), auth, description, frozenset(needs),
                        dict(path or {}), dict(headers or {}))
    if not contract.needs <= set(contract.query):
        raise ValueError(f"{summary}: a needed query parameter has no schema")

    def mark(fn: F) -> F:
        fn.__openapi__ = contract  # type: ignore[attr-defined]
        return fn

    return mark


def contract_of(route: BaseRoute) -> Contract | None:
    endpoint = getattr(route, "endpoint", None)
    found = getattr(endpoint, "__openapi__", None)
    return found if isinstance(found, Contract) else None


def _response(status: int, answer: Schema | str | None) -> dict[str, Any]:
    text = "OK" if status < 300 else "Error"
    if answer is None:
        return {"description": "No content" if status == 204 else text}
    if isinstance(answer, str):
        return {"description": text, "content": {answer: {"schema": {"type": "string"}}}}
    return {"description": text, "content": {"application/json": {"schema": answer}}}


def _operation(route: Route, method: str, contract: Contract) -> dict[str, Any]:
    path = _PARAM.sub(r"{\1}", route.path)
    params = [{"name": name, "in": "path", "required": True,
               "schema": contract.path.get(name, _ID)} for name in _PARAM.findall(path)]
    params += [{"name": name, "in": "query", "required": name in contract.needs,
                "schema": schema} for name, schema in contract.query.items()]
    params += [{"name": name, "in": "header", "required": True, "schema": schema}
               for name, schema in contract.headers.items()]
    op: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()}{path}").strip("_"),
        "summary": contract.summary, "tags": [contract.tag],
        "responses": {**{str(s): _response(s, a) for s, a in contract.responses.items()},
                      "default": {"description": "An error, in the hub's error body",
                                  "content": {"application/json": {"schema": ref("Error")}}}},
    }
    if contract.description:
        op["description"] = contract.description
    if params:
        op["parameters"] = params
    content = {"application/json": {"schema": contract.body}} if contract.body else {}
    content.update({t: {"schema": s} for t, s in contract.body_types.items()})
    if content:
        op["requestBody"] = {"required": True, "content": content}
    op["security"] = [{"bearer": []}, {"session": []}] if contract.auth else []
    return op


def document(routes: Iterable[BaseRoute], *, title: str, version: str,
             description: str, schemas: Mapping[str, Schema]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route that carries a contract."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        contract = contract_of(route)
        if contract is None or not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = _PARAM.sub(r"{\1}", route.path)
            paths.setdefault(path, {})[method.lower()] = _operation(route, method, contract)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR, **schemas},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token (lht_…) or a session token (lhs_…)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "liaison_session",
                            "description": "The browser session cookie"},
            },
        },
    }
