"""Files: the tus 1.0 routes of resumable uploads (channels/uploads.py does the work), and
the route that serves a message's files to its readers.

``OPTIONS /api/uploads`` says what the hub speaks; ``POST /api/uploads`` creates an
upload (``Upload-Length``, ``Upload-Metadata`` naming the ``channel``) and answers
``201`` with its ``Location``; ``HEAD`` on that location tells how many bytes are
stored (``Upload-Offset``); ``PATCH`` appends bytes at that offset; ``DELETE`` ends
it. Every request but ``OPTIONS`` carries ``Tus-Resumable: 1.0.0`` and the caller's
credentials (``Authorization: Bearer ...`` or the session cookie), like every
other call of the API. Errors use the hub's JSON error body with the status tus
names (409 wrong offset, 412 version, 413 too large, 460 checksum).

``GET /api/channels/{ch_id}/messages/{seq}/files/{index}`` serves a file of a message
to whoever may read that message (``?variant=preview`` or ``thumbnail`` for an
image's smaller copies): by its content hash as ETag, cacheable for good by that
reader only, byte ranges honoured, never sniffed, in a sandbox; an image (re-encoded
by the hub) inline, anything else as a download.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from channels.bodies import FileRef
from channels.file_policy import FilePolicies, FilePolicyBody
from channels.service import ChannelService
from channels.uploads import UploadDoc, Uploads
from hub.blobs import BlobStore
from hub.bodies import convert, schema
from hub.boundary import int_param
from hub.context import Hub
from hub.errors import BadRequest, NotFound, UnsupportedVersion
from hub.filetypes import HEAD_BYTES, sniff
from hub.http import caller, json_body
from hub.openapi import api, array, boolean, integer, nullable, obj, string
from hub.principal import Principal
from hub.tus import (
    CHECKSUMS,
    EXTENSIONS,
    OFFSET_TYPE,
    VERSION,
    BodyDropped,
    http_date,
    parse_checksum,
    parse_length,
    parse_metadata,
    parse_offset,
)

__all__ = ["FILE_QUERY", "routes", "serve_file"]

_TUS = {"Tus-Resumable": string(enum=[VERSION])}


def _uploads(request: Request) -> Uploads:
    service: Uploads = request.app.state.uploads
    return service


def _speaks_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != VERSION:
        raise UnsupportedVersion(f"send 'Tus-Resumable: {VERSION}'")


async def _speaks_tus_about(request: Request, principal: Principal) -> None:
    """As :func:`_speaks_tus`, for a request about one upload: one that is not the
    caller's answers 404 first, as it would to a request in the right version."""
    if request.headers.get("tus-resumable") != VERSION:
        await _uploads(request).status(principal, request.path_params["op_id"],
                                       request.path_params["upload_id"])
        _speaks_tus(request)


def _headers(doc: UploadDoc, **more: str) -> dict[str, str]:
    out = {"Tus-Resumable": VERSION, "Upload-Offset": str(doc["offset"]),
           "Upload-Length": str(doc["length"]), "Cache-Control": "no-store", **more}
    if doc["expires_at"] is not None:
        out["Upload-Expires"] = http_date(doc["expires_at"])
    return out


@api("What the upload endpoint speaks (tus 1.0 and its extensions)", "uploads", {204: None},
     auth=False)
