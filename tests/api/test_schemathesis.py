"""The OpenAPI document against the app itself (schemathesis, in process, as an admin).

Every documented operation gets generated requests, valid and invalid; each
answer must not be a server error and must conform to the document (status
codes, content types, schemas). The stream is left out: it never ends.
Schemathesis drives Hypothesis directly here (``as_strategy``): its pytest
plug-in does not run under this pytest.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from citywatch.api import ApiConfig, create_app
from citywatch.config import Settings
from citywatch.store import Store, open_store

pytestmark = pytest.mark.slow
EXAMPLES = 20
SKIPPED = {("GET", "/api/v1/stream")}


def operations() -> list[tuple[str, str]]:
    store = open_store("sqlite:///:memory:")
    try:
        spec = create_app(Settings(), store).openapi()
    finally:
        store.close()
    found = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    return sorted(set(found) - SKIPPED)


@pytest.fixture
def config() -> ApiConfig:
    return ApiConfig(rate_per_s=1e6, burst=1_000_000)


@pytest.mark.parametrize(("method", "path"), operations())
def test_the_api_conforms_to_its_openapi_document(
    method: str, path: str, app: FastAPI, seeded: Store, tokens: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {tokens['admin']}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers)

    check()
