"""`schemathesis` against the API's own OpenAPI schema, authenticated with an admin bearer token: whatever
the generated input, no route answers with a server error, and every answer agrees with the schema (its
status is declared, its body and content type match what is declared for it, times carry their offset,
every 4xx has the declared `detail`); generated requests that break the schema (negative mode) are refused
with a 4xx. Bounded (a few examples per operation and mode) to keep the suite fast; the event stream is
left out (it never ends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from triage_api.config import ApiSettings
from triage_api.db import migrate
from triage_api.flags.service import store_flags
from triage_api.main import create_app
from triage_api.staff.service import ensure_bootstrap_admin

from tests.builders import make_flag

pytestmark = pytest.mark.integration

TOKEN = "schemathesis-token-8e2d51"
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 6}


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "triage.db"
    app = create_app(ApiSettings(database_url=f"sqlite:///{path}", consumer_enabled=False))
    migrate(app.state.engine)
    with app.state.sessionmaker() as db:
        ensure_bootstrap_admin(db, "admin", "a long enough bootstrap password", TOKEN)
    with app.state.sessionmaker() as db, db.begin():  # listings with rows in them: their times are checked
        store_flags(db, [make_flag(), make_flag()])
    yield app
    app.state.engine.dispose()


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_every_answer_agrees_with_the_schema(api_app: FastAPI, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app).exclude(path="/api/stream")
    wanted = CONFORMANCE + ([checks.negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=auth)
            statuses.append(response.status_code)
            try:
                case.validate_response(response, checks=wanted, headers=auth)
            except (Failure, FailureGroup) as exc:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: {str(exc)[:400]}")

        try:
            check()
        except Unsatisfiable:  # negative mode: nothing in this operation can be made invalid (no parameters)
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        operations += 1
    assert operations >= (25 if mode is GenerationMode.POSITIVE else 10)
    assert 401 not in statuses, sorted(set(statuses))  # the token was accepted
    if mode is GenerationMode.POSITIVE:
        assert 200 in statuses, sorted(set(statuses))
    else:
        assert 422 in statuses, sorted(set(statuses))  # invalid requests were made, and refused
    assert failures == []
