"""The dashboard: server-rendered pages over the operations API, Leaflet served locally.

:func:`create_app` is the operations API (:func:`citywatch.api.create_app`)
with the dashboard's pages and assets added: ``/`` (overview), ``/incidents/ID``
(with its playbook runs and, for a false positive, proposed suppressions), the
silo pages, ``/alerts``, ``/suppressions``, the public ``/public`` feed and ``/login``.
Assets are served from the package (``/assets``) and from ``xstatic-leaflet``
(``/vendor/leaflet``): nothing comes from a CDN, the dashboard works offline.
A page asked for without a session redirects to the login page.

>>> from citywatch.config import Settings
>>> from citywatch.store import open_store
>>> store = open_store("sqlite:///:memory:")
>>> app = create_app(Settings(), store)
>>> from citywatch.api import route_table
>>> route_table(app.routes)[("GET", "/quake")]
('admin', 'analyst', 'responder', 'alert-officer', 'viewer')
>>> store.close()
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import xstatic.pkg.leaflet
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from citywatch.api import create_app as create_api
from citywatch.api.config import ApiConfig
from citywatch.api.context import ApiContext
from citywatch.api.problems import http_exception_handler
from citywatch.api.rbac import route_table
from citywatch.app import city_map, city_tz
from citywatch.city import CityMap
from citywatch.config import Settings
from citywatch.live import LiveInput
from citywatch.store import Store
from citywatch.web.pages import add_pages
from citywatch.web.silos import add_silo_pages

ASSETS = Path(__file__).with_name("static")
LEAFLET = Path(xstatic.pkg.leaflet.BASE_DIR)


async def _login_or_problem(request: Request, exc: Exception) -> Response:
    """A page without a (valid) session goes to the login page; the API answers a problem."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 401 and not path.startswith("/api/"):
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    return await http_exception_handler(request, exc)


def context_of(app: FastAPI) -> ApiContext:
    ctx = app.state.citywatch
    assert isinstance(ctx, ApiContext)
    return ctx


def create_app(
    settings: Settings,
    store: Store,
    *,
    pipeline: LiveInput | None = None,
    config: ApiConfig | None = None,
    city: CityMap | None = None,
) -> FastAPI:
    """The operations API with the dashboard; ``city`` defaults to the settings' map
    (:func:`~citywatch.app.city_map`)."""
    app = create_api(settings, store, pipeline=pipeline, config=config)
    app.state.city = city = city or city_map(settings)
    ctx = context_of(app)
    ctx.tz = ctx.runner.tz = city_tz(settings, city)
    add_pages(app.router)
    add_silo_pages(app.router)
    app.mount("/assets", StaticFiles(directory=ASSETS), name="web.assets")
    app.mount("/vendor/leaflet", StaticFiles(directory=LEAFLET), name="web.leaflet")
    app.add_exception_handler(HTTPException, _login_or_problem)
    route_table(app.routes)  # the pages declare their roles too
    return app


__all__ = ["CityMap", "create_app"]
