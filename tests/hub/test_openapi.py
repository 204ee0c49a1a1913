"""hub/openapi.py: the document is built from the route table and misses no route."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Route

from hub.config import Settings
from hub.openapi import api, contract_of, document, obj, string
from liaison.app import create_app


def _walk(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _walk(v)]
    if isinstance(node, list):
        return [r for v in node for r in _walk(v)]
    return []


async def test_every_route_has_a_contract_and_the_document_is_whole(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes = [r for r in app.routes if isinstance(r, Route)]
    assert [r.path for r in routes if contract_of(r) is None] == []
    doc = app.state.openapi
    assert doc["openapi"] == "3.1.0"
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    expected = {(m, re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", r.path))
                for r in routes for m in (r.methods or set()) - {"HEAD"}}
    assert described == expected
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in doc["paths"].items():
        named = set(re.findall(r"{([^}]+)}", path))
        for op in ops.values():
            assert {p["name"] for p in op.get("parameters", []) if p["in"] == "path"} == named
            assert "default" in op["responses"]
    schemas = doc["components"]["schemas"]
    assert all(ref.removeprefix("#/components/schemas/") in schemas for ref in _walk(doc))
    assert doc["paths"]["/hooks/{op_id}/{hook_id}/{secret}"]["post"]["security"] == []
    assert doc["paths"]["/api/me"]["get"]["security"] == [{"bearer": []}, {"session": []}]
    json.dumps(doc)  # serialisable as it is served
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://hub.test") as client:
        served = await client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json() == doc


def test_a_contract_describes_bodies_queries_and_other_media_types() -> None:
    @api("Take a thing", "things", {201: obj({"id": string()}), 204: None, 200: "text/csv"},
         body=obj({"name": string(10)}, "name"), query={"n": {"type": "integer"}},
         body_types={"text/plain": string()}, auth=False)
    async def take(request: Any) -> Any:
        return None

    doc = document([Route("/things/{thing_id:int}", take, methods=["POST"])], title="t",
                   version="1", description="d", schemas={})
    op = doc["paths"]["/things/{thing_id}"]["post"]
    assert op["parameters"][0] == {"name": "thing_id", "in": "path", "required": True,
                                   "schema": {"type": "string", "minLength": 1,
                                              "maxLength": 200}}
    assert op["parameters"][1]["name"] == "n" and op["parameters"][1]["in"] == "query"
    assert set(op["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert op["responses"]["204"] == {"description": "No content"}
    assert "text/csv" in op["responses"]["200"]["content"]
    assert op["security"] == [] and op["operationId"] == "post_things_thing_id"
