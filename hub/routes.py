"""Hub-level HTTP routes: login, logout, who am I, map settings, health, readiness, metrics."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub import __version__
from hub.bodies import convert, schema
from hub.errors import BadRequest, HubError, NotFound
from hub.http import COOKIE_NAME, client_address, principal_of, read_json, request_scheme
from hub.labels import Label
from hub.language.codes import LANG_PATTERN
from hub.metrics import CONTENT_TYPE_LATEST
from hub.openapi import api, array, boolean, nullable, obj, ref, string

__all__ = ["BASEMAP", "routes"]

#: Country outlines (TopoJSON) served with the web client: see web/basemap/README.md.
BASEMAP = "/basemap/countries-110m.json"


class Login(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``POST /api/auth/login``: a session cookie, or a bearer token with ``bearer``."""

    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    totp: Annotated[str, msgspec.Meta(max_length=16, description=(
        "The current code of the account's authenticator, once set up"))] | None = None
    bearer: bool = False


def _secure(request: Request) -> bool:
    """Whether the session cookie gets the Secure flag.

    ``auto``: when the request came over https, to us or (``X-Forwarded-Proto``
    from a peer in ``trusted_proxies``) to the TLS-terminating proxy in front.
    """
    settings = request.app.state.hub.settings
    if settings.cookie_secure != "auto":
        return bool(settings.cookie_secure == "always")
    return request_scheme(request, settings) == "https"


@api("Log in: a session cookie, or a bearer token with \"bearer\": true", "auth",
     {200: ref("Session")}, auth=False, body=schema(Login))
async def login(request: Request) -> Response:
    hub = request.app.state.hub
    body = convert(await read_json(request, hub.settings.max_body_bytes), Login)
    client = client_address(request, hub.settings)
    token, session, user = await hub.auth.login(body.username, body.password, body.totp,
                                                client)
    result: dict[str, object] = {"user": user.public(), "session_id": session.id,
                                 "expires_at": session.expires_at}
    if body.bearer:
        result["token"] = token
        return JSONResponse(result)
    response = JSONResponse(result)
    response.set_cookie(COOKIE_NAME, token, max_age=hub.settings.session_absolute_seconds,
                        httponly=True, samesite="strict", secure=_secure(request), path="/")
    return response


@api("Log out: revoke this session and close its sockets", "auth",
     {200: obj({"ok": boolean()}, "ok")})
async def logout(request: Request) -> Response:
    hub = request.app.state.hub
    principal = await principal_of(request)
    if principal.kind != "session":
        raise BadRequest("API tokens are revoked with 'liaison token revoke', not logout")
    await hub.auth.logout(principal, client_address(request, hub.settings))
    await hub.revoke_session(principal.session_id)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


@api("Who is calling", "auth", {200: ref("Session")})
async def me(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"user": principal.user.public(), "session_id": principal.session_id,
                         "kind": principal.kind, "expires_at": principal.expires_at,
                         "scope": list(principal.scope) if principal.scope else None})


class LanguageChoice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PUT /api/me/language``."""

    lang: Annotated[str, msgspec.Meta(pattern=LANG_PATTERN, description=(
        "An ISO 639 code ('es'); null: the device's language."))] | None


@api("Set the language you read in (your profile, on every device)", "auth",
     {200: obj({"lang": nullable(string())}, "lang")}, body=schema(LanguageChoice))
async def set_my_language(request: Request) -> Response:
    principal = await principal_of(request)
    hub = request.app.state.hub
    body = convert(await read_json(request, hub.settings.max_body_bytes), LanguageChoice)
    await hub.engine.store.update_user(principal.user_id, lang=body.lang or "")
    return JSONResponse({"lang": body.lang})


@api("The deployment's label policy and your clearance", "auth",
     {200: obj({"policy": obj({"name": string(), "levels": array(string()),
                               "categories": array(string()),
                               "colours": obj(additionalProperties=string())},
                              "name", "levels", "categories", "colours"),
                "clearance": ref("Label")}, "policy", "clearance")})
async def labels(request: Request) -> Response:
    """What the clients need to show and choose labels: levels in order, categories,
    banner colours, and the caller's own clearance."""
    principal = await principal_of(request)
    policy = request.app.state.hub.settings.labels
    mine = policy.clearance_of(principal.user.clearance, principal.user.agency)
    return JSONResponse({"policy": policy.describe(), "clearance": Label(
        mine.level, mine.granted).to_dict()})


