"""The composition root: the one module of ``hub`` that knows the features.

:func:`build_services` builds one hub's object graph from its settings in one
straight-line function, so the whole graph reads top to bottom in one place;
:func:`create_app` serves it, and the CLI and the demo use the same factory.
Nothing else constructs these parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, WebSocketRoute
from starlette.types import ASGIApp

import hub
from alerting import frames as case_frames
from alerting import routes as case_routes
from alerting import translation_routes
from alerting.api_schemas import ALERTING_SCHEMAS
from alerting.cases.service import CaseService
from alerting.cases.translations import CaseTranslations
from alerting.documents import PolicyDoc, RuleDoc
from alerting.interop import cap_routes, outgoing_routes
from alerting.interop.cap_service import CapService
from alerting.interop.outgoing_dispatcher import Dispatcher
from alerting.interop.outgoing_sender import Sender, parse_networks
from alerting.interop.outgoing_service import OutgoingWebhooks
from alerting.pipeline.ack_sets import AckSets
from alerting.pipeline.alert_translations import AlertTranslations
from alerting.pipeline.consumer import Evaluator
from alerting.pipeline.delivery_checks import DeliveryChecks
from alerting.pipeline.operation import Pipeline
from alerting.pipeline.push import PushedAlerts
from alerting.pipeline.records import AlertRecords
from alerting.pipeline.service import AlertService
from alerting.pipeline.urgent import UrgentMessages
from alerting.record.export import Exporter
from alerting.rules.rulefile import RuleFile, apply_rule_file, load_rule_file
from channels import frames as chat_frames
from channels import language_routes, upload_routes, webhook_routes
from channels import routes as channel_routes
from channels.access import Access
from channels.blob_sweep import BlobSweep
from channels.bodies import message_schema
from channels.file_policy import FilePolicies
from channels.languages import Languages
from channels.service import ChannelService
from channels.translations import MessageTranslations
from channels.uploads import Uploads
from channels.webhooks import SCHEMAS as WEBHOOK_SCHEMAS
from channels.webhooks import IncomingWebhooks
from hub import __version__
from hub import routes as hub_routes
from hub.api_schemas import CORE_SCHEMAS, under_policy
from hub.auditor import Auditor
from hub.auth import Authenticator, Passwords
from hub.blobs import FileBlobs
from hub.clock import Clock, SystemClock
from hub.config import Settings
from hub.context import Hub
from hub.endpoint import websocket_endpoint
from hub.engine import Engine, build_engine
from hub.errors import HubError
from hub.feeds import Feeds
from hub.gcpolicy import GcPolicy
from hub.handlers import Handlers
from hub.headers import CSP, SecurityHeaders, content_security_policy
from hub.http import error_response
from hub.language.detect import Detector
from hub.language.engines import engine_from_url
from hub.language.translator import Translator
from hub.logs import redact_path, silence_frame_traces
from hub.metrics import Metrics
from hub.models import OperationId
from hub.node import Node, cancel_all
from hub.openapi import document
from hub.scanner import scanner_for
from hub.signing import KeyFile
from hub.static import Assets
from hub.tilearchive import TileArchive
from hub.timestamps import Stamper
from hub.wsserver import HubWebSocketProtocol, WebSocketFirst

__all__ = ["CSP", "WEB_DIR", "Services", "app_from_env", "build_services",
           "content_security_policy", "create_app", "server_config", "server_options"]

log = logging.getLogger("liaison.app")

def _web_dir() -> Path:
    """The browser client: a checkout's top-level ``web/``, else the copy an installed
    wheel carries as ``hub/web`` (pyproject.toml maps the one onto the other)."""
    checkout = Path(__file__).resolve().parent.parent / "web"
    installed = Path(hub.__file__).resolve().parent / "web"
    return checkout if (checkout / "index.html").is_file() else installed


WEB_DIR = _web_dir()

async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_request")
    return JSONResponse({"error": {"code": code, "message": str(exc.detail),
                                   "retryable": False}}, status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": redact_path(request.url.path)},
                  exc_info=exc)
    return JSONResponse({"error": {"code": "internal", "message": "internal error",
                                   "retryable": True}}, status_code=500)


@dataclass(frozen=True, slots=True)
class Services:
    """One hub: its core (what routes and the gateway see) and the features' services."""

    hub: Hub
    channels: ChannelService
    cases: CaseService
    alerts: AlertService
    pushes: PushedAlerts
    pipeline: Pipeline
    evaluator: Evaluator
    webhooks: IncomingWebhooks
    cap: CapService
    outgoing: OutgoingWebhooks
    dispatcher: Dispatcher
    exporter: Exporter
    blobs: FileBlobs
    uploads: Uploads
    file_policies: FilePolicies
    sweep: BlobSweep
    languages: Languages
    translations: MessageTranslations
    case_translations: CaseTranslations
    alert_translations: AlertTranslations

    def check_rule_file(self, path: str) -> tuple[int, int]:
        """(rules, policies) in a valid rule file; raises ``ValueError`` naming the mistake."""
        rule_file = load_rule_file(path)
        return len(rule_file.rules), len(rule_file.policies)

    async def apply_rules(self, op_id: str, rules: list[RuleDoc],
                          policies: list[PolicyDoc], *, actor: str,
                          now: float) -> list[str]:
        """Store rules and policies given as data, like a rule file's."""
        return await apply_rule_file(self.hub.engine.store, OperationId(op_id),
                                     RuleFile(rules, policies), actor=actor, now=now)

    async def load_rule_file(self, op_id: str, path: str, *, actor: str,
                             now: float) -> list[str]:
        """Store a rule file's rules and policies in an operation; returns what changed."""
        return await apply_rule_file(self.hub.engine.store, OperationId(op_id),
                                     load_rule_file(path), actor=actor, now=now)


