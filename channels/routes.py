"""REST routes for operations, membership, channels and messages (JSON).

Each handler resolves the caller, then calls :class:`channels.service.ChannelService`,
which authorizes through the same gate as the WebSocket frames.
"""

from __future__ import annotations

import re

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.admin_bodies import (
    ChannelChanges,
    MemberRole,
    NewChannel,
    NewOperation,
    OperationChanges,
)
from channels.bodies import ChatBody, PostMessage, RedactMessage, body_of
from channels.service import ChannelService
from channels.translations import MessageTranslations
from hub.bodies import convert, schema
from hub.boundary import MAX_INT, int_param
from hub.errors import BadRequest
from hub.http import caller, json_body
from hub.labels import Label
from hub.models import Channel, ChannelId, Membership, Message, Operation, Role, User
from hub.openapi import api, array, boolean, integer, number, obj, ref, string

__all__ = ["routes"]


def _channels(request: Request) -> ChannelService:
    service: ChannelService = request.app.state.channels
    return service


def _member(m: Membership, u: User, custodian: bool = False) -> dict[str, object]:
    return {"username": u.username, "display_name": u.display_name, "agency": u.agency,
            "role": str(m.role), "is_bot": u.is_bot, "custodian": custodian}


def _labelled(request: Request, label: Label) -> dict[str, object]:
    policy = _channels(request).access.policy
    return {"label": label.to_dict(), "marking": label.marking(),
            "colour": policy.colour(label.level)}


def _op(request: Request, op: Operation) -> dict[str, object]:
    view = _labelled(request, _channels(request).access.operation_label(op))
    return {**op.public(), **view, "classification": view["marking"]}


def _ch(request: Request, ch: Channel) -> dict[str, object]:
    return {**ch.public(), **_labelled(request, _channels(request).access.channel_label(ch))}


def _query_int(request: Request, name: str, *, default: int | None = None,
               low: int = 0) -> int | None:
    return int_param(request.query_params.get(name), name, default=default, low=low)


@api("Your operations (admins: all)", "operations",
     {200: obj({"operations": array(ref("Operation"))}, "operations")})
async def list_operations(request: Request) -> Response:
    _, principal, _ = await caller(request)
    items = await _channels(request).list_operations(principal)
    return JSONResponse({"operations": [
        {**_op(request, op), "role": str(role) if role else None} for op, role in items]})


@api("Create an operation (admins)", "operations", {201: ref("Operation")},
     body=schema(NewOperation))
async def create_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), NewOperation)
    op = await _channels(request).create_operation(principal, body, client)
    return JSONResponse(_op(request, op), status_code=201)


@api("An operation and your role in it", "operations", {200: ref("Operation")})
async def get_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    op, role = await _channels(request).get_operation(
        principal, request.path_params["op_id"], client)
    return JSONResponse({**_op(request, op), "role": str(role) if role else None})


@api("Change an operation (admins)", "operations", {200: ref("Operation")},
     body=schema(OperationChanges))
async def update_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), OperationChanges)
    op = await _channels(request).update_operation(
        principal, request.path_params["op_id"], body, client)
    return JSONResponse(_op(request, op))


@api("The operation's members", "operations",
     {200: obj({"members": array(ref("Member"))}, "members")})
async def list_members(request: Request) -> Response:
    _, principal, client = await caller(request)
    service = _channels(request)
    items = await service.list_members(principal, request.path_params["op_id"], client)
    held = await service.custodians.of(items[0][0].operation_id) if items else frozenset()
    return JSONResponse({"members": [_member(m, u, u.id in held) for m, u in items]})


@api("Add a member or change their role (coordinators)", "operations",
     {200: obj({"operation_id": string(), "username": string(), "role": string()})},
     body=schema(MemberRole))
async def put_member(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), MemberRole)
    m = await _channels(request).set_member(
        principal, request.path_params["op_id"], request.path_params["username"],
        Role(body.role), client)
    return JSONResponse({"operation_id": m.operation_id, "username":
                         request.path_params["username"], "role": str(m.role)})


