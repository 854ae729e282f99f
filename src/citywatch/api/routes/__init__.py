"""The API's routes, one module per resource; each adds its routes with ``add_routes``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from citywatch.api.routes.access import add_routes as _access
from citywatch.api.routes.admin import add_routes as _admin
from citywatch.api.routes.alerts import add_routes as _alerts
from citywatch.api.routes.detections import add_routes as _detections
from citywatch.api.routes.docs import add_routes as _docs
from citywatch.api.routes.exports import add_routes as _exports
from citywatch.api.routes.incidents import add_routes as _incidents
from citywatch.api.routes.ingest import add_routes as _ingest
from citywatch.api.routes.operations import add_routes as _operations
from citywatch.api.routes.public import add_routes as _public
from citywatch.api.routes.respond import add_routes as _respond
from citywatch.api.routes.silos import add_routes as _silos
from citywatch.api.routes.stream import add_routes as _stream

ROUTE_MODULES: tuple[Callable[[APIRouter], None], ...] = (
    _docs,
    _access,
    _admin,
    _detections,
    _incidents,
    _operations,
    _respond,
    _exports,
    _silos,
    _alerts,
    _public,
    _ingest,
    _stream,
)
"""Every route module's ``add_routes``, in the order the OpenAPI document lists them."""

__all__ = ["ROUTE_MODULES"]
