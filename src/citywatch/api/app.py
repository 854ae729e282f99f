"""The app factory: one FastAPI app over a store and, when serving, the live pipeline."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from citywatch import __version__
from citywatch.api.config import ApiConfig
from citywatch.api.context import ApiContext
from citywatch.api.middleware import SecurityMiddleware
from citywatch.api.problems import (
    PROBLEM_JSON,
    ProblemDetails,
    http_exception_handler,
    validation_exception_handler,
)
from citywatch.api.rbac import GuardedRoute, route_table
from citywatch.api.routes import ROUTE_MODULES
from citywatch.api.routes.docs import static_dir
from citywatch.api.sse import Broadcaster
from citywatch.app import playbook_runner
from citywatch.config import Settings
from citywatch.live import LiveInput
from citywatch.store import Store

DESCRIPTION = """The operations API of citywatch: detections, incidents, ingest, live updates.

Authenticate with `Authorization: Bearer <token>` (tokens are made by an admin) or with the
dashboard's session cookie (log in at `/api/v1/auth/login`; send the returned CSRF token as
`X-CSRF-Token` on unsafe requests). Each operation lists the roles that may call it. Errors are
RFC 9457 problem details (`application/problem+json`).
"""
_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def create_app(
    settings: Settings,
    store: Store,
    *,
    pipeline: LiveInput | None = None,
    config: ApiConfig | None = None,
) -> FastAPI:
    """The operations API over ``store``; ``pipeline`` enables ingest and live updates.

    ``config`` defaults to ``settings.api``. The app does not own the store or the
    pipeline: whoever made them closes them.
    """
    config = config or settings.api
    app = FastAPI(
        title="citywatch operations API",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.router.route_class = GuardedRoute
    broadcaster = Broadcaster(config.sse_queue)
    if pipeline is not None:
        pipeline.subscribe(broadcaster.publish)
        pipeline.on_gap(broadcaster.resync)
    app.state.citywatch = ApiContext(
        settings=settings,
        store=store,
        config=config,
        pipeline=pipeline,
        broadcaster=broadcaster,
        runner=playbook_runner(settings, store),
    )
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    for add_routes in ROUTE_MODULES:
        add_routes(app.router)
    assets = static_dir()
    if assets is not None:
        app.mount("/api/docs/static", StaticFiles(directory=assets), name="docs.static")
    app.add_middleware(SecurityMiddleware, config=config)
    route_table(app.routes)  # every route declares its roles, or the app does not start
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with security schemes and every error as a problem."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"},
        "session": {"type": "apiKey", "in": "cookie", "name": "cw_session"},
    }
    schemas = components.setdefault("schemas", {})
    schemas["ProblemDetails"] = ProblemDetails.model_json_schema()
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, answer in list(responses.items()):
                if code.startswith(("4", "5")) or code == "default":
                    answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
            responses.setdefault(
                "default",
                {
                    "description": "a problem (RFC 9457)",
                    "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
                },
            )
    app.openapi_schema = schema
    return schema
