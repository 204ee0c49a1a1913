"""REST routes of incoming webhooks: managing them (coordinators) and posting to them.

``POST /hooks/{op_id}/{hook_id}/{secret}`` answers like Slack and Mattermost
do (``200 ok`` in plain text) so existing scripts see success as they expect;
refusals use the hub's JSON error body. The secret is in the path by the
convention those scripts follow: nothing here logs or audits the path.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message as AsgiMessage

from channels.admin_bodies import NewIncomingWebhook
from channels.slack import read_payload
from channels.slack_bodies import SlackPayload
from channels.webhooks import IncomingWebhooks
from hub.bodies import convert, schema
from hub.context import Hub
from hub.errors import BadRequest
from hub.http import caller, client_address, json_body, public_base, read_body
from hub.openapi import api, array, obj, ref, string

__all__ = ["routes"]


def _hooks(request: Request) -> IncomingWebhooks:
    service: IncomingWebhooks = request.app.state.webhooks
    return service


@api("Make an incoming webhook for a channel; its URL and secret are shown once",
     "webhooks", {201: ref("IncomingWebhook")},
     body=schema(NewIncomingWebhook))
async def create_webhook(request: Request) -> Response:
    hub, principal, client = await caller(request)
    body = convert(await json_body(request), NewIncomingWebhook)
    hook, secret = await _hooks(request).create(principal, request.path_params["op_id"], body,
                                                client)
    return JSONResponse({**hook, "url": public_base(request, hub.settings) + hook["path"],
                         "secret": secret}, status_code=201)


@api("The operation's incoming webhooks (never a secret)", "webhooks",
     {200: obj({"webhooks": array(ref("IncomingWebhook"))}, "webhooks")})
async def list_webhooks(request: Request) -> Response:
    _, principal, client = await caller(request)
    hooks = await _hooks(request).list_hooks(principal, request.path_params["op_id"], client)
    return JSONResponse({"webhooks": hooks})


@api("Revoke an incoming webhook", "webhooks", {200: ref("IncomingWebhook")})
async def revoke_webhook(request: Request) -> Response:
    _, principal, client = await caller(request)
    hook = await _hooks(request).revoke(principal, request.path_params["op_id"],
                                        request.path_params["hook_id"], client)
    return JSONResponse(hook)


@api("Post a Slack or Mattermost payload (the secret is in the URL)", "webhooks",
     {200: "text/plain"}, auth=False,
     body=schema(SlackPayload),
     body_types={"application/x-www-form-urlencoded": obj(
         {"payload": string(minLength=1, contentMediaType="application/json")}, "payload")})
async def post_to_webhook(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    client = client_address(request, hub.settings)
    ctype = request.headers.get("content-type", "")
    body = await read_body(request, hub.settings.max_body_bytes)
    form: dict[str, str] | None = None
    if ctype.split(";")[0].strip().lower() == "multipart/form-data":
        form = await _multipart(request, body)
    payload = read_payload(ctype, body, form)
    params = request.path_params
    await _hooks(request).post(params["op_id"], params["hook_id"], params["secret"], payload,
                               idempotency_key=request.headers.get("idempotency-key"),
                               client=client)
    return PlainTextResponse("ok")


async def _multipart(request: Request, body: bytes) -> dict[str, str]:
    """The text fields of a multipart body already read (files are refused)."""
    async def replay() -> AsgiMessage:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=0, max_fields=20) as form:
            fields = {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    except MultiPartException as exc:
        raise BadRequest(f"malformed multipart body: {exc.message}") from None
    return fields


routes = [
    Route("/api/operations/{op_id}/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/operations/{op_id}/webhooks", create_webhook, methods=["POST"]),
    Route("/api/operations/{op_id}/webhooks/{hook_id}", revoke_webhook, methods=["DELETE"]),
    Route("/hooks/{op_id}/{hook_id}/{secret}", post_to_webhook, methods=["POST"]),
]