def build_services(settings: Settings, *, clock: Clock | None = None,
                   engine: Engine | None = None) -> Services:
    """Wire one hub: engine -> audit -> auth -> access -> services -> node -> handlers."""
    clock = clock or SystemClock()
    engine = engine or build_engine(settings)
    metrics = Metrics()
    keys = KeyFile(settings.export_key_path)
    stamper = Stamper(settings.tsa_url, settings.tsa_timeout_seconds) if settings.tsa_url \
        else None
    auditor = Auditor(engine.store, clock, keys=keys, stamper=stamper,
                      every_records=settings.audit_checkpoint_records,
                      every_seconds=settings.audit_checkpoint_seconds)
    auth = Authenticator(settings=settings, store=engine.store, clock=clock, auditor=auditor,
                         passwords=Passwords(settings), limits=engine.limits)
    access = Access(engine.store, auditor, settings.labels, clock=clock,
                    cache_seconds=settings.access_cache_seconds)
    channels = ChannelService(settings=settings, store=engine.store, broker=engine.broker,
                              presence=engine.presence, clock=clock, auditor=auditor,
                              access=access, limits=engine.limits)
    node = Node(store=engine.store, broker=engine.broker, presence=engine.presence,
                limits=engine.limits,
                clock=clock, metrics=metrics,
                revocation_poll_seconds=settings.revocation_poll_seconds,
                presence_heartbeat_seconds=settings.presence_ttl_seconds / 3,
                gc_policy=GcPolicy(enabled=settings.gc_freeze,
                                   full_every=settings.gc_full_collect_seconds),
                labels=settings.labels, node_id=engine.node_id)
    node.on_control.append(access.forget)
    node.on_sweep.append(auditor.tick)
    cases = CaseService(store=engine.store, clock=clock, access=access)
    defaults = load_rule_file(settings.rules_file) if settings.rules_file else RuleFile()
    records = AlertRecords(store=engine.store, clock=clock, auditor=auditor)
    pipeline = Pipeline(store=engine.store, records=records, channels=channels,
                        global_rules=defaults.rules, global_policies=defaults.policies)
    evaluator = Evaluator(store=engine.store, clock=clock, pipeline=pipeline, tap=node,
                          node_id=node.id, lease_seconds=settings.alerting_lease_seconds)
    checks = DeliveryChecks(store=engine.store, access=access,
                            global_policy_ids=[str(p.get("id")) for p in defaults.policies])
    alerts = AlertService(store=engine.store, clock=clock, access=access, auditor=auditor,
                          records=records, checks=checks, global_rules=defaults.rules)
    pushes = PushedAlerts(store=engine.store, clock=clock, access=access, records=records,
                          checks=checks, resend_window=settings.alert_resend_seconds)
    feeds = Feeds(default=channels, by_prefix={"ops": cases})
    handlers = Handlers()
    translator = Translator(
        engine_from_url(settings.translation_engine, api_key=settings.translation_api_key,
                        timeout=settings.translation_timeout_seconds),
        clock, concurrency=settings.translation_concurrency) \
        if settings.translation_engine else None
    languages = Languages(store=engine.store, access=access, auditor=auditor, clock=clock,
                          settings=settings, translator=translator)
    detector = Detector()
    case_translations = CaseTranslations(store=engine.store, broker=engine.broker,
                                         access=access,
                                         languages=languages, translator=translator,
                                         clock=clock, detector=detector, auditor=auditor)
    alert_translations = AlertTranslations(store=engine.store, broker=engine.broker,
                                           access=access, languages=languages,
                                           translator=translator, clock=clock,
                                           detector=detector)
    chat_frames.register(handlers, channels)
    case_frames.register(handlers, cases, channels, case_translations, alert_translations)
    hub = Hub(settings=settings, clock=clock, engine=engine, metrics=metrics, auditor=auditor,
              auth=auth, feeds=feeds, handlers=handlers, node=node, translator=translator)
    webhooks = IncomingWebhooks(settings=settings, store=engine.store, clock=clock,
                                auditor=auditor, access=access, limits=engine.limits,
                                refusals=auth.refusals)
    blobs = FileBlobs(settings.blob_path)
    cap = CapService(settings=settings, store=engine.store, clock=clock, access=access,
                     cases=cases, pushes=pushes, blobs=blobs, translations=case_translations,
                     alert_translations=alert_translations)
    sender = Sender(allow=parse_networks(settings.webhook_allow_networks),
                    timeout=settings.webhook_timeout_seconds)
    outgoing = OutgoingWebhooks(store=engine.store, clock=clock, auditor=auditor,
                                access=access, sender=sender)
    dispatcher = Dispatcher(store=engine.store, clock=clock, access=access, sender=sender,
                            node_id=node.id, lease_seconds=settings.alerting_lease_seconds,
                            public_url=settings.public_url,
                            link_seconds=settings.webhook_link_seconds)
    exporter = Exporter(store=engine.store, access=access, clock=clock, keys=keys,
                        blobs=blobs, stamper=stamper)
    ack_sets = AckSets(store=engine.store, records=records, policy=access.policy,
                       clock=clock)
    urgent = UrgentMessages(store=engine.store, records=records, clock=clock, access=access,
                            ack_sets=ack_sets)
    channels.messages.on_each_agency = urgent.track
    channels.messages.on_acknowledged = urgent.acknowledged
    channels.on_membership = ack_sets.membership_changed
    policies = FilePolicies(store=engine.store, access=access, auditor=auditor, clock=clock,
                            settings=settings)
    uploads = Uploads(store=engine.store, access=access, clock=clock, blobs=blobs,
                      settings=settings, policies=policies, scanner=scanner_for(settings))
    channels.messages.attachable = uploads.attachable
    sweep = BlobSweep(store=engine.store, blobs=blobs, clock=clock, node_id=node.id,
                      grace=settings.upload_expiry_seconds)
    channels.redactions.on_redacted = sweep.release
    cases.attachable = uploads.for_case
    translations = MessageTranslations(store=engine.store, broker=engine.broker,
                                       access=access, languages=languages,
                                       translator=translator, clock=clock, auditor=auditor,
                                       detector=detector)
    if translator is not None:  # else a publish does nothing more than before
        channels.messages.on_stored = translations.stored
        cases.on_written = case_translations.written
        pushes.on_raised = alert_translations.raised
    return Services(hub=hub, channels=channels, cases=cases, alerts=alerts, pushes=pushes,
                    pipeline=pipeline, evaluator=evaluator, webhooks=webhooks, cap=cap,
                    outgoing=outgoing, dispatcher=dispatcher, exporter=exporter,
                    blobs=blobs, uploads=uploads, file_policies=policies, sweep=sweep,
                    languages=languages, translations=translations,
                    case_translations=case_translations,
                    alert_translations=alert_translations)


