"""REST routes for cases and the operation event log."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.board import view
from alerting.bodies import CaseChanges, CaseComment, NewCase, PushedAlert
from alerting.cases.service import CaseService
from alerting.cases.translations import CaseTranslations, shown
from alerting.config_bodies import PolicyBody, RuleBody, SilenceBody
from alerting.interop.alertmanager import Notification, read_notification
from alerting.pipeline.alerts import answered
from alerting.pipeline.push import PushedAlerts
from alerting.pipeline.service import AlertService
from alerting.record.export import Exporter
from alerting.record.report import LANGUAGES
from channels.upload_routes import FILE_QUERY, serve_file
from hub.bodies import convert, schema
from hub.boundary import SECONDS_PATTERN, int_param, time_param
from hub.errors import BadRequest
from hub.http import caller, json_body, off_the_loop, read_json
from hub.models import OperationId, OpEvent
from hub.openapi import api, array, boolean, enum, integer, number, obj, ref, string

__all__ = ["routes"]


def _cases(request: Request) -> CaseService:
    service: CaseService = request.app.state.cases
    return service


def _alerts(request: Request) -> AlertService:
    service: AlertService = request.app.state.alerts
    return service


def _pushes(request: Request) -> PushedAlerts:
    service: PushedAlerts = request.app.state.pushes
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


_LANG = string(pattern="^[a-z]{2,3}$")  # a reader's language: ISO 639


def _lang(request: Request) -> str | None:
    lang = request.query_params.get("lang")
    if lang is not None and not re.fullmatch(r"[a-z]{2,3}", lang):
        raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
    return lang


@api("The operation's cases; with lang, each with its kept translation into it", "cases",
     {200: obj({"cases": array(ref("Case"))}, "cases")},
     query={"lang": _LANG})
async def list_cases(request: Request) -> Response:
    _, principal, client = await caller(request)
    lang = _lang(request)
    cases: list[Any] = await _cases(request).list_cases(principal,
                                                        request.path_params["op_id"], client)
    if lang is not None and cases:
        found = await _translations(request).for_readers_of(
            OperationId(cases[0]["operation_id"]),
            ((c["id"], c["version"]) for c in cases), lang)
        cases = [{**c, "translation": shown(found[c["id"]])} if c["id"] in found else c
                 for c in cases]
    return JSONResponse({"cases": cases})


def _translations(request: Request) -> CaseTranslations:
    return request.app.state.services.case_translations  # type: ignore[no-any-return]


@api("Report a case (idempotent with idempotency_key)", "cases",
     {201: ref("Case"), 200: ref("Case")}, body=schema(NewCase))
async def create_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), NewCase)
    return _written(*await _cases(request).create_case(principal, request.path_params["op_id"],
                                                 body, client))


@api("A case (its ETag is its version); with lang, its kept translation into it",
     "cases", {200: ref("Case")}, query={"lang": _LANG})
async def get_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    lang = _lang(request)
    case = await _cases(request).get_case(principal, request.path_params["op_id"],
                                    request.path_params["case_id"], client)
    answer: dict[str, Any] = dict(case)
    if lang is not None:
        found = await _translations(request).for_reader(OperationId(case["operation_id"]),
                                                        case, case["version"], lang)
        if found is not None:
            answer["translation"] = shown(found)
    return JSONResponse(answer, headers={"ETag": f'"{case["version"]}"'})


@api("A file of a case, to its readers (an image's preview or thumbnail by variant)",
     "cases", {200: "application/octet-stream"}, query=FILE_QUERY,
     path={"index": string(pattern="^[0-9]$")})
async def case_file(request: Request) -> Response:
    _, principal, client = await caller(request)
    index = int_param(request.path_params["index"], "index", low=0, high=9)
    assert index is not None
    found = await _cases(request).file(principal, request.path_params["op_id"],
                                       request.path_params["case_id"], index, client)
    return await serve_file(request, found)


@api("Change a case at the version you saw (409 if it moved on)", "cases",
     {200: ref("Case")}, body=schema(CaseChanges))
async def update_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    raw = await json_body(request)
    if isinstance(raw, dict) and "version" not in raw and request.headers.get("if-match"):
        raw["version"] = int_param(request.headers["if-match"].strip('"W/ '), "If-Match",
                                   low=1)
    body = convert(raw, CaseChanges)
    return _written(*await _cases(request).update_case(
        principal, request.path_params["op_id"], request.path_params["case_id"], body, client))


@api("Comment on a case", "cases", {200: ref("Case")},
     body=schema(CaseComment))
async def comment_case(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), CaseComment)
    return _written(*await _cases(request).comment(principal, request.path_params["op_id"],
                                             request.path_params["case_id"], body, client))


@api("Every change of a case, oldest first", "cases",
     {200: obj({"timeline": array(ref("OpEvent"))}, "timeline")})
async def case_timeline(request: Request) -> Response:
    _, principal, client = await caller(request)
    events = await _cases(request).timeline(principal, request.path_params["op_id"],
                                      request.path_params["case_id"], client)
    return JSONResponse({"timeline": [_event(e) for e in events]})


@api("The board as it stood at a past moment (after-action review)", "cases",
     {200: obj({"operation": string(), "at": number(), "version": integer(),
                "cases": array(obj()), "alerts": array(obj()), "events": array(obj()),
                "counts": obj()}, "operation", "at", "cases", "alerts")},
     query={"at": string(pattern=SECONDS_PATTERN)}, needs=("at",))
async def board_at(request: Request) -> Response:
    _, principal, client = await caller(request)
    at = time_param(request.query_params.get("at"), "at")
    if at is None:
        raise BadRequest("'at' (seconds since the epoch) is required")
    board = await _cases(request).board_at(principal, request.path_params["op_id"], at,
                                           client)
    return JSONResponse({"operation": board["operation"], "at": at,
                         "version": board["version"],
                         "cases": list(board["cases"].values()),
                         "alerts": list(board["alerts"].values()),
                         "events": board["events"], "counts": view(board)["counts"]})


@api("The operation's signed record, for after-action review and inquiries: filtered by "
     "the exporter's view (coordinators), or complete with complete=true (custodians)",
     "cases", {200: "application/zip"},
     query={"lang": enum(*LANGUAGES), "complete": enum("true", "false")})
async def export(request: Request) -> Response:
    _, principal, client = await caller(request)
    exporter: Exporter = request.app.state.exporter
    op_id = request.path_params["op_id"]
    lang = request.query_params.get("lang", "en")
    if lang not in LANGUAGES:
        raise BadRequest(f"'lang' must be one of {', '.join(LANGUAGES)}")
    complete = request.query_params.get("complete", "false")
    if complete not in ("true", "false"):
        raise BadRequest("'complete' must be true or false")
    archive = await exporter.export(principal, op_id, client, lang,
                                    complete=complete == "true")
    name = "".join(c for c in op_id if c.isalnum() or c in "-_")[:64]
    return Response(archive, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}-record.zip"'})


@api("The operation's event log", "cases",
     {200: obj({"events": array(ref("OpEvent")), "has_more": boolean(),
                "next_after_seq": integer()}, "events")},
     query={"after_seq": integer(minimum=0), "limit": integer(minimum=1, maximum=500)})
async def op_events(request: Request) -> Response:
    _, principal, client = await caller(request)
    after = int_param(request.query_params.get("after_seq"), "after_seq", default=0)
    limit = int_param(request.query_params.get("limit"), "limit", default=100, low=1,
                      high=500)
    assert after is not None and limit is not None
    events, next_after, more = await _cases(request).events(
        principal, request.path_params["op_id"], after, limit, client)
    return JSONResponse({"events": [_event(e) for e in events], "has_more": more,
                         "next_after_seq": next_after})


@api("Alert rules", "alerts", {200: obj({"rules": array(ref("Rule"))}, "rules")})
async def list_rules(request: Request) -> Response:
    _, principal, client = await caller(request)
    rules = await _alerts(request).list_rules(principal, request.path_params["op_id"], client)
    return JSONResponse({"rules": rules})


def _record(event: OpEvent) -> Response:
    return JSONResponse({**event.data["record"], "version": event.version},  # type: ignore[dict-item]
                        status_code=201 if event.action == "created" else 200)


@api("Create or replace a rule (coordinators)", "alerts",
     {201: ref("Rule"), 200: ref("Rule")}, body=schema(RuleBody))
async def put_rule(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), RuleBody)
    return _record(await _alerts(request).put_rule(principal, request.path_params["op_id"], body,
                                             client))


@api("What a rule would match now", "alerts",
     {200: obj({"matches": array(obj())}, "matches")}, body=schema(RuleBody))
async def dry_run_rule(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), RuleBody)
    matches = await _alerts(request).dry_run(principal, request.path_params["op_id"], body, client)
    return JSONResponse({"matches": matches})


@api("Escalation policies", "alerts",
     {200: obj({"policies": array(ref("Policy"))}, "policies")})
async def list_policies(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _alerts(request).list_policies(principal, request.path_params["op_id"], client)
    return JSONResponse({"policies": items})


@api("Create or replace an escalation policy (coordinators)", "alerts",
     {201: ref("Policy"), 200: ref("Policy")}, body=schema(PolicyBody))
async def put_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), PolicyBody)
    event = await _alerts(request).put_policy(principal, request.path_params["op_id"], body, client)
    return _record(event)


@api("Silences, current and past", "alerts",
     {200: obj({"silences": array(ref("Silence"))}, "silences")})
async def list_silences(request: Request) -> Response:
    _, principal, client = await caller(request)
    items = await _alerts(request).list_silences(principal, request.path_params["op_id"], client)
    return JSONResponse({"silences": items})


@api("Silence matching alerts for a while", "alerts",
     {201: ref("Silence"), 200: ref("Silence")}, body=schema(SilenceBody))
async def create_silence(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), SilenceBody)
    event = await _alerts(request).create_silence(principal, request.path_params["op_id"], body,
                                            client)
    return _record(event)


@api("End a silence now", "alerts", {200: ref("Silence")})
async def expire_silence(request: Request) -> Response:
    _, principal, client = await caller(request)
    event = await _alerts(request).expire_silence(principal, request.path_params["op_id"],
                                            request.path_params["silence_id"], client)
    return _record(event)


@api("Alerts; with lang, each with its kept translation into it", "alerts",
     {200: obj({"alerts": array(ref("Alert"))}, "alerts")},
     query={"state": enum("firing", "acknowledged", "resolved"), "lang": _LANG})
async def list_alerts(request: Request) -> Response:
    _, principal, client = await caller(request)
    state, lang = request.query_params.get("state"), _lang(request)
    alerts: list[Any] = await _alerts(request).list_alerts(
        principal, request.path_params["op_id"], client, state)
    if lang is not None and alerts:
        found = await request.app.state.services.alert_translations.for_readers_of(
            OperationId(alerts[0]["operation_id"]),
            ((a["id"], a["summary"]) for a in alerts if not a.get("summary_words")), lang)
        alerts = [{**a, "translation": found[a["id"]]} if a["id"] in found else a
                  for a in alerts]
    return JSONResponse({"alerts": alerts})


@api("Push an alert (the same fingerprint while active counts a repeat)", "alerts",
     {201: ref("Alert"), 200: ref("Alert")}, body=schema(PushedAlert))
async def push_alert(request: Request) -> Response:
    _, principal, client = await caller(request)
    pushed = convert(await json_body(request), PushedAlert)
    event, created = await _pushes(request).push(principal, request.path_params["op_id"],
                                                 pushed, client)
    return JSONResponse({**answered(event.data["record"], event.version),  # type: ignore[arg-type]
                         "duplicate": not created}, status_code=201 if created else 200)


#: ``route=`` of a receiver's URL: up to 50 targets (see ``Target``) between commas.
_TARGET = (r"(assignees|coordinators|everyone|role:(coordinator|member|observer)"
           r"|(agency|user|channel):[^,]{0,63}[^,\s])")
ROUTE_QUERY = rf"^[\s,]*({_TARGET}\s*(,[\s,]*|$)){{0,50}}$"


@api("An Alertmanager (v4) or Grafana webhook body, unchanged", "alerts",
     {200: obj({"alerts": array(ref("ReceivedAlert"))}, "alerts")},
     body=schema(Notification),
     query={"severity_label": string(64, minLength=1), "route": string(pattern=ROUTE_QUERY),
            "escalation": string(64)})
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
    alerts = body.get("alerts")
    incoming = await off_the_loop(read_notification, body, severity_label=label,
                                  large=isinstance(alerts, list) and len(alerts) > 50)
    results = await _pushes(request).receive(
        principal, request.path_params["op_id"], incoming,
        route=route, policy=query.get("escalation"), client=client)
    return JSONResponse({"alerts": results})


@api("Acknowledge (ack) or resolve an alert", "alerts", {200: ref("Alert")},
     path={"action": enum("ack", "resolve")})
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
    return JSONResponse(answered(event.data["record"], event.version))  # type: ignore[arg-type]


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
    Route("/api/operations/{op_id}/cases/{case_id}/files/{index}", case_file,
          methods=["GET"]),
    Route("/api/operations/{op_id}/cases/{case_id}/comments", comment_case, methods=["POST"]),
    Route("/api/operations/{op_id}/cases/{case_id}/timeline", case_timeline, methods=["GET"]),
    Route("/api/operations/{op_id}/events", op_events, methods=["GET"]),
    Route("/api/operations/{op_id}/board", board_at, methods=["GET"]),
    Route("/api/operations/{op_id}/export", export, methods=["GET"]),
]