async def options(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    return Response(status_code=204, headers={
        "Tus-Resumable": VERSION, "Tus-Version": VERSION,
        "Tus-Extension": ",".join(EXTENSIONS), "Tus-Max-Size": str(hub.settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS)})


@api("Create an upload of a file for a channel (tus creation); 201 with its Location",
     "uploads", {201: None},
     headers={**_TUS, "Upload-Length": string(pattern=r"^[0-9]{1,16}$"),
              "Upload-Metadata": string(
                  pattern=r"^(?:[^,]*,)*\s*channel [A-Za-z0-9+/]+={0,2}\s*(?:,.*)?$",
                  description="channel (required), filename, filetype: comma-separated "
                              "key base64(value) pairs")})
async def create(request: Request) -> Response:
    hub, principal, client = await caller(request)
    _speaks_tus(request)
    length = parse_length(request.headers.get("upload-length"), hub.settings.max_upload_bytes)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    doc = await _uploads(request).create(principal, length=length, metadata=metadata,
                                         client=client)
    location = f"/api/uploads/{doc['operation_id']}/{doc['id']}"
    return Response(status_code=201, headers=_headers(doc, Location=location))


@api("How many bytes of an upload are stored (tus HEAD; no HEAD is in the document)",
     "uploads", {200: None}, headers=_TUS)
async def status(request: Request) -> Response:
    _, principal, _ = await caller(request)
    await _speaks_tus_about(request, principal)
    doc = await _uploads(request).status(principal, request.path_params["op_id"],
                                         request.path_params["upload_id"])
    return Response(status_code=200, headers=_headers(doc))


@api("Append bytes to an upload at its offset (tus core and checksum)", "uploads",
     {204: None}, body_types={OFFSET_TYPE: string(format="binary")},
     headers={**_TUS, "Upload-Offset": string(pattern=r"^[0-9]{1,16}$")})
async def append(request: Request) -> Response:
    _, principal, _ = await caller(request)
    await _speaks_tus_about(request, principal)
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_TYPE:
        raise BadRequest(f"'Content-Type' must be {OFFSET_TYPE}")
    offset = parse_offset(request.headers.get("upload-offset"))
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    doc = await _uploads(request).append(principal, request.path_params["op_id"],
                                         request.path_params["upload_id"], offset,
                                         _body(request), checksum)
    return Response(status_code=204, headers=_headers(doc))


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BodyDropped() from None


@api("End an unfinished upload and delete its bytes (tus termination)", "uploads",
     {204: None}, headers=_TUS)
async def terminate(request: Request) -> Response:
    _, principal, _ = await caller(request)
    await _speaks_tus_about(request, principal)
    await _uploads(request).terminate(principal, request.path_params["op_id"],
                                      request.path_params["upload_id"])
    return Response(status_code=204, headers={"Tus-Resumable": VERSION})


#: Served files may not run anything, even opened as a page of their own.
_SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


#: The query of a file's route: which of an image's copies.
FILE_QUERY = {"variant": string(enum=["original", "preview", "thumbnail"])}


@api("A file of a message, to its readers (an image's preview or thumbnail by variant)",
     "channels", {200: "application/octet-stream"}, query=FILE_QUERY,
     path={"seq": string(pattern=r"^[1-9][0-9]{0,14}$"), "index": string(pattern="^[0-9]$")})
async def message_file(request: Request) -> Response:
    _, principal, client = await caller(request)
    seq = int_param(request.path_params["seq"], "seq", low=1)
    index = int_param(request.path_params["index"], "index", low=0, high=9)
    assert seq is not None and index is not None
    channels: ChannelService = request.app.state.channels
    ref = await channels.messages.file(principal, request.path_params["ch_id"], seq, index,
                                       client)
    return await serve_file(request, ref)


async def serve_file(request: Request, ref: FileRef) -> Response:
    """A file (a message's or a case's, already authorized) in the ``variant`` asked."""
    variant = request.query_params.get("variant", "original")
    if variant not in ("original", "preview", "thumbnail"):
        raise BadRequest("'variant' must be original, preview or thumbnail")
    digest = {"original": ref.sha256, "preview": ref.preview,
              "thumbnail": ref.thumbnail}[variant]
    blobs: BlobStore = request.app.state.services.blobs
    path = blobs.path_of(digest) if digest else None
    if path is None:
        raise NotFound()
    image = ref.type.startswith("image/")
    mime = ref.type if variant == "original" else await asyncio.to_thread(_made_type, path)
    if mime.startswith("text/"):
        mime += "; charset=utf-8"
    disposition = "inline" if image else \
        f"attachment; filename*=UTF-8''{quote(ref.name, safe='')}"
    return FileResponse(path, media_type=mime, headers={
        "ETag": f'"{digest}"', "Cache-Control": "private, max-age=31536000, immutable",
        "Content-Disposition": disposition, "Content-Security-Policy": _SANDBOX,
        "Cross-Origin-Resource-Policy": "same-origin"})


def _made_type(path: Path) -> str:
    """The type of a preview or thumbnail the hub made (JPEG, or WebP with transparency)."""
    with path.open("rb") as f:
        kind = sniff(f.read(HEAD_BYTES)).kind
    return str(kind) if kind is not None else "application/octet-stream"


FILE_POLICY = obj({"allowed": array(string()), "max_file_bytes": integer(),
                   "max_operation_bytes": nullable(integer()), "used_bytes": integer(),
                   "narrowed": boolean()},
                  "allowed", "max_file_bytes", "max_operation_bytes", "used_bytes", "narrowed")


def _policies(request: Request) -> FilePolicies:
    policies: FilePolicies = request.app.state.services.file_policies
    return policies


@api("The files the operation takes: kinds, limits, and what it keeps now", "channels",
     {200: FILE_POLICY})
async def file_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    return JSONResponse(await _policies(request).view(principal, request.path_params["op_id"],
                                                      client))


@api("Narrow the files the operation takes (coordinators); audited", "channels",
     {200: FILE_POLICY}, body=schema(FilePolicyBody))
async def set_file_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), FilePolicyBody)
    return JSONResponse(await _policies(request).set(principal, request.path_params["op_id"],
                                                     body, client))


routes = [
    Route("/api/uploads", options, methods=["OPTIONS"]),
    Route("/api/uploads", create, methods=["POST"]),
    Route("/api/uploads/{op_id}/{upload_id}", status, methods=["HEAD"]),
    Route("/api/uploads/{op_id}/{upload_id}", append, methods=["PATCH"]),
    Route("/api/uploads/{op_id}/{upload_id}", terminate, methods=["DELETE"]),
    Route("/api/channels/{ch_id}/messages/{seq}/files/{index}", message_file,
          methods=["GET"]),
    Route("/api/operations/{op_id}/file-policy", file_policy, methods=["GET"]),
    Route("/api/operations/{op_id}/file-policy", set_file_policy, methods=["PUT"]),
]
