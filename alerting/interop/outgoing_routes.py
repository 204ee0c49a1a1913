"""REST routes of outgoing webhooks: subscribe a URL, list, disable, read the delivery
log; and the file a delivery links to, read with the link alone."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.cases.service import CaseService
from alerting.config_bodies import NewSubscription
from alerting.interop.outgoing import LINK_REF
from alerting.interop.outgoing_service import OutgoingWebhooks
from channels.service import ChannelService
from channels.upload_routes import FILE_QUERY, serve_file
from hub.bodies import convert, schema
from hub.boundary import int_param
from hub.context import Hub
from hub.errors import NotFound
from hub.http import caller, client_address, json_body
from hub.openapi import api, array, obj, ref, string

__all__ = ["routes"]


def _outgoing(request: Request) -> OutgoingWebhooks:
    service: OutgoingWebhooks = request.app.state.outgoing
    return service


@api("Subscribe a URL to events; its signing secret is shown once", "webhooks",
     {201: ref("OutgoingWebhook")}, body=schema(NewSubscription))
async def create_subscription(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), NewSubscription)
    sub, secret = await _outgoing(request).create(principal, request.path_params["op_id"],
                                                  body, client)
    return JSONResponse({**sub, "secret": secret}, status_code=201)


@api("Outgoing webhooks (never a secret)", "webhooks",
     {200: obj({"webhooks": array(ref("OutgoingWebhook"))}, "webhooks")})
async def list_subscriptions(request: Request) -> Response:
    _, principal, client = await caller(request)
    subs = await _outgoing(request).list_subscriptions(principal,
                                                       request.path_params["op_id"], client)
    return JSONResponse({"webhooks": subs})


@api("Disable an outgoing webhook", "webhooks", {200: ref("OutgoingWebhook")})
async def disable_subscription(request: Request) -> Response:
    _, principal, client = await caller(request)
    sub = await _outgoing(request).disable(principal, request.path_params["op_id"],
                                           request.path_params["sub_id"], client)
    return JSONResponse(sub)


@api("An outgoing webhook's delivery log, newest first", "webhooks",
     {200: obj({"deliveries": array(ref("Delivery"))}, "deliveries")})
async def list_deliveries(request: Request) -> Response:
    _, principal, client = await caller(request)
    log = await _outgoing(request).deliveries(principal, request.path_params["op_id"],
                                              request.path_params["sub_id"], client)
    return JSONResponse({"deliveries": log})


@api("A file an outgoing webhook's delivery links to (the signed link is the credential)",
     "webhooks", {200: "application/octet-stream"}, auth=False,
     query={"expires": string(pattern="^[0-9]{1,12}$"),
            "sig": string(pattern="^[A-Za-z0-9_-]{43}$"), **FILE_QUERY},
     needs=("expires", "sig"), path={"ref": string(pattern=LINK_REF)},
     description="Read as the subscription's creator would read the message or case: "
                 "a link not signed by the hub, expired, of a disabled subscription, or "
                 "to a file its creator no longer may read is a 404 like a missing file.")
async def linked_file(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    client = client_address(request, hub.settings)
    params = request.path_params
    expires = int_param(request.query_params.get("expires"), "expires")
    if expires is None:
        raise NotFound()
    reader, target = await _outgoing(request).link_reader(
        params["op_id"], params["sub_id"], params["ref"], expires,
        request.query_params.get("sig", ""))
    if target.kind == "m":
        channels: ChannelService = request.app.state.channels
        found = await channels.messages.file(reader, target.item, target.seq, target.file,
                                             client)
    else:
        cases: CaseService = request.app.state.cases
        found = await cases.file(reader, params["op_id"], target.item, target.file, client)
    return await serve_file(request, found)


routes = [
    Route("/api/operations/{op_id}/outgoing-webhooks", list_subscriptions, methods=["GET"]),
    Route("/api/operations/{op_id}/outgoing-webhooks", create_subscription, methods=["POST"]),
    Route("/api/operations/{op_id}/outgoing-webhooks/{sub_id}", disable_subscription,
          methods=["DELETE"]),
    Route("/api/operations/{op_id}/outgoing-webhooks/{sub_id}/deliveries", list_deliveries,
          methods=["GET"]),
    Route("/api/operations/{op_id}/outgoing-webhooks/{sub_id}/files/{ref}", linked_file,
          methods=["GET"]),
]