def create_app(settings: Settings, *, clock: Clock | None = None,
               engine: Engine | None = None) -> Starlette:
    """The hub as an ASGI app: :func:`build_services`, its lifespan and its routes."""
    services = build_services(settings, clock=clock, engine=engine)
    engine, node, evaluator = services.hub.engine, services.hub.node, services.evaluator
    dispatcher = services.dispatcher
    tiles = TileArchive(Path(settings.map_tile_archive)) if settings.map_tile_archive else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.store.open()
        await asyncio.to_thread(services.blobs.open)
        await node.start()
        await evaluator.tick()  # take the lease if free and catch up before serving
        pipeline = asyncio.create_task(evaluator.run(), name="alert-pipeline")
        deliveries = asyncio.create_task(dispatcher.run(), name="webhook-dispatcher")
        expiry = asyncio.create_task(services.uploads.run(), name="upload-expiry")
        sweeping = asyncio.create_task(services.sweep.run(settings.blob_sweep_seconds),
                                       name="blobs")
        retrying = asyncio.create_task(
            services.translations.run(settings.translation_retry_seconds), name="translations")
        try:
            yield
        finally:
            await cancel_all([pipeline, deliveries, expiry, sweeping, retrying])
            await services.translations.stop()
            await dispatcher.stop()
            await evaluator.stop()
            await node.stop()
            await engine.store.close()
            if tiles is not None:
                tiles.close()

    app = Starlette(
        routes=[
            *hub_routes.routes,
            *channel_routes.routes,
            *webhook_routes.routes,
            *upload_routes.routes,
            *language_routes.routes,
            *cap_routes.routes,
            *outgoing_routes.routes,
            *case_routes.routes,
            *translation_routes.routes,
            WebSocketRoute("/ws", websocket_endpoint),
            Mount("/", Assets(directory=WEB_DIR), name="web"),
        ],
        middleware=[Middleware(SecurityHeaders, csp=content_security_policy(settings))],
        exception_handlers={HubError: _hub_error, HTTPException: _http_error,
                            Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.openapi = under_policy(document(
        app.routes, title="Liaison Hub", version=__version__,
        description="The REST API of Liaison Hub. The WebSocket protocol is in "
                    "docs/protocol.md; the same errors and codes apply.",
        schemas={**CORE_SCHEMAS, "Message": message_schema(), **WEBHOOK_SCHEMAS,
                 **ALERTING_SCHEMAS}), settings.labels)
    app.state.hub = services.hub
    app.state.tiles = tiles
    app.state.services = services
    app.state.channels = services.channels
    app.state.webhooks = services.webhooks
    app.state.uploads = services.uploads
    app.state.cap = services.cap
    app.state.outgoing = services.outgoing
    app.state.cases = services.cases
    app.state.alerts = services.alerts
    app.state.pushes = services.pushes
    app.state.exporter = services.exporter
    return app


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings for the hub: its WebSocket protocol (uvicorn's sans-I/O one with
    a direct write, :mod:`hub.wsserver`), frame limit, no deflate, no proxy headers."""
    return {
        "host": settings.host, "port": settings.port, "ws": HubWebSocketProtocol,
        "ws_max_size": settings.max_frame_bytes, "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_interval,
        "ws_ping_timeout": settings.ws_ping_interval,
        "log_config": None, "access_log": False, "proxy_headers": False,
        "server_header": False, "lifespan": "on", "timeout_graceful_shutdown": 5,
    }


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    silence_frame_traces()
    return uvicorn.Config(entry_point(app), **server_options(settings))


def entry_point(app: Starlette) -> ASGIApp:
    """What the server runs: ``/ws`` straight to its endpoint, the rest to ``app``."""
    return WebSocketFirst(app, "/ws", websocket_endpoint)


def app_from_env() -> ASGIApp:
    """App factory for worker processes: settings from the environment, as the CLI left it."""
    from hub.config_sources import load_settings
    from hub.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    silence_frame_traces()
    return entry_point(create_app(settings))