@api("Entrust the operation's complete record to a member (administrators)",
     "operations", {200: ref("Member")})
async def put_custodian(request: Request) -> Response:
    return await _custody(request, granted=True)


@api("Withdraw a member's custody of the complete record (administrators)", "operations",
     {200: ref("Member")})
async def delete_custodian(request: Request) -> Response:
    return await _custody(request, granted=False)


async def _custody(request: Request, *, granted: bool) -> Response:
    _, principal, client = await caller(request)
    service = _channels(request)
    m, user = await service.set_custodian(principal, request.path_params["op_id"],
                                          request.path_params["username"], granted, client)
    return JSONResponse(_member(m, user, granted))


@api("Remove a member (coordinators)", "operations", {204: None})
async def delete_member(request: Request) -> Response:
    _, principal, client = await caller(request)
    await _channels(request).remove_member(
        principal, request.path_params["op_id"], request.path_params["username"], client)
    return Response(status_code=204)


@api("Who is online in the operation's channels you see", "operations",
     {200: obj({"online": array(ref("Person"))}, "online")})
async def operation_presence(request: Request) -> Response:
    _, principal, client = await caller(request)
    online = await _channels(request).operation_presence(principal, request.path_params["op_id"],
                                                   client)
    return JSONResponse({"online": [{"username": e.username, "display_name": e.display_name,
                                     "agency": e.agency} for e in online]})


@api("The operation's channels you may see", "channels",
     {200: obj({"channels": array(ref("Channel"))}, "channels")})
async def list_channels(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _channels(request).list_channels(
        principal, request.path_params["op_id"], client)
    return JSONResponse({"channels": [_ch(request, ch) for ch in items]})


@api("Create a channel (coordinators)", "channels", {201: ref("Channel")},
     body=schema(NewChannel))
async def create_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), NewChannel)
    ch = await _channels(request).create_channel(
        principal, request.path_params["op_id"], body, client)
    return JSONResponse(_ch(request, ch), status_code=201)


@api("A channel", "channels", {200: ref("Channel")})
async def get_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    ch, _ = await _channels(request).get_channel(
        principal, request.path_params["ch_id"], client)
    return JSONResponse(_ch(request, ch))


@api("Change a channel's topic, agencies or label (coordinators)", "channels",
     {200: ref("Channel")},
     body=schema(ChannelChanges))
async def update_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), ChannelChanges)
    ch = await _channels(request).update_channel(
        principal, request.path_params["ch_id"], body, client)
    return JSONResponse(_ch(request, ch))


@api("Who may read the channel", "channels",
     {200: obj({"members": array(ref("Member"))}, "members")})
