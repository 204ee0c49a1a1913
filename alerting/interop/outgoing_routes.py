"""REST routes of outgoing webhooks: subscribe a URL, list, disable, read the delivery log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.config_bodies import NewSubscription
from alerting.interop.outgoing_service import OutgoingWebhooks
from hub.bodies import convert, schema
from hub.http import caller, json_body
from hub.openapi import api, array, obj, ref

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


routes = [
    Route("/api/operations/{op_id}/outgoing-webhooks", list_subscriptions, methods=["GET"]),
    Route("/api/operations/{op_id}/outgoing-webhooks", create_subscription, methods=["POST"]),
    Route("/api/operations/{op_id}/outgoing-webhooks/{sub_id}", disable_subscription,
          methods=["DELETE"]),
    Route("/api/operations/{op_id}/outgoing-webhooks/{sub_id}/deliveries", list_deliveries,
          methods=["GET"]),
]
