"""hub/http.py: addresses, origins, credentials, JSON bodies and error responses.

Requests are built from ASGI scopes, so every header and peer address is
exactly what the test says; the bodies arrive in chunks as a server would
deliver them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from hub.config import Settings
from hub.errors import BadRequest, ErrorCode, Forbidden, LimitExceeded, NotFound, Throttled
from hub.http import (
    COOKIE_NAME,
    client_address,
    error_response,
    origin_allowed,
    read_json,
    request_scheme,
    token_of,
)

SETTINGS = Settings(data_dir=Path("/nonexistent"), trusted_proxies=("10.0.0.1",),
                    allowed_origins=("https://board.example.org",))


def request(*, headers: dict[str, str] | None = None, peer: str = "192.0.2.7",
            scheme: str = "http", method: str = "POST",
            chunks: list[bytes] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "scheme": scheme, "path": "/api/x",
             "raw_path": b"/api/x", "query_string": b"", "headers": raw,
             "client": (peer, 5555), "server": ("hub.local", 80), "root_path": ""}
    parts = list(chunks or [])

    async def receive() -> dict[str, Any]:
        if parts:
            body = parts.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(parts)}
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, receive)


# --- who is asking, from where -------------------------------------------------------------


def test_the_peer_is_the_client_when_no_proxy_is_trusted() -> None:
    r = request(headers={"X-Forwarded-For": "203.0.113.9"})
    assert client_address(r, SETTINGS) == "192.0.2.7"  # a forged header is ignored


def test_a_trusted_proxy_passes_on_the_nearest_untrusted_hop() -> None:
    r = request(peer="10.0.0.1",
                headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.0.0.1"})
    assert client_address(r, SETTINGS) == "203.0.113.9"


def test_a_garbage_forwarded_hop_falls_back_to_the_proxy() -> None:
    r = request(peer="10.0.0.1", headers={"X-Forwarded-For": "not-an-ip"})
    assert client_address(r, SETTINGS) == "10.0.0.1"
    assert client_address(request(peer="10.0.0.1"), SETTINGS) == "10.0.0.1"


def test_the_scheme_comes_from_a_trusted_tls_proxy_only() -> None:
    assert request_scheme(request(scheme="https"), SETTINGS) == "https"
    assert request_scheme(request(headers={"X-Forwarded-Proto": "https"}), SETTINGS) == "http"
    trusted = request(peer="10.0.0.1", headers={"X-Forwarded-Proto": "HTTPS, http"})
    assert request_scheme(trusted, SETTINGS) == "https"
    odd = request(peer="10.0.0.1", headers={"X-Forwarded-Proto": "gopher"})
    assert request_scheme(odd, SETTINGS) == "http"


@pytest.mark.parametrize(("origin", "host", "scheme", "ok"), [
    ("http://hub.local:8080", "hub.local:8080", "http", True),
    ("http://HUB.local:8080", "hub.local:8080", "http", True),
    ("http://hub.local:8081", "hub.local:8080", "http", False),  # another port
    ("https://hub.local:8080", "hub.local:8080", "http", False),  # another scheme
    ("http://hub.local:8080/path", "hub.local:8080", "http", False),
    ("http://hub.local:8080?x=1", "hub.local:8080", "http", False),
    ("http://evil.example", "hub.local:8080", "http", False),
    ("null", "hub.local:8080", "http", False),
    ("http://hub.local", "", "http", False),  # no Host: nothing to match
    ("https://board.example.org", "hub.local", "http", True),  # the allowlist
    ("https://board.example.org.evil.com", "hub.local", "http", False),
    ("http://[bAe674600]", "[bAe674600]", "http", False),  # urlsplit refuses the host
    ("http://[::1]:8080", "[::1]:8080", "http", True),
])
def test_origins_match_exactly(origin: str, host: str, scheme: str, ok: bool) -> None:
    assert origin_allowed(origin, host, SETTINGS, scheme) is ok


def test_credentials_come_from_the_bearer_header_or_the_cookie_never_the_url() -> None:
    assert token_of(request(headers={"Authorization": "Bearer lhs_abc "})) == "lhs_abc"
    assert token_of(request(headers={"Authorization": "bearer lhs_abc"})) == "lhs_abc"
    assert token_of(request(headers={"Authorization": "Bearer "})) is None
    assert token_of(request(headers={"Cookie": f"{COOKIE_NAME}=lhs_cookie"})) == "lhs_cookie"
    assert token_of(request(headers={"Authorization": "Basic xyz"})) is None
    scope_with_query = request()
    scope_with_query.scope["query_string"] = b"token=lhs_in_url"
    assert token_of(scope_with_query) is None


# --- JSON bodies ------------------------------------------------------------------------------


JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


async def test_a_json_object_body_in_chunks_is_read() -> None:
    r = request(headers=JSON_HEADERS, chunks=[b'{"title": "Da', b'm", "n": [1, 2]}'])
    assert await read_json(r, 1000) == {"title": "Dam", "n": [1, 2]}


@pytest.mark.parametrize(("headers", "chunks", "error", "message"), [
    ({"Content-Type": "text/plain"}, [b"{}"], BadRequest, "Content-Type: application/json"),
    ({}, [b"{}"], BadRequest, "Content-Type: application/json"),
    (JSON_HEADERS, [b"{bad json"], BadRequest, "malformed JSON body"),
    (JSON_HEADERS, [b""], BadRequest, "the JSON body must be an object"),
    (JSON_HEADERS, [b"[1, 2]"], BadRequest, "the JSON body must be an object"),
    (JSON_HEADERS, [b'{"x": NaN}'], BadRequest, "x"),
    (JSON_HEADERS, [b'{"a": {"b": Infinity}}'], BadRequest, "a.b"),
    (JSON_HEADERS, [b'{"t": "\\ud800"}'], BadRequest, "t"),
    ({**JSON_HEADERS, "Content-Length": "5000"}, [b"{}"], LimitExceeded, "larger than 100"),
    (JSON_HEADERS, [b'{"a": "', b"x" * 95, b'"}'], LimitExceeded, "larger than 100"),
])
async def test_a_bad_body_is_refused_naming_what_is_wrong(
        headers: dict[str, str], chunks: list[bytes], error: type[Exception],
        message: str) -> None:
    with pytest.raises(error, match=message):
        await read_json(request(headers=headers, chunks=chunks), 100)


async def test_nesting_deep_enough_to_break_the_parser_is_a_bad_request() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(BadRequest, match="malformed JSON body"):
        await read_json(request(headers=JSON_HEADERS, chunks=[b'{"a": ', deep, b"}"]), 10**6)
    nested = b'{"a": ' + b"[" * 200 + b"]" * 200 + b"}"  # parses, but too deep to store
    with pytest.raises(BadRequest):
        await read_json(request(headers=JSON_HEADERS, chunks=[nested]), 10**6)


@given(st.binary(max_size=200))
async def test_any_body_is_an_object_or_a_client_error(body: bytes) -> None:
    try:
        data = await read_json(request(headers=JSON_HEADERS, chunks=[body]), 150)
    except (BadRequest, LimitExceeded):
        return
    assert isinstance(data, dict)
    json.dumps(data, allow_nan=False)  # whatever is accepted can be stored and served


# --- error responses ----------------------------------------------------------------------------


def test_an_error_response_has_its_status_body_and_retry_hint() -> None:
    r = error_response(NotFound())
    assert r.status_code == 404 and "retry-after" not in r.headers
    assert json.loads(r.body) == {"error": {"code": "not_found", "message": "not found",
                                            "retryable": False}}
    assert error_response(Forbidden("no")).status_code == 403
    assert error_response(Throttled(retry_after=90)).headers["retry-after"] == "90"
    slow = LimitExceeded("slow down", code=ErrorCode.RATE_LIMITED, retry_after=0.2)
    r = error_response(slow)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"  # at least a second
    assert "retry-after" not in error_response(LimitExceeded("too big")).headers


def test_settings_are_not_mutated_by_the_helpers() -> None:
    before = dataclasses.asdict(SETTINGS)
    client_address(request(peer="10.0.0.1", headers={"X-Forwarded-For": "1.2.3.4"}), SETTINGS)
    assert dataclasses.asdict(SETTINGS) == before
