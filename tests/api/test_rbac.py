"""The role matrix: every endpoint × every role, allowed and denied, and no route undeclared."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from citywatch.api import ROLES, allow, route_table
from citywatch.api.rbac import GuardedRoute
from citywatch.store import Store

A, AN, R, AO, V, IN = ROLES  # admin, analyst, responder, alert-officer, viewer, ingest
READ = (A, AN, R, AO, V)
EXPECTED: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("GET", "/api/openapi.json"): None,
    ("GET", "/api/docs"): None,
    ("GET", "/api/docs/init.js"): None,
    ("GET", "/api/docs/static/{path}"): None,
    ("GET", "/api/health"): None,
    ("POST", "/api/v1/auth/login"): None,
    ("POST", "/api/v1/auth/logout"): ROLES,
    ("GET", "/api/v1/auth/me"): ROLES,
    ("GET", "/api/v1/users"): (A,),
    ("POST", "/api/v1/users"): (A,),
    ("PATCH", "/api/v1/users/{name}"): (A,),
    ("GET", "/api/v1/tokens"): (A,),
    ("POST", "/api/v1/tokens"): (A,),
    ("DELETE", "/api/v1/tokens/{token_id}"): (A,),
    ("GET", "/api/v1/audit"): (A,),
    ("GET", "/api/v1/detections"): READ,
    ("GET", "/api/v1/detections/{detection_id}"): READ,
    ("GET", "/api/v1/incidents"): READ,
    ("GET", "/api/v1/incidents/{incident_id}"): READ,
    ("GET", "/api/v1/incidents/{incident_id}/comments"): READ,
    ("POST", "/api/v1/incidents/{incident_id}/transition"): (A, AN, R),
    ("POST", "/api/v1/incidents/{incident_id}/comments"): (A, AN, R),
    ("POST", "/api/v1/incidents/{incident_id}/assign"): (A, AN),
    ("GET", "/api/v1/dead-letters"): (A, AN),
    ("GET", "/api/v1/dead-letters/counts"): READ,
    ("GET", "/api/v1/stats"): READ,
    ("GET", "/api/v1/metrics"): READ,
    ("GET", "/api/v1/runs"): READ,
    ("GET", "/api/v1/plugins"): READ,
    ("GET", "/api/v1/incidents/{incident_id}/stix"): (A, AN),
    ("GET", "/api/v1/incidents/{incident_id}/misp"): (A, AN),
    ("GET", "/api/v1/alerts/{identifier}/fiware"): READ,
    ("GET", "/api/v1/suppressions"): READ,
    ("POST", "/api/v1/suppressions"): (A, AN),
    ("POST", "/api/v1/suppressions/{suppression_id}/end"): (A, AN),
    ("POST", "/api/v1/incidents/{incident_id}/propose-suppression"): (A, AN),
    ("GET", "/api/v1/playbook-runs"): READ,
    ("GET", "/api/v1/playbook-runs/{run_id}"): READ,
    ("POST", "/api/v1/playbook-runs/{run_id}/steps/{step_id}/approve"): (A, AN, R, AO),
    ("POST", "/api/v1/playbook-runs/{run_id}/steps/{step_id}/reject"): (A, AN, R, AO),
    ("POST", "/api/v1/ingest/{fmt}"): (A, IN),
    ("GET", "/api/v1/stream"): READ,
    ("GET", "/api/v1/devices"): READ,
    ("GET", "/api/v1/zones"): READ,
    ("GET", "/api/v1/quakes"): READ,
    ("GET", "/api/v1/social-events"): READ,
    ("GET", "/api/v1/alerts"): READ,
    ("POST", "/api/v1/alerts"): (A, AO),
    ("GET", "/api/v1/alerts/{identifier}"): READ,
    ("GET", "/api/v1/alerts/{identifier}/cap"): READ,
    ("POST", "/api/v1/alerts/{identifier}/approve"): (A, AO),
    ("POST", "/api/v1/alerts/{identifier}/publish"): (A, AO),
    ("POST", "/api/v1/alerts/{identifier}/update"): (A, AO),
    ("POST", "/api/v1/alerts/{identifier}/cancel"): (A, AO),
    ("GET", "/api/v1/public/alerts.atom"): None,
    ("GET", "/api/v1/public/alerts/{identifier}"): None,
    ("POST", "/api/v1/public/reports"): None,
}
"""Who may call what, pinned: changing a route's roles is a decision, not an accident."""