@api("What the board's map draws", "board",
     {200: obj({"basemap": string(), "tile_url": nullable(string()),
                "attribution": nullable(string())}, "basemap")})
async def map_settings(request: Request) -> Response:
    """What the board's map draws: the bundled basemap, and the deployment's tiles if any."""
    await principal_of(request)
    settings = request.app.state.hub.settings
    tiles = request.app.state.tiles
    if tiles is not None:  # the operation's area from the hub's own disk
        return JSONResponse({"basemap": BASEMAP, **tiles.describe(),
                             "attribution": settings.map_tile_attribution
                             or tiles.attribution or None})
    return JSONResponse({"basemap": BASEMAP, "tile_url": settings.map_tile_url or None,
                         "attribution": settings.map_tile_attribution or None})


#: Tiles change only with the archive (its ETag); clients revalidate, the worker keeps them.
TILE_CACHE = "private, no-cache"


@api("One map tile from the deployment's tile archive (map_tile_archive)", "board",
     {200: "image/png", 304: None})
async def map_tile(request: Request) -> Response:
    await principal_of(request)
    tiles = request.app.state.tiles
    z, x, y = (int(request.path_params[k]) for k in ("z", "x", "y"))
    data = tiles.tile(z, x, y) if tiles is not None else None
    if data is None:
        raise NotFound("no such tile")
    etag = f'"{tiles.etag}-{z}-{x}-{y}"'
    headers = {"etag": etag, "cache-control": TILE_CACHE}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=tiles.media_type, headers=headers)


@api("The deployment's tile archive itself, with HTTP range requests (PMTiles readers)",
     "board", {200: "application/vnd.pmtiles", 206: "application/vnd.pmtiles"})
async def map_tile_archive(request: Request) -> Response:
    await principal_of(request)
    tiles = request.app.state.tiles
    if tiles is None:
        raise NotFound("no tile archive")
    return FileResponse(tiles.path, media_type="application/vnd.pmtiles",
                        headers={"cache-control": TILE_CACHE})


@api("This document: the REST API in OpenAPI 3.1", "operations", {200: obj()}, auth=False)
async def openapi_json(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


@api("The process is up, and which release it runs", "operations",
     {200: obj({"status": string(), "version": string()}, "status", "version")}, auth=False)
async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


_READY = obj({"status": string(), "engine": string(), "version": string(),
              "schema": nullable({"type": "integer"}), "checks": obj()}, "status")


@api("The hub can serve: store and broker answer; the release and its data schema",
     "operations", {200: _READY, 503: _READY}, auth=False)
async def readyz(request: Request) -> Response:
    hub = request.app.state.hub
    checks: dict[str, str] = {}
    schema: int | None = None
    try:
        await hub.engine.store.ping()
        schema = await hub.engine.store.schema_version()
        checks["store"] = "ok"
    except HubError as exc:
        checks["store"] = exc.message
    checks["broker"] = "ok" if hub.engine.broker.healthy() else "not receiving"
    checks["node"] = "ok" if hub.node.started else "starting"
    ready = all(v == "ok" for v in checks.values())
    # What degrades without making the hub unready: readers get originals meanwhile.
    translator = hub.translator
    details = {"translation": "off" if translator is None else "ok" if translator.available
               else f"unavailable: {translator.failure}"}
    return JSONResponse({"status": "ready" if ready else "not ready", "engine": hub.engine.name,
                         "version": __version__, "schema": schema,
                         "checks": checks, "details": details},
                        status_code=200 if ready else 503)


@api("Prometheus metrics", "operations", {200: "text/plain"}, auth=False)
async def metrics(request: Request) -> Response:
    return PlainTextResponse(request.app.state.hub.metrics.render(),
                             media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/language", set_my_language, methods=["PUT"]),
    Route("/api/map", map_settings, methods=["GET"]),
    Route("/tiles/archive.pmtiles", map_tile_archive, methods=["GET"]),
    Route("/tiles/{z:int}/{x:int}/{y:int}", map_tile, methods=["GET"]),
    Route("/api/labels", labels, methods=["GET"]),
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
