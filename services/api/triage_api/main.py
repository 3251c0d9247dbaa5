"""The API service: REST API, dashboard and the flag consumer, composed in `create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, unquote_plus

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send
from triage_bus.profile import BrokerProfile
from triage_bus.settings import get_bus_settings

from triage_api.actions import ActionPublisher, ActionResultConsumer, KafkaActionPublisher, NoPublisher
from triage_api.analytics import views as analytics_views
from triage_api.audit import views as audit_views
from triage_api.body_limit import LimitRequestBody
from triage_api.comments import learning
from triage_api.comments import service as comments
from triage_api.comments import views as comment_views
from triage_api.comments.consumer import CommentConsumer
from triage_api.config import ApiSettings, get_settings
from triage_api.dashboard import stream as stream_views
from triage_api.dashboard import views as dashboard_views
from triage_api.db import make_engine, make_sessionmaker, migrate
from triage_api.drafts import service as drafts
from triage_api.drafts import views as draft_views
from triage_api.errors import ERROR_RESPONSES
from triage_api.errors import install as install_errors
from triage_api.flags import desk_views, first_action
from triage_api.flags import views as flag_views
from triage_api.flags.consumer import FlagConsumer
from triage_api.flags.retention import purge_text, run_retention
from triage_api.flags.sla import Targets
from triage_api.headers import SecurityHeaders
from triage_api.oncall import views as alert_views
from triage_api.oncall.channels import build_channels
from triage_api.oncall.config import OncallSettings, get_oncall_settings
from triage_api.oncall.consumer import AlertConsumer
from triage_api.oncall.notifier import Notifier
from triage_api.outbox import OutboxRelay
from triage_api.params import safe_link
from triage_api.replies.accounts import AccountBook
from triage_api.replies.catalogue import load_catalogue
from triage_api.routing import views as routing_views
from triage_api.routing.service import Router, RoutingConfig
from triage_api.staff import admin_views
from triage_api.staff import views as staff_views
from triage_api.staff.oidc import OidcClient
from triage_api.staff.service import ensure_bootstrap_admin

log = logging.getLogger(__name__)
DASHBOARD = Path(__file__).parent / "dashboard"


def create_app(
    settings: ApiSettings | None = None,
    profile: BrokerProfile | None = None,
    oncall: OncallSettings | None = None,
    http_transport: httpx.AsyncBaseTransport | None = None,
    action_publisher: ActionPublisher | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    oncall = oncall or get_oncall_settings()
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    targets = Targets(settings.sla_seconds())
    # The first staff action on a flag, in this app's sessions only, feeds the time-to-first-action metric.
    first_action.install(factory, targets)
    http = httpx.AsyncClient(transport=http_transport, headers={"User-Agent": "triage-oncall/1"})
    notifier = Notifier(
        oncall,
        factory,
        build_channels(oncall.channels, http),
        targets=targets,
        gauges=(learning.refresh_gauges,),  # misses found by people, precision from feedback
    )
    accounts = AccountBook.load(settings.accounts_file)
    router = Router(RoutingConfig.load(settings.routing_file), targets)

    load_catalogue()  # a malformed catalogue fails at start-up, not at the first reply
    relay = OutboxRelay(
        engine,
        factory,
        action_publisher or NoPublisher(),
        poll_interval=settings.outbox_poll_seconds,
        retry_base=settings.outbox_retry_base_seconds,
        retry_max=settings.outbox_retry_max_seconds,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(migrate, engine)
        with factory() as db:
            generated = ensure_bootstrap_admin(
                db,
                settings.bootstrap_admin_username,
                settings.bootstrap_admin_password.get_secret_value()
                if settings.bootstrap_admin_password
                else None,
                settings.bootstrap_admin_token.get_secret_value() if settings.bootstrap_admin_token else None,
            )
        if generated:
            # Shown once, on the operator's console, for the first sign-in.
            log.warning(
                "bootstrap admin created: username=%s password=%s",
                settings.bootstrap_admin_username,
                generated,
            )
        tasks = [asyncio.create_task(notifier.run(), name="oncall-notifier")]
        if settings.retention_days > 0:
            tasks.append(
                asyncio.create_task(
                    run_retention(factory, settings.retention_days, purges=(purge_text, drafts.purge_old)),
                    name="retention",
                )
            )
        if settings.comments_retention_days > 0:
            tasks.append(
                asyncio.create_task(
                    run_retention(factory, settings.comments_retention_days, purges=(comments.purge_old,)),
                    name="comments-retention",
                )
            )
        kafka_publisher: KafkaActionPublisher | None = None
        if settings.consumer_enabled:
            bus = profile or BrokerProfile.from_settings(get_bus_settings())
            consumer = FlagConsumer(
                bus, factory, settings.consumer_group, router, forget=comments.forget_deleted
            )
            alerts = AlertConsumer(bus, factory, f"{settings.consumer_group}-alerts", notifier.wake)
            results = ActionResultConsumer(bus, factory, f"{settings.consumer_group}-actions")
            judged = CommentConsumer(bus, factory, f"{settings.consumer_group}-comments")
            app.state.comment_consumer = judged
            app.state.consumer = consumer
            app.state.alert_consumer = alerts
            app.state.action_consumer = results
            if action_publisher is None:
                kafka_publisher = KafkaActionPublisher(bus)
                app.state.action_publisher = kafka_publisher
            tasks.append(asyncio.create_task(consumer.run(), name="flag-consumer"))
            tasks.append(asyncio.create_task(alerts.run(), name="alert-consumer"))
            tasks.append(asyncio.create_task(results.run(), name="action-result-consumer"))
            tasks.append(asyncio.create_task(judged.run(), name="comment-consumer"))
        relay.publisher = app.state.action_publisher
        if not isinstance(relay.publisher, NoPublisher):  # without a bus, entries wait for a replica with one
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        for task in tasks:
            task.add_done_callback(_crash_on_consumer_failure)
        # What start-up built (modules, the app, mappers, schemas) lives as long as the process: kept out of
        # the garbage collector's generations, a full collection no longer walks it in the middle of requests.
        gc.freeze()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if kafka_publisher is not None:
                await kafka_publisher.stop()
            await http.aclose()
            if app.state.oidc is not None:
                await app.state.oidc.aclose()
            engine.dispose()

    # Every operation declares the error shape of its 4xx answers (`errors.ErrorOut`).
    app = FastAPI(title="Triage API", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES)
    app.add_middleware(RefuseNulCharacters)
    # Outermost last: bodies are capped before anything reads them (authentication included), and every
    # answer, a 413 or a refused NUL too, carries the security headers.
    app.add_middleware(LimitRequestBody, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)

    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.consumer = None
    app.state.alert_consumer = None
    app.state.action_consumer = None
    app.state.comment_consumer = None
    app.state.action_publisher = action_publisher or NoPublisher()
    app.state.outbox_relay = relay
    app.state.oidc = OidcClient(settings) if settings.oidc_enabled else None
    app.state.accounts = accounts
    app.state.sla = targets
    app.state.router = router
    app.state.notifier = notifier
    app.state.templates = Jinja2Templates(directory=DASHBOARD / "templates")
    app.state.templates.env.filters["safe_link"] = safe_link  # only http(s) links are rendered as links
    dashboard_views.install_filters(app.state.templates.env)
    app.mount("/static", StaticFiles(directory=DASHBOARD / "static"), name="static")
    install_errors(app)
    app.include_router(desk_views.router)
    app.include_router(flag_views.router)
    app.include_router(audit_views.router)
    app.include_router(routing_views.router)
    app.include_router(admin_views.router)
    app.include_router(stream_views.router)
    app.include_router(staff_views.router)
    app.include_router(alert_views.router)
    app.include_router(analytics_views.router)
    app.include_router(draft_views.router)
    app.include_router(draft_views.page_router)
    app.include_router(comment_views.router)
    app.include_router(comment_views.page_router)
    app.include_router(dashboard_views.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "Not ready: `problems` says why"}})
    def readyz(request: Request) -> Response:
        """Readiness: the database answers and the flag consumer is running."""
        problems = []
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready
            problems.append(f"database: {type(exc).__name__}")
        consumer = request.app.state.consumer
        if settings.consumer_enabled and (consumer is None or not consumer.running):
            problems.append("consumer: not running")
        alerts = request.app.state.alert_consumer
        if settings.consumer_enabled and (alerts is None or not alerts.running):
            problems.append("alert consumer: not running")
        results = request.app.state.action_consumer
        if settings.consumer_enabled and (results is None or not results.running):
            problems.append("action result consumer: not running")
        judged = request.app.state.comment_consumer
        if settings.consumer_enabled and (judged is None or not judged.running):
            problems.append("comment consumer: not running")
        status = 200 if not problems else 503
        return JSONResponse({"status": "ok" if not problems else "unavailable", "problems": problems}, status)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


class RefuseNulCharacters:
    """No id or filter legitimately holds a NUL, and PostgreSQL refuses them in text: a path with one names
    nothing (404), a query parameter with one is invalid (422).

    A plain ASGI middleware: `@app.middleware("http")` (Starlette's BaseHTTPMiddleware) runs every request
    through an extra task and memory streams, which cost more CPU than the check itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response: Response | None = None
            if "\x00" in unquote(scope["path"]):
                response = JSONResponse({"detail": "not found"}, status_code=404)
            elif names := _names_with_nul(scope["query_string"].decode("latin-1")):
                # shaped like FastAPI's own validation errors: a list, each at its parameter
                issues = [
                    {"type": "value_error", "loc": ["query", name], "msg": NUL_REFUSED} for name in names
                ]
                response = JSONResponse({"detail": issues}, status_code=422)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


NUL_REFUSED = "NUL characters are not allowed in parameters"


def _names_with_nul(query: str) -> list[str]:
    """The names of the query parameters whose name or value holds a NUL (the name without it)."""
    names = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if "\x00" in unquote_plus(name) or "\x00" in unquote_plus(value):
            names.append(unquote_plus(name).replace("\x00", ""))
    return names


def _crash_on_consumer_failure(task: asyncio.Task[None]) -> None:
    """An infrastructure failure in the consumer ends the process, so the supervisor restarts it."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.critical("%s failed: %r; exiting", task.get_name(), exc)
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)


def serve() -> None:
    import uvicorn

    settings = get_settings()
    # Bounded graceful shutdown: open event streams (/api/stream) would otherwise hold Ctrl-C indefinitely.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
