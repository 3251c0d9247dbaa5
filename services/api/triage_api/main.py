"""The API service: REST API, dashboard and the flag consumer, composed in `create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_plus

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
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
    """The API, composed in steps: the settings, the parts built from them (database and sessions, routing,
    on-call, outbox), the routes, the consumers and background tasks the lifespan runs, and the middleware.
    Everything the packages need is passed to them here; none reads the settings itself."""
    settings = settings or get_settings()
    parts = _build_parts(settings, oncall or get_oncall_settings(), http_transport, action_publisher)
    # Every operation declares the error shape of its 4xx answers (`errors.ErrorOut`).
    app = FastAPI(
        title="Triage API",
        version="0.1.0",
        lifespan=_lifespan(settings, parts, profile, own_publisher=action_publisher is None),
        responses=ERROR_RESPONSES,
    )
    _keep_state(app, settings, parts)
    _add_routes(app, settings, parts.engine)
    _add_middleware(app, settings)
    return app


@dataclass(frozen=True)
class Parts:
    """What `create_app` builds from the settings and hands to the packages (kept on `app.state` too)."""

    engine: Engine
    sessions: sessionmaker[Session]
    sla: Targets
    router: Router
    accounts: AccountBook
    http: httpx.AsyncClient
    notifier: Notifier
    relay: OutboxRelay


def _build_parts(
    settings: ApiSettings,
    oncall: OncallSettings,
    http_transport: httpx.AsyncBaseTransport | None,
    action_publisher: ActionPublisher | None,
) -> Parts:
    """The database engine and the app's sessions (with the first-action hook), the SLA targets and the
    router, the on-call notifier, the accounts and the outbox relay."""
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    targets = Targets(settings.sla_seconds())
    # The first staff action on a flag, in this app's sessions only, feeds the time-to-first-action metric.
    first_action.install(sessions, targets)
    http = httpx.AsyncClient(transport=http_transport, headers={"User-Agent": "triage-oncall/1"})
    notifier = Notifier(
        oncall,
        sessions,
        build_channels(oncall.channels, http),
        targets=targets,
        gauges=(learning.refresh_gauges,),  # misses found by people, precision from feedback
    )
    load_catalogue()  # a malformed catalogue fails at start-up, not at the first reply
    relay = OutboxRelay(
        engine,
        sessions,
        action_publisher or NoPublisher(),
        poll_interval=settings.outbox_poll_seconds,
        retry_base=settings.outbox_retry_base_seconds,
        retry_max=settings.outbox_retry_max_seconds,
    )
    return Parts(
        engine=engine,
        sessions=sessions,
        sla=targets,
        router=Router(RoutingConfig.load(settings.routing_file), targets),
        accounts=AccountBook.load(settings.accounts_file),
        http=http,
        notifier=notifier,
        relay=relay,
    )


def _keep_state(app: FastAPI, settings: ApiSettings, parts: Parts) -> None:
    """What the views and the request helpers (`deps`) read from `request.app.state`."""
    app.state.settings = settings
    app.state.engine = parts.engine
    app.state.sessionmaker = parts.sessions
    app.state.sla = parts.sla
    app.state.router = parts.router
    app.state.accounts = parts.accounts
    app.state.notifier = parts.notifier
    app.state.outbox_relay = parts.relay
    app.state.action_publisher = parts.relay.publisher
    app.state.oidc = OidcClient(settings) if settings.oidc_enabled else None
    app.state.consumer = None  # the consumers are set when the lifespan starts them
    app.state.alert_consumer = None
    app.state.action_consumer = None
    app.state.comment_consumer = None
    app.state.templates = Jinja2Templates(directory=DASHBOARD / "templates")
    app.state.templates.env.filters["safe_link"] = safe_link  # only http(s) links are rendered as links
    dashboard_views.install_filters(app.state.templates.env)


VIEWS = (
    desk_views.router,
    flag_views.router,
    audit_views.router,
    routing_views.router,
    admin_views.router,
    stream_views.router,
    staff_views.router,
    alert_views.router,
    analytics_views.router,
    draft_views.router,
    draft_views.page_router,
    comment_views.router,
    comment_views.page_router,
    dashboard_views.router,
)
CONSUMERS = {  # app.state attribute: what /readyz calls it
    "consumer": "consumer",
    "alert_consumer": "alert consumer",
    "action_consumer": "action result consumer",
    "comment_consumer": "comment consumer",
}


def _add_routes(app: FastAPI, settings: ApiSettings, engine: Engine) -> None:
    app.mount("/static", StaticFiles(directory=DASHBOARD / "static"), name="static")
    install_errors(app)
    for router in VIEWS:
        app.include_router(router)

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
        for attribute, name in CONSUMERS.items():
            consumer = getattr(request.app.state, attribute)
            if settings.consumer_enabled and (consumer is None or not consumer.running):
                problems.append(f"{name}: not running")
        status = 200 if not problems else 503
        return JSONResponse({"status": "ok" if not problems else "unavailable", "problems": problems}, status)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _lifespan(
    settings: ApiSettings, parts: Parts, profile: BrokerProfile | None, own_publisher: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start-up (schema, first admin), the background tasks and consumers, and their shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(_prepare_database, settings, parts)
        tasks = _background_tasks(settings, parts)
        kafka_publisher: KafkaActionPublisher | None = None
        if settings.consumer_enabled:
            bus = profile or BrokerProfile.from_settings(get_bus_settings())
            tasks += _start_consumers(app, settings, parts, bus)
            if own_publisher:
                kafka_publisher = KafkaActionPublisher(bus)
                app.state.action_publisher = kafka_publisher
        parts.relay.publisher = app.state.action_publisher
        if not isinstance(
            parts.relay.publisher, NoPublisher
        ):  # without a bus, entries wait for a replica with one
            tasks.append(asyncio.create_task(parts.relay.run(), name="outbox-relay"))
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
            await parts.http.aclose()
            if app.state.oidc is not None:
                await app.state.oidc.aclose()
            parts.engine.dispose()

    return lifespan


def _prepare_database(settings: ApiSettings, parts: Parts) -> None:
    """The newest schema, and the first admin account when there is none."""
    migrate(parts.engine)
    with parts.sessions() as db:
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
            "bootstrap admin created: username=%s password=%s", settings.bootstrap_admin_username, generated
        )


def _background_tasks(settings: ApiSettings, parts: Parts) -> list[asyncio.Task[None]]:
    """The on-call notifier and the retention sweeps."""
    tasks = [asyncio.create_task(parts.notifier.run(), name="oncall-notifier")]
    if settings.retention_days > 0:
        purges = (purge_text, drafts.purge_old)
        sweep = run_retention(parts.sessions, settings.retention_days, purges=purges)
        tasks.append(asyncio.create_task(sweep, name="retention"))
    if settings.comments_retention_days > 0:
        sweep = run_retention(parts.sessions, settings.comments_retention_days, purges=(comments.purge_old,))
        tasks.append(asyncio.create_task(sweep, name="comments-retention"))
    return tasks


def _start_consumers(
    app: FastAPI, settings: ApiSettings, parts: Parts, bus: BrokerProfile
) -> list[asyncio.Task[None]]:
    """The bus's topics into the database: flags (routed by the app's router; a deletion also forgets All
    comments' text), alerts, action results and judged comments."""
    group = settings.consumer_group
    app.state.consumer = FlagConsumer(
        bus, parts.sessions, group, parts.router, forget=comments.forget_deleted
    )
    app.state.alert_consumer = AlertConsumer(bus, parts.sessions, f"{group}-alerts", parts.notifier.wake)
    app.state.action_consumer = ActionResultConsumer(bus, parts.sessions, f"{group}-actions")
    app.state.comment_consumer = CommentConsumer(bus, parts.sessions, f"{group}-comments")
    return [
        asyncio.create_task(app.state.consumer.run(), name="flag-consumer"),
        asyncio.create_task(app.state.alert_consumer.run(), name="alert-consumer"),
        asyncio.create_task(app.state.action_consumer.run(), name="action-result-consumer"),
        asyncio.create_task(app.state.comment_consumer.run(), name="comment-consumer"),
    ]


def _add_middleware(app: FastAPI, settings: ApiSettings) -> None:
    app.add_middleware(RefuseNulCharacters)
    # Outermost last: bodies are capped before anything reads them (authentication included), and every
    # answer, a 413 or a refused NUL too, carries the security headers.
    app.add_middleware(LimitRequestBody, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)


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
