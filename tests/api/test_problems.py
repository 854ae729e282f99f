"""Every error is RFC 9457 problem+json with no stack trace, and every answer has secure headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from citywatch.api import ApiConfig
from citywatch.errors import StoreError
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]
FIELDS = {"type", "title", "status", "detail", "instance", "request_id"}
SECURE = {
    "content-security-policy": "default-src 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def config() -> ApiConfig:
    return ApiConfig(max_body_bytes=2000, max_ingest_bytes=4000)


def assert_problem(
    response: httpx.Response, status: int, type_: str | None = None
) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert set(body) >= FIELDS, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if type_ is not None:
        assert body["type"] == type_
    text = response.text
    assert "Traceback" not in text
    assert 'File "' not in text
    for name, value in SECURE.items():
        assert value in response.headers[name], name
    return body


def test_400_malformed_content_length(client: TestClient, auth: Auth) -> None:
    request = client.build_request(
        "POST", "/api/v1/incidents/inc-1/comments", headers={**auth("analyst")}, content=b"{}"
    )
    request.headers["Content-Length"] = "12abc"
    assert_problem(client.send(request), 400)


def test_401_and_403(client: TestClient, auth: Auth) -> None:
    assert_problem(client.get("/api/v1/audit"), 401, "urn:citywatch:problem:unauthenticated")
    body = assert_problem(
        client.get("/api/v1/audit", headers=auth("analyst")), 403, "urn:citywatch:problem:forbidden"
    )
    assert "admin" in str(body["detail"])


def test_404_unknown_path_and_unknown_resource(client: TestClient, auth: Auth) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "about:blank")
    assert_problem(client.get("/"), 404)
    body = assert_problem(
        client.get("/api/v1/incidents/inc-404", headers=auth("viewer")),
        404,
        "urn:citywatch:problem:not-found",
    )
    assert "inc-404" in str(body["detail"])


def test_405_says_what_is_allowed(client: TestClient) -> None:
    response = client.delete("/api/v1/incidents")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"
    # a path two routes serve (list and create) said only the first one's method
    response = client.delete("/api/v1/alerts")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"


def test_409_invalid_transition(client: TestClient, seeded: Store, auth: Auth) -> None:
    response = client.post(
        "/api/v1/incidents/inc-3/transition", json={"to": "new"}, headers=auth("analyst")
    )
    body = assert_problem(response, 409, "urn:citywatch:problem:invalid-transition")
    assert body["current"] == "resolved"


def test_413_by_content_length_and_by_streamed_body(client: TestClient, auth: Auth) -> None:
    big = {"text": "x" * 3000}
    assert_problem(
        client.post("/api/v1/incidents/inc-1/comments", json=big, headers=auth("analyst")),
        413,
        "urn:citywatch:problem:body-too-large",
    )

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = client.post(
        "/api/v1/ingest/http-jsonl",
        content=chunks(),
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "urn:citywatch:problem:body-too-large")
    # the ingest limit is the larger one
    fits = client.post(
        "/api/v1/ingest/http-jsonl",
        content=b"x" * 3000,
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )
    assert fits.status_code == 202


def test_415_unsupported_media_type(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/ingest/http-jsonl",
        content=b"<xml/>",
        headers={**auth("ingest"), "Content-Type": "application/xml"},
    )
    assert_problem(response, 415, "urn:citywatch:problem:unsupported-media-type")


def test_422_names_the_fields_without_echoing_input(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/users",
        json={"name": "Bad Name!", "roles": [], "password": "s3cret-short"},
        headers=auth("admin"),
    )
    body = assert_problem(response, 422, "urn:citywatch:problem:validation")
    errors = body["errors"]
    assert isinstance(errors, list)
    where = {tuple(e["loc"]) for e in errors}  # type: ignore[index]
    assert ("body", "name") in where
    assert ("body", "roles") in where
    assert "s3cret-short" not in response.text
    query = client.get("/api/v1/incidents?min_severity=500", headers=auth("viewer"))
    assert_problem(query, 422)


def test_429_rate_limited_logins(client: TestClient) -> None:
    answers = [
        client.post("/api/v1/auth/login", json={"name": "x", "password": "y"}) for _ in range(11)
    ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert_problem(answers[10], 429, "urn:citywatch:problem:rate-limited")
    assert answers[10].headers["retry-after"] == "60"


def test_500_is_a_bare_problem_without_internals(
    client: TestClient, store: Store, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kw: object) -> None:
        raise RuntimeError("database password hunter2 at /srv/secret/path")

    monkeypatch.setattr(store, "incidents", broken)
    response = client.get("/api/v1/incidents", headers=auth("viewer"))
    body = assert_problem(response, 500, "about:blank")
    assert "hunter2" not in response.text
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert "request id" in str(body["detail"])


def test_a_clients_request_id_is_kept_when_it_is_a_short_token(client: TestClient) -> None:
    kept = client.get("/api/health", headers={"X-Request-ID": "lb-42.a_b"})
    assert kept.headers["x-request-id"] == "lb-42.a_b"
    replaced = client.get("/api/health", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert len(replaced.headers["x-request-id"]) == 16
    assert "<" not in replaced.headers["x-request-id"]


def test_secure_headers_on_every_kind_of_answer(client: TestClient, auth: Auth) -> None:
    answers = [
        client.get("/api/health"),
        client.get("/api/openapi.json"),
        client.get("/api/docs"),
        client.get("/api/docs/static/swagger-ui.css"),
        client.get("/api/v1/stats", headers=auth("viewer")),
        client.get("/nowhere"),
    ]
    for response in answers:
        for name, value in SECURE.items():
            assert value in response.headers[name], (response.request.url, name)
        assert "strict-transport-security" not in response.headers  # not TLS here
    api = answers[4]
    assert api.headers["cache-control"] == "no-store"
    assert "no-store" not in answers[3].headers.get("cache-control", "")


def test_the_docs_page_loads_only_local_scripts(client: TestClient) -> None:
    page = client.get("/api/docs").text
    assert "<script>" not in page  # no inline script: the CSP forbids it
    assert 'src="/api/docs/static/swagger-ui-bundle.js"' in page
    assert "http" not in page
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200
    init = client.get("/api/docs/init.js")
    assert init.headers["content-type"].startswith("text/javascript")
    assert "/api/openapi.json" in init.text


def test_the_openapi_document_describes_problems_and_security(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "session"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    operation = spec["paths"]["/api/v1/incidents/{incident_id}/transition"]["post"]
    for code in ("401", "403", "409", "422", "429", "default"):
        content = operation["responses"][code]["content"]
        assert list(content) == ["application/problem+json"], code


def test_health_says_when_the_store_does_not_answer(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Health said ok while every login failed with 500 on a store that was gone: a load
    # balancer kept sending users to it.
    assert client.get("/api/health").json() == {"status": "ok"}

    def gone(**kw: object) -> None:
        raise StoreError("store postgresql://citywatch@db/citywatch: connection refused")

    monkeypatch.setattr(store, "runs", gone)
    assert_problem(client.get("/api/health"), 503, "urn:citywatch:problem:store-unavailable")
