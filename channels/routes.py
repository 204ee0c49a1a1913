"""REST routes for operations, membership, channels and messages (JSON).

Each handler resolves the caller, then calls :class:`channels.service.ChannelService`,
which authorizes through the same gate as the WebSocket frames.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.service import ChannelService
from hub.boundary import int_param
from hub.errors import BadRequest
from hub.http import caller, json_body
from hub.models import ACK_PREFIX, Membership, Message, Priority, Role, User

__all__ = ["routes"]


def _channels(request: Request) -> ChannelService:
    service: ChannelService = request.app.state.channels
    return service


def _member(m: Membership, u: User) -> dict[str, object]:
    return {"username": u.username, "display_name": u.display_name, "agency": u.agency,
            "role": str(m.role), "is_bot": u.is_bot}


def _query_int(request: Request, name: str, *, default: int | None = None,
               low: int = 0) -> int | None:
    return int_param(request.query_params.get(name), name, default=default, low=low)


async def list_operations(request: Request) -> Response:
    _, principal, _ = await caller(request)
    items = await _channels(request).list_operations(principal)
    return JSONResponse({"operations": [
        {**op.public(), "role": str(role) if role else None} for op, role in items]})


async def create_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    op = await _channels(request).create_operation(principal, body, client)
    return JSONResponse(op.public(), status_code=201)


async def get_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    op, role = await _channels(request).get_operation(
        principal, request.path_params["op_id"], client)
    return JSONResponse({**op.public(), "role": str(role) if role else None})


async def update_operation(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    op = await _channels(request).update_operation(
        principal, request.path_params["op_id"], body, client)
    return JSONResponse(op.public())


async def list_members(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _channels(request).list_members(
        principal, request.path_params["op_id"], client)
    return JSONResponse({"members": [_member(m, u) for m, u in items]})


async def put_member(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    m = await _channels(request).set_member(
        principal, request.path_params["op_id"], request.path_params["username"],
        body.get("role", str(Role.MEMBER)), client)
    return JSONResponse({"operation_id": m.operation_id, "username":
                         request.path_params["username"], "role": str(m.role)})


async def delete_member(request: Request) -> Response:
    _, principal, client = await caller(request)
    await _channels(request).remove_member(
        principal, request.path_params["op_id"], request.path_params["username"], client)
    return Response(status_code=204)


async def operation_presence(request: Request) -> Response:
    _, principal, client = await caller(request)
    online = await _channels(request).operation_presence(principal, request.path_params["op_id"],
                                                   client)
    return JSONResponse({"online": [{"username": e.username, "display_name": e.display_name,
                                     "agency": e.agency} for e in online]})


async def list_channels(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _channels(request).list_channels(
        principal, request.path_params["op_id"], client)
    return JSONResponse({"channels": [ch.public() for ch in items]})


async def create_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    ch = await _channels(request).create_channel(
        principal, request.path_params["op_id"], body, client)
    return JSONResponse(ch.public(), status_code=201)


async def get_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    ch, _ = await _channels(request).get_channel(
        principal, request.path_params["ch_id"], client)
    return JSONResponse(ch.public())


async def update_channel(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    ch = await _channels(request).update_channel(
        principal, request.path_params["ch_id"], body, client)
    return JSONResponse(ch.public())


async def channel_members(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _channels(request).channel_members(
        principal, request.path_params["ch_id"], client)
    return JSONResponse({"members": [_member(m, u) for m, u in items]})


async def list_messages(request: Request) -> Response:
    _, principal, client = await caller(request)
    limit = int_param(request.query_params.get("limit"), "limit", default=50, low=1, high=500)
    before = _query_int(request, "before_seq")
    after = _query_int(request, "after_seq")
    assert limit is not None
    items = await _channels(request).history(
        principal, request.path_params["ch_id"], before_seq=before, after_seq=after,
        limit=limit, client=client)
    frames = [m.frame() for m in items]
    for frame in frames:
        del frame["type"]
    return JSONResponse({"messages": frames,
                         "has_more": len(items) == limit})


async def post_message(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    text, cmid = body.get("text"), body.get("client_msg_id")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'text' must be a non-empty string")
    if not isinstance(cmid, str) or not 0 < len(cmid) <= 64 or cmid.startswith(ACK_PREFIX):
        raise BadRequest("'client_msg_id' must be a string of 1-64 characters "
                         f"(not starting with {ACK_PREFIX!r})")
    try:
        priority = Priority(body.get("priority", "normal"))
    except ValueError:
        raise BadRequest("'priority' must be normal, high or urgent") from None
    message, created = await _channels(request).publish(
        principal, request.path_params["ch_id"], text=text, client_msg_id=cmid,
        priority=priority, client=client)
    return _posted(message, created)


def _posted(message: Message, created: bool) -> Response:
    frame = message.frame()
    del frame["type"]
    return JSONResponse({**frame, "duplicate": not created},
                        status_code=201 if created else 200)


async def acknowledge_message(request: Request) -> Response:
    """Acknowledge an urgent message (once per person; retries return the first)."""
    _, principal, client = await caller(request)
    seq = int_param(request.path_params["seq"], "seq", low=1)
    assert seq is not None
    message, created = await _channels(request).publish(
        principal, request.path_params["ch_id"], text="", client_msg_id="",
        priority=Priority.NORMAL, client=client, ack_of=seq)
    return _posted(message, created)


routes = [
    Route("/api/operations", list_operations, methods=["GET"]),
    Route("/api/operations", create_operation, methods=["POST"]),
    Route("/api/operations/{op_id}", get_operation, methods=["GET"]),
    Route("/api/operations/{op_id}", update_operation, methods=["PATCH"]),
    Route("/api/operations/{op_id}/members", list_members, methods=["GET"]),
    Route("/api/operations/{op_id}/members/{username}", put_member, methods=["PUT"]),
    Route("/api/operations/{op_id}/members/{username}", delete_member, methods=["DELETE"]),
    Route("/api/operations/{op_id}/presence", operation_presence, methods=["GET"]),
    Route("/api/operations/{op_id}/channels", list_channels, methods=["GET"]),
    Route("/api/operations/{op_id}/channels", create_channel, methods=["POST"]),
    Route("/api/channels/{ch_id}", get_channel, methods=["GET"]),
    Route("/api/channels/{ch_id}", update_channel, methods=["PATCH"]),
    Route("/api/channels/{ch_id}/members", channel_members, methods=["GET"]),
    Route("/api/channels/{ch_id}/messages", list_messages, methods=["GET"]),
    Route("/api/channels/{ch_id}/messages", post_message, methods=["POST"]),
    Route("/api/channels/{ch_id}/messages/{seq}/ack", acknowledge_message, methods=["POST"]),
]
