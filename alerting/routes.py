"""REST routes for cases and the operation event log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.alertmanager import read_notification
from alerting.service import CaseService
from alerting.service_alerts import AlertService
from hub.boundary import int_param
from hub.errors import BadRequest
from hub.http import caller, json_body, read_json
from hub.models import OpEvent

__all__ = ["routes"]


def _cases(request: Request) -> CaseService:
    service: CaseService = request.app.state.cases
    return service


def _alerts(request: Request) -> AlertService:
    service: AlertService = request.app.state.alerts
    return service


def _event(e: OpEvent) -> dict[str, object]:
    frame = e.frame()
    del frame["type"]
    return frame


def _written(event: OpEvent, created: bool) -> Response:
    record = dict(event.data["record"])  # type: ignore[call-overload]
    return JSONResponse({**record, "version": event.version, "event_seq": event.seq,
                         "duplicate": not created},
                        status_code=201 if created and event.action == "created" else 200)


async def list_cases(request: Request) -> Response:
    _, principal, client = await caller(request)
    cases = await _cases(request).list_cases(principal, request.path_params["op_id"], client)
    return JSONResponse({"cases": cases})


async def create_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    return _written(*await _cases(request).create_case(principal, request.path_params["op_id"],
                                                 body, client))


async def get_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    case = await _cases(request).get_case(principal, request.path_params["op_id"],
                                    request.path_params["case_id"], client)
    return JSONResponse(case, headers={"ETag": f'"{case["version"]}"'})


async def update_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    if "version" not in body and request.headers.get("if-match"):
        body["version"] = int_param(request.headers["if-match"].strip('"W/ '), "If-Match",
                                    low=1)
    return _written(*await _cases(request).update_case(
        principal, request.path_params["op_id"], request.path_params["case_id"], body, client))


async def comment_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    return _written(*await _cases(request).comment(principal, request.path_params["op_id"],
                                             request.path_params["case_id"], body, client))


async def case_timeline(request: Request) -> Response:
    _, principal, client = await caller(request)
    events = await _cases(request).timeline(principal, request.path_params["op_id"],
                                      request.path_params["case_id"], client)
    return JSONResponse({"timeline": [_event(e) for e in events]})


async def op_events(request: Request) -> Response:
    _, principal, client = await caller(request)
    after = int_param(request.query_params.get("after_seq"), "after_seq", default=0)
    limit = int_param(request.query_params.get("limit"), "limit", default=100, low=1,
                      high=500)
    assert after is not None and limit is not None
    events = await _cases(request).events(principal, request.path_params["op_id"], after, limit,
                                    client)
    return JSONResponse({"events": [_event(e) for e in events],
                         "has_more": len(events) == limit})


async def list_rules(request: Request) -> Response:
    _, principal, client = await caller(request)
    rules = await _alerts(request).list_rules(principal, request.path_params["op_id"], client)
    return JSONResponse({"rules": rules})


def _record(event: OpEvent) -> Response:
    return JSONResponse({**event.data["record"], "version": event.version},  # type: ignore[dict-item]
                        status_code=201 if event.action == "created" else 200)


async def put_rule(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    return _record(await _alerts(request).put_rule(principal, request.path_params["op_id"], body,
                                             client))


async def dry_run_rule(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    matches = await _alerts(request).dry_run(principal, request.path_params["op_id"], body, client)
    return JSONResponse({"matches": matches})


async def list_policies(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _alerts(request).list_policies(principal, request.path_params["op_id"], client)
    return JSONResponse({"policies": items})


async def put_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    event = await _alerts(request).put_policy(principal, request.path_params["op_id"], body, client)
    return _record(event)


async def list_silences(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _alerts(request).list_silences(principal, request.path_params["op_id"], client)
    return JSONResponse({"silences": items})


async def create_silence(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    event = await _alerts(request).create_silence(principal, request.path_params["op_id"], body,
                                            client)
    return _record(event)


async def expire_silence(request: Request) -> Response:
    _, principal, client = await caller(request)
    event = await _alerts(request).expire_silence(principal, request.path_params["op_id"],
                                            request.path_params["silence_id"], client)
    return _record(event)


async def list_alerts(request: Request) -> Response:
    _, principal, client = await caller(request)
    state = request.query_params.get("state")
    alerts = await _alerts(request).list_alerts(principal, request.path_params["op_id"], client,
                                          state)
    return JSONResponse({"alerts": alerts})


async def push_alert(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = await json_body(request)
    event, created = await _alerts(request).push(principal, request.path_params["op_id"], body,
                                           client)
    return JSONResponse({**event.data["record"], "version": event.version,  # type: ignore[dict-item]
                         "duplicate": not created}, status_code=201 if created else 200)


async def receive_monitoring(request: Request) -> Response:
    """Alertmanager's webhook v4 and Grafana's webhook: one group of alerts.

    The URL chooses the operation; its query may name the severity label
    (``severity_label``), a route (``route=channel:alerts,coordinators``) and
    an escalation policy (``escalation``).
    """
    hub, principal, client = await caller(request)
    body = await read_json(request, hub.settings.max_receiver_body_bytes)
    query = request.query_params
    label = query.get("severity_label", "severity")
    if not 0 < len(label) <= 64:
        raise BadRequest("'severity_label' must be a label name")
    route = [t.strip() for t in query.get("route", "").split(",") if t.strip()]
    results = await _alerts(request).receive(
        principal, request.path_params["op_id"], read_notification(body, severity_label=label),
        route=route, policy=query.get("escalation"), client=client)
    return JSONResponse({"alerts": results})


async def alert_action(request: Request) -> Response:
    _, principal, client = await caller(request)
    action = request.path_params["action"]
    op_id, alert_id = request.path_params["op_id"], request.path_params["alert_id"]
    if action == "ack":
        event = await _alerts(request).acknowledge(principal, op_id, alert_id, client)
    elif action == "resolve":
        event = await _alerts(request).resolve(principal, op_id, alert_id, client)
    else:
        raise BadRequest("action must be ack or resolve")
    return JSONResponse({**event.data["record"], "version": event.version})  # type: ignore[dict-item]


routes = [
    Route("/api/operations/{op_id}/rules", list_rules, methods=["GET"]),
    Route("/api/operations/{op_id}/rules", put_rule, methods=["POST"]),
    Route("/api/operations/{op_id}/rules/dry-run", dry_run_rule, methods=["POST"]),
    Route("/api/operations/{op_id}/policies", list_policies, methods=["GET"]),
    Route("/api/operations/{op_id}/policies", put_policy, methods=["POST"]),
    Route("/api/operations/{op_id}/silences", list_silences, methods=["GET"]),
    Route("/api/operations/{op_id}/silences", create_silence, methods=["POST"]),
    Route("/api/operations/{op_id}/silences/{silence_id}/expire", expire_silence,
          methods=["POST"]),
    Route("/api/operations/{op_id}/alerts", list_alerts, methods=["GET"]),
    Route("/api/operations/{op_id}/alerts", push_alert, methods=["POST"]),
    Route("/api/operations/{op_id}/receivers/alertmanager", receive_monitoring,
          methods=["POST", "PUT"]),
    Route("/api/operations/{op_id}/receivers/grafana", receive_monitoring,
          methods=["POST", "PUT"]),
    Route("/api/operations/{op_id}/alerts/{alert_id}/{action}", alert_action,
          methods=["POST"]),
    Route("/api/operations/{op_id}/cases", list_cases, methods=["GET"]),
    Route("/api/operations/{op_id}/cases", create_case, methods=["POST"]),
    Route("/api/operations/{op_id}/cases/{case_id}", get_case, methods=["GET"]),
    Route("/api/operations/{op_id}/cases/{case_id}", update_case, methods=["PATCH"]),
    Route("/api/operations/{op_id}/cases/{case_id}/comments", comment_case, methods=["POST"]),
    Route("/api/operations/{op_id}/cases/{case_id}/timeline", case_timeline, methods=["GET"]),
    Route("/api/operations/{op_id}/events", op_events, methods=["GET"]),
]
