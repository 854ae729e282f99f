"""The operations API: FastAPI over the store and the live pipeline, with RBAC and audit.

>>> from citywatch.config import Settings
>>> from citywatch.store import open_store
>>> store = open_store("sqlite:///:memory:")
>>> app = create_app(Settings(), store)
>>> route_table(app.routes)[("GET", "/api/v1/incidents")]
('admin', 'analyst', 'responder', 'alert-officer', 'viewer')
>>> store.close()
"""

from citywatch.api.app import create_app
from citywatch.api.auth import Principal
from citywatch.api.config import ApiConfig
from citywatch.api.rbac import ROLES, allow, public, route_table
from citywatch.api.server import ensure_admin, serve

__all__ = [
    "ROLES",
    "ApiConfig",
    "Principal",
    "allow",
    "create_app",
    "ensure_admin",
    "public",
    "route_table",
    "serve",
]
