"""HTTP helpers shared by the REST routes and the WebSocket endpoint."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from hub.boundary import parse_json_body
from hub.config import Settings
from hub.errors import BadRequest, HubError, LimitExceeded, Throttled, Unauthenticated
from hub.principal import Principal

if TYPE_CHECKING:
    from hub.context import Hub

T = TypeVar("T")

__all__ = [
    "COOKIE_NAME",
    "caller",
    "client_address",
    "error_response",
    "json_body",
    "off_the_loop",
    "origin_allowed",
    "principal_of",
    "read_body",
    "read_json",
    "request_scheme",
    "token_of",
]

COOKIE_NAME = "liaison_session"


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The peer address; X-Forwarded-For is believed only from a trusted proxy."""
    peer = conn.client.host if conn.client else ""
    if peer and peer in settings.trusted_proxies:
        forwarded = conn.headers.get("x-forwarded-for", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in settings.trusted_proxies:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break
    return peer


def request_scheme(conn: HTTPConnection, settings: Settings) -> str:
    """``https`` or ``http``: as the client sent it, through a trusted TLS proxy too."""
    scheme = "https" if conn.url.scheme in ("https", "wss") else "http"
    peer = conn.client.host if conn.client else ""
    if peer and peer in settings.trusted_proxies:
        proto = conn.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            scheme = proto
    return scheme


def public_base(conn: HTTPConnection, settings: Settings) -> str:
    """``scheme://host`` as the caller reached the hub, for links the hub hands out."""
    host = conn.headers.get("host") or f"{settings.host}:{settings.port}"
    return f"{request_scheme(conn, settings)}://{host}"


def origin_allowed(origin: str, host: str, settings: Settings, scheme: str = "http") -> bool:
    """Exact match of the Origin against the hub's own origin (scheme, host and port)
    or the allowlist."""
    if origin in settings.allowed_origins:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # a bracketed host that is no IP address: no origin of ours
        return False
    if parts.scheme != scheme or parts.path or parts.query:
        return False
    return bool(host) and parts.netloc.lower() == host.lower()


def token_of(conn: HTTPConnection) -> str | None:
    """Credentials from ``Authorization: Bearer`` or the session cookie; never the URL."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return conn.cookies.get(COOKIE_NAME)


async def principal_of(request: Request) -> Principal:
    hub = request.app.state.hub
    token = token_of(request)
    if token is None:
        raise Unauthenticated("log in first")
    principal: Principal = await hub.auth.authenticate_from(
        token, client_address(request, hub.settings), "http")
    if token == request.cookies.get(COOKIE_NAME) and request.method not in ("GET", "HEAD"):
        # Cookie-authenticated writes must come from our own pages (CSRF defence in
        # depth beside SameSite=Strict and the JSON content type).
        origin = request.headers.get("origin")
        if origin is not None and not origin_allowed(origin, request.headers.get("host", ""),
                                                     hub.settings,
                                                     request_scheme(request, hub.settings)):
            raise Unauthenticated("cross-origin request refused")
    return principal


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise LimitExceeded(f"body larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise LimitExceeded(f"body larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BadRequest("send a JSON body with Content-Type: application/json")
    body = await read_body(request, max_bytes)
    return await off_the_loop(parse_json_body, body, large=len(body) > LARGE_INPUT)


#: Past this many bytes (or items), parsing and checking a request's body runs on the
#: parser thread, one input at a time, so one large body never holds the event loop
#: for the length of its parse: the loop gets the interpreter back every few ms.
LARGE_INPUT = 64 * 1024
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse")


async def off_the_loop(fn: Callable[..., T], *args: Any, large: bool, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``: here if the input is small, else on the parser thread."""
    if not large:
        return fn(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(
        _PARSER, functools.partial(fn, *args, **kwargs))


async def caller(request: Request) -> tuple[Hub, Principal, str]:
    """The hub, the authenticated caller and their client address, for a route."""
    hub: Hub = request.app.state.hub
    return hub, await principal_of(request), client_address(request, hub.settings)


async def json_body(request: Request) -> dict[str, Any]:
    hub: Hub = request.app.state.hub
    return await read_json(request, hub.settings.max_body_bytes)


def error_response(exc: HubError) -> JSONResponse:
    headers = {}
    if isinstance(exc, Throttled):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, LimitExceeded) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
