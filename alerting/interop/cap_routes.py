"""REST routes of CAP 1.2: receive a warning, publish cases and alerts, an Atom feed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.interop.cap_service import CapService
from hub.errors import BadRequest
from hub.http import caller, public_base, read_body
from hub.openapi import api, ref, string

__all__ = ["CAP_TYPE", "routes"]

CAP_TYPE = "application/cap+xml"
_XML_TYPES = {CAP_TYPE, "application/xml", "text/xml"}


def _cap(request: Request) -> CapService:
    service: CapService = request.app.state.cap
    return service


@api("Receive a CAP 1.2 alert: a case and an alert, updated and cancelled by reference",
     "cap", {201: ref("CapReceived"), 200: ref("CapReceived")},
     body_types={CAP_TYPE: string(), "application/xml": string()},
     query={"route": string(), "escalation": string(64)})
async def receive_cap(request: Request) -> Response:
    hub, principal, client = await caller(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _XML_TYPES:
        raise BadRequest(f"send the CAP document as {CAP_TYPE} (or application/xml)")
    body = await read_body(request, hub.settings.max_receiver_body_bytes)
    route = [t.strip() for t in request.query_params.get("route", "").split(",") if t.strip()]
    result = await _cap(request).receive(principal, request.path_params["op_id"], body,
                                         route=route,
                                         policy=request.query_params.get("escalation"),
                                         client=client)
    return JSONResponse(result, status_code=200 if result["duplicate"] else 201)


@api("A case as a CAP 1.2 document", "cap", {200: CAP_TYPE})
async def case_as_cap(request: Request) -> Response:
    hub, principal, client = await caller(request)
    doc = await _cap(request).case_document(principal, request.path_params["op_id"],
                                            request.path_params["case_id"],
                                            base=public_base(request, hub.settings),
                                            client=client)
    return Response(doc, media_type=CAP_TYPE)


@api("An alert as a CAP 1.2 document", "cap", {200: CAP_TYPE})
async def alert_as_cap(request: Request) -> Response:
    hub, principal, client = await caller(request)
    doc = await _cap(request).alert_document(principal, request.path_params["op_id"],
                                             request.path_params["alert_id"],
                                             base=public_base(request, hub.settings),
                                             client=client)
    return Response(doc, media_type=CAP_TYPE)


@api("An Atom feed of the operation's CAP documents", "cap",
     {200: "application/atom+xml"})
async def cap_feed(request: Request) -> Response:
    hub, principal, client = await caller(request)
    doc = await _cap(request).feed(principal, request.path_params["op_id"],
                                   base=public_base(request, hub.settings), client=client)
    return Response(doc, media_type="application/atom+xml")


routes = [
    Route("/api/operations/{op_id}/cap", receive_cap, methods=["POST"]),
    Route("/api/operations/{op_id}/cap/feed", cap_feed, methods=["GET"]),
    Route("/api/operations/{op_id}/cap/cases/{case_id}", case_as_cap, methods=["GET"]),
    Route("/api/operations/{op_id}/cap/alerts/{alert_id}", alert_as_cap, methods=["GET"]),
]
