"""`schemathesis` against the API's own OpenAPI schema, authenticated with an admin bearer token: whatever
the generated input, no route answers with a server error. Bounded (a few examples per operation) to keep the
suite fast; the event stream is left out (it never ends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from triage_api.config import ApiSettings
from triage_api.db import migrate
from triage_api.main import create_app
from triage_api.staff.service import ensure_bootstrap_admin

pytestmark = pytest.mark.integration

TOKEN = "schemathesis-token-8e2d51"


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "triage.db"
    app = create_app(ApiSettings(database_url=f"sqlite:///{path}", consumer_enabled=False))
    migrate(app.state.engine)
    with app.state.sessionmaker() as db:
        ensure_bootstrap_admin(db, "admin", "a long enough bootstrap password", TOKEN)
    yield app
    app.state.engine.dispose()


def test_no_generated_request_makes_the_api_fail(api_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app).exclude(path="/api/stream")
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}")

        check()
    assert operations >= 5
    assert 200 in statuses and 401 not in statuses, sorted(set(statuses))  # the token was accepted
    assert failures == []