PARAMS = {
    "{incident_id}": "inc-1",
    "{detection_id}": "det-1",
    "{token_id}": "no-such-token",
    "{name}": "no-such-user",
    "{fmt}": "http-jsonl",
    "{identifier}": "no-such-alert",
    "{path}": "swagger-ui.css",
    "{suppression_id}": "sup-none",
    "{run_id}": "run-none",
    "{step_id}": "tell",
}
QUERY = {"/api/v1/stream": "?max_events=0"}


def url(path: str) -> str:
    for name, value in PARAMS.items():
        path = path.replace(name, value)
    return path + QUERY.get(path, "")


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, url(path), headers=headers, **body).status_code  # type: ignore[arg-type]


def test_every_route_declares_the_expected_roles(app: FastAPI) -> None:
    assert route_table(app.routes) == EXPECTED


def test_every_operation_in_the_openapi_document_is_in_the_matrix(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert documented
    assert documented <= set(EXPECTED)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            roles = EXPECTED[(method.upper(), path)]
            assert op.get("x-citywatch-roles") == (None if roles is None else list(roles))
            assert op["security"] == ([] if roles is None else [{"bearer": []}, {"session": []}])


def test_every_role_can_do_something_and_is_refused_something() -> None:
    for role in ROLES:
        assert any(roles and role in roles for roles in EXPECTED.values()), role
        if role != A:
            assert any(roles and role not in roles for roles in EXPECTED.values()), role


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]} {k[1]}")
def test_role_matrix(
    key: tuple[str, str],
    client: TestClient,
    seeded: Store,
    auth: Callable[[str], dict[str, str]],
) -> None:
    method, path = key
    allowed = EXPECTED[key]
    anonymous = call(client, method, path, {})
    if allowed is None:
        assert anonymous not in (401, 403), key
        for role in ROLES:
            assert call(client, method, path, auth(role)) not in (401, 403), (key, role)
        return
    assert anonymous == 401, key
    for role in ROLES:
        status = call(client, method, path, auth(role))
        if role in allowed:
            assert status not in (401, 403), (key, role, status)
            assert status < 500, (key, role, status)
        else:
            assert status == 403, (key, role, status)


def test_a_denied_request_is_refused_before_its_body_is_read(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    broken = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    path = "/api/v1/incidents/inc-1/transition"
    assert client.post(path, **broken).status_code == 401  # type: ignore[arg-type]
    headers = {**auth("viewer"), "Content-Type": "application/json"}
    assert client.post(path, content=b"{not json", headers=headers).status_code == 403
    headers = {**auth("analyst"), "Content-Type": "application/json"}
    assert client.post(path, content=b"{not json", headers=headers).status_code == 422


def test_a_route_without_declared_roles_cannot_be_built() -> None:
    router = APIRouter(route_class=GuardedRoute)
    with pytest.raises(RuntimeError, match="declare its roles"):

        @router.get("/api/v1/forgotten")
        def forgotten() -> dict[str, str]:
            return {}


def test_a_route_declaring_roles_twice_cannot_be_built() -> None:
    router = APIRouter(route_class=GuardedRoute)
    with pytest.raises(RuntimeError, match="exactly once"):

        @router.get("/api/v1/twice", dependencies=[allow("admin")])
        def twice(who: object = allow("viewer")) -> dict[str, str]:
            return {}


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        allow("superuser")


def test_a_plain_route_that_bypasses_the_guard_is_reported(app: FastAPI) -> None:
    app.router.routes.append(Route("/sneaky", PlainTextResponse("hi")))  # an ASGI app: any method
    with pytest.raises(LookupError, match=r"\* /sneaky"):
        route_table(app.routes)
    app.router.routes[-1] = Route("/sneaky", lambda request: PlainTextResponse("hi"))
    with pytest.raises(LookupError, match="GET /sneaky"):
        route_table(app.routes)
