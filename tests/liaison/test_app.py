"""liaison/app.py: the one composition root, the app it serves and its error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route, WebSocketRoute

from hub.config import Settings
from liaison.app import (
    CSP,
    Services,
    build_services,
    content_security_policy,
    create_app,
    server_options,
)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            yield c


def test_every_service_shares_one_engine_and_one_clock(tmp_path: Path) -> None:
    services: Services = build_services(Settings(data_dir=tmp_path / "data"))
    hub = services.hub
    store = hub.engine.store
    assert services.channels._store is store and services.cases._store is store
    assert services.alerts._store is store and services.pipeline._store is store
    assert services.evaluator._store is store and hub.node.store is store
    assert services.channels._clock is hub.clock is services.evaluator._clock
    assert services.evaluator.node_id == hub.node.id
    assert services.channels.access is services.cases.access is services.alerts.access


def test_a_process_has_one_node_id_on_either_engine(tmp_path: Path) -> None:
    """Issue 27, item 6: on Redis the engine named the process (broker, presence,
    limits) and the node named it again; now the node takes the engine's name."""
    from hub.engine.redis_broker import RedisBroker
    from hub.engine.redis_limits import RedisLimits
    from hub.engine.redis_presence import RedisPresence

    embedded = build_services(Settings(data_dir=tmp_path / "a")).hub
    assert embedded.node.id == embedded.engine.node_id
    # Built, not opened: no Redis is needed to see the names given.
    hub = build_services(Settings(data_dir=tmp_path / "b",
                                  engine="redis://127.0.0.1:1/0")).hub
    engine = hub.engine
    assert isinstance(engine.broker, RedisBroker)
    assert isinstance(engine.presence, RedisPresence)
    assert isinstance(engine.limits, RedisLimits)
    assert {hub.node.id, engine.node_id, engine.broker._node_id, engine.presence._node,
            engine.limits._node} == {hub.node.id}
    assert hub.node.id != embedded.node.id


def test_a_rule_file_in_the_settings_becomes_global_rules(tmp_path: Path) -> None:
    rules = tmp_path / "global.toml"
    rules.write_text('[[rules]]\nid = "crit"\nwhen = \'severity == "critical"\'\n',
                     encoding="utf-8")
    services = build_services(Settings(data_dir=tmp_path / "data", rules_file=str(rules)))
    assert [r["id"] for r in services.alerts._global_rules] == ["crit"]
    assert services.check_rule_file(str(rules)) == (1, 0)


def test_the_app_serves_the_api_the_socket_and_the_web_client(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    paths = {getattr(r, "path", None) for r in app.routes}
    assert {"/healthz", "/readyz", "/metrics", "/api/auth/login", "/ws"} <= paths
    assert any(isinstance(r, WebSocketRoute) and r.path == "/ws" for r in app.routes)
    assert any(isinstance(r, Route) and r.path.startswith("/api/operations")
               for r in app.routes)
    assert app.state.services.hub is app.state.hub


async def test_every_response_carries_the_security_headers(
        client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/", "/board.html", "/sw.js", "/favicon.svg",
                 "/api/nothing-here", "/api/operations"):
        r = await client.get(path)
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers.get_list("cache-control") == (
            ["no-cache"] if path in ("/", "/board.html", "/sw.js", "/favicon.svg")
            else ["no-store"]), path


async def test_scripts_and_stylesheets_the_page_loads_carry_only_nosniff(
        client: httpx.AsyncClient) -> None:
    """CSP, framing and referrer rules act on documents and workers; on a script or a
    stylesheet they are dead weight (a tenth of a phone's first load)."""
    for path in ("/app.js", "/style.css", "/vocabulary.js"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in r.headers, path
        assert "x-frame-options" not in r.headers and "referrer-policy" not in r.headers


async def test_a_not_modified_answer_leaves_the_stored_security_headers_as_they_are(
        client: httpx.AsyncClient) -> None:
    """A 304 updates the headers the browser stored with the 200 (RFC 9111, 4.3.4):
    headers it leaves out stay as they were, so it carries none of the security ones."""
    for path in ("/", "/app.js", "/sw.js"):
        first = await client.get(path)
        assert first.headers["x-content-type-options"] == "nosniff", path
        again = await client.get(path, headers={"if-none-match": first.headers["etag"]})
        assert again.status_code == 304, path
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["cache-control"] == "no-cache", path
        assert not {"x-content-type-options", "content-security-policy", "x-frame-options",
                    "referrer-policy"} & set(again.headers), path


async def test_a_tile_server_opens_images_to_its_origin_and_nothing_else(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data",
                        map_tile_url="https://tiles.example.org:8443/{z}/{x}/{y}.png",
                        map_tile_attribution="© OSM")
    csp = content_security_policy(settings)
    assert csp == CSP.replace("img-src 'self' data:;",
                              "img-src 'self' data: https://tiles.example.org:8443;")
    assert content_security_policy(Settings(data_dir=tmp_path / "d")) == CSP
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        for path in ("/", "/board.html", "/api/map"):
            assert (await c.get(path)).headers["content-security-policy"] == csp


async def test_unknown_routes_and_methods_answer_in_the_error_format(
        client: httpx.AsyncClient) -> None:
    r = await client.get("/api/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    r = await client.delete("/healthz")
    assert r.status_code == 405
    assert r.json()["error"] == {"code": "method_not_allowed",
                                 "message": "Method Not Allowed", "retryable": False}


async def test_a_hub_error_from_a_route_uses_its_own_status(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/operations")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    r = await client.post("/api/auth/login", content=b"not json",
                          headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "malformed JSON body"


def test_the_server_options_keep_limits_and_leave_proxies_to_configuration(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_frame_bytes=4096, port=9999)
    opts = server_options(settings)
    assert opts["ws_max_size"] == 4096 and opts["port"] == 9999
    assert opts["ws_per_message_deflate"] is False  # no compression oracle, no zip bombs
    assert opts["proxy_headers"] is False  # trusted_proxies decides, not uvicorn
    assert opts["server_header"] is False
