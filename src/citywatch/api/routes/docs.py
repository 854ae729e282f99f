"""The interactive API docs (Swagger UI) from local files: no CDN, no inline script."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from citywatch.api.rbac import public

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>citywatch API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>
"""
_INIT = """window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, withCredentials: true});
"""


def static_dir() -> Path | None:
    """Where Swagger UI's files are (the ``fastapi-offline`` package), if installed."""
    spec = find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "static"
    return path if path.is_dir() else None


def add_routes(api: APIRouter) -> None:
    """Add the docs page and its script to ``api`` (the static files are mounted by the app)."""

    @api.get("/api/docs", name="docs", include_in_schema=False, dependencies=[public()])
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE)

    @api.get(
        "/api/docs/init.js", name="docs.init", include_in_schema=False, dependencies=[public()]
    )
    def init() -> Response:
        return Response(_INIT, media_type="text/javascript")