async def channel_members(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _channels(request).channel_members(
        principal, request.path_params["ch_id"], client)
    return JSONResponse({"members": [_member(m, u) for m, u in items]})


@api("A page of the channel's history, oldest first; with lang, each message's kept "
     "translation into that language", "channels",
     {200: obj({"messages": array(ref("Message")), "has_more": boolean()}, "messages")},
     query={"limit": integer(minimum=1, maximum=500),
            "before_seq": integer(minimum=0, maximum=MAX_INT),
            "after_seq": integer(minimum=0, maximum=MAX_INT),
            "lang": string(pattern="^[a-z]{2,3}$")})
async def list_messages(request: Request) -> Response:
    _, principal, client = await caller(request)
    limit = int_param(request.query_params.get("limit"), "limit", default=50, low=1, high=500)
    before = _query_int(request, "before_seq")
    after = _query_int(request, "after_seq")
    lang = request.query_params.get("lang")
    if lang is not None and not re.fullmatch(r"[a-z]{2,3}", lang):
        raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
    assert limit is not None
    items, more = await _channels(request).messages.history(
        principal, request.path_params["ch_id"], before_seq=before, after_seq=after,
        limit=limit, client=client)
    frames = [m.frame() for m in items]
    for frame in frames:
        del frame["type"]
    if lang is not None:
        translations: MessageTranslations = request.app.state.services.translations
        found = await translations.for_reader(items[0].channel_id if items else ChannelId(""),
                                              items, lang)
        for frame in frames:
            if frame["seq"] in found:
                frame["translation"] = msgspec.to_builtins(found[frame["seq"]])
    return JSONResponse({"messages": frames, "has_more": more})


@api("Post a message (idempotent by client_msg_id)", "channels",
     {201: ref("Message"), 200: ref("Message")}, body=schema(PostMessage))
async def post_message(request: Request) -> Response:
    _, principal, client = await caller(request)
    post = convert(await json_body(request), PostMessage)
    message, created = await _channels(request).messages.publish(
        principal, request.path_params["ch_id"], body=body_of(post),
        client_msg_id=post.client_msg_id, client=client, label=post.label, ack=post.ack,
        real_world=post.real_world, attach=post.attach)
    return _posted(message, created)


def _posted(message: Message, created: bool) -> Response:
    frame = message.frame()
    del frame["type"]
    return JSONResponse({**frame, "duplicate": not created},
                        status_code=201 if created else 200)


@api("Acknowledge an urgent message", "channels",
     {201: ref("Message"), 200: ref("Message")})
async def acknowledge_message(request: Request) -> Response:
    """Acknowledge an urgent message (once per person; retries return the first)."""
    _, principal, client = await caller(request)
    seq = int_param(request.path_params["seq"], "seq", low=1)
    assert seq is not None
    message, created = await _channels(request).messages.publish(
        principal, request.path_params["ch_id"], body=ChatBody(), client_msg_id="",
        client=client, ack_of=seq)
    return _posted(message, created)


@api("Redact a message: its text and files gone for every reader; audited with the reason",
     "channels", {200: obj({"channel": string(), "seq": integer(), "redacted_by": string(),
                            "redacted_at": number(), "files_deleted": integer()},
                           "channel", "seq", "redacted_by", "redacted_at", "files_deleted")},
     body=schema(RedactMessage),
     path={"seq": string(pattern=r"^[1-9][0-9]{0,14}$")})
async def redact_message(request: Request) -> Response:
    """By its sender or a coordinator; a message already redacted answers as it stands."""
    _, principal, client = await caller(request)
    seq = int_param(request.path_params["seq"], "seq", low=1)
    assert seq is not None
    body = convert(await json_body(request), RedactMessage)
    done = await _channels(request).redactions.redact(principal, request.path_params["ch_id"],
                                                      seq, body.reason.strip(), client)
    return JSONResponse(done)


routes = [
    Route("/api/operations", list_operations, methods=["GET"]),
    Route("/api/operations", create_operation, methods=["POST"]),
    Route("/api/operations/{op_id}", get_operation, methods=["GET"]),
    Route("/api/operations/{op_id}", update_operation, methods=["PATCH"]),
    Route("/api/operations/{op_id}/members", list_members, methods=["GET"]),
    Route("/api/operations/{op_id}/members/{username}", put_member, methods=["PUT"]),
    Route("/api/operations/{op_id}/members/{username}", delete_member, methods=["DELETE"]),
    Route("/api/operations/{op_id}/custodians/{username}", put_custodian, methods=["PUT"]),
    Route("/api/operations/{op_id}/custodians/{username}", delete_custodian,
          methods=["DELETE"]),
    Route("/api/operations/{op_id}/presence", operation_presence, methods=["GET"]),
    Route("/api/operations/{op_id}/channels", list_channels, methods=["GET"]),
    Route("/api/operations/{op_id}/channels", create_channel, methods=["POST"]),
    Route("/api/channels/{ch_id}", get_channel, methods=["GET"]),
    Route("/api/channels/{ch_id}", update_channel, methods=["PATCH"]),
    Route("/api/channels/{ch_id}/members", channel_members, methods=["GET"]),
    Route("/api/channels/{ch_id}/messages", list_messages, methods=["GET"]),
    Route("/api/channels/{ch_id}/messages", post_message, methods=["POST"]),
    Route("/api/channels/{ch_id}/messages/{seq}/ack", acknowledge_message, methods=["POST"]),
    Route("/api/channels/{ch_id}/messages/{seq}/redact", redact_message, methods=["POST"]),
]
