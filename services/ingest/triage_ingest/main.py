"""The ingest service: an HTTP server for platform webhooks and health, plus replay sources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from triage_bus.profile import BrokerProfile
from triage_bus.settings import get_bus_settings
from triage_events import Account

from triage_ingest.config import IngestSettings, get_settings
from triage_ingest.publisher import Publisher
from triage_ingest.replay import ReplayReport, replay_file

log = logging.getLogger(__name__)


def create_app(settings: IngestSettings | None = None, profile: BrokerProfile | None = None) -> FastAPI:
    settings = settings or get_settings()
    profile = profile or BrokerProfile.from_settings(get_bus_settings())
    publisher = Publisher(profile)
    tasks: set[asyncio.Task[ReplayReport]] = set()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        if settings.replay_file:
            account = Account(id=settings.default_account_id, handle=settings.default_account_handle)
            task = asyncio.create_task(
                replay_file(settings.replay_file, publisher, account, settings.replay_rate)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await publisher.stop()

    app = FastAPI(title="Triage ingest", lifespan=lifespan)
    app.state.publisher = publisher

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def serve() -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
