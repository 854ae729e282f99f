"""The silo pages: portal, IoT fleet, venue, quake and social, from ``attributes.<silo>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from citywatch.api import siloviews
from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.rbac import READERS, allow
from citywatch.web import views
from citywatch.web.pages import render


def add_silo_pages(web: APIRouter) -> None:
    """Add one page per silo to ``web``."""

    @web.get("/portal", name="web.portal", response_class=HTMLResponse, include_in_schema=False)
    def portal(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Attacks on the citizen portal by class, source and hour; the learned endpoint model."""
        store = context(request).store
        rows = siloviews.silo_rows(store, "portal")
        return render(
            request,
            "portal.html",
            "portal",
            who,
            view=views.portal_view(rows),
            model=views.portal_model(store),
        )

    @web.get("/iot", name="web.iot", response_class=HTMLResponse, include_in_schema=False)
    def iot(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """The IoT fleet's devices by risk, with their reasons."""
        devices = siloviews.devices(siloviews.silo_rows(context(request).store, "iot"))
        layer = [
            f
            for d in devices
            for f in views.point(d.geo, title=d.device_id, severity=round(100 * (d.score or 0)))
        ]
        return render(
            request, "iot.html", "iot", who, devices=devices, layer=views.collection(layer)
        )

    @web.get("/venue", name="web.venue", response_class=HTMLResponse, include_in_schema=False)
    def venue(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Zones as a density map by level of service, gates, time to critical and measures."""
        ctx = context(request)
        zones = siloviews.zones(siloviews.silo_rows(ctx.store, "crowd"))
        layouts = views.venue_layouts(ctx.settings.detectors.get("crowd-safety", {}))
        areas = views.zone_areas(layouts, zones)
        shaped = {(a["properties"]["venue"], a["properties"]["zone"]) for a in areas}
        layer = areas + [  # gates, and zones whose shape no venue file gives, as points
            f
            for z in zones
            if z.kind == "gate" or (z.venue, z.place) not in shaped
            for f in views.point(z.geo, place=z.place, los=z.los)
        ]
        return render(
            request, "venue.html", "venue", who, zones=zones, layer=views.collection(layer)
        )

    @web.get("/quake", name="web.quake", response_class=HTMLResponse, include_in_schema=False)
    def quake(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Intensity cells (reported and predicted) and the ranked impact list."""
        quakes = siloviews.quakes(siloviews.silo_rows(context(request).store, "quake"))
        shown = quakes[0].cells if quakes else []
        # one grid, the finest the reports fill (the schemes overlap): 1 km UTM, as the
        # ranked areas name them, else H3, else 10 km UTM
        rings = [(cell, siloviews.cell_polygon(cell)) for cell in shown]
        grids = {cell.grid for cell, ring in rings if ring is not None}
        grid = next((g for g in ("utm_1km", "h3", "utm_10km") if g in grids), None)
        cells = []
        for cell, ring in rings:
            if ring is not None and cell.grid == grid:
                cells.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                        "properties": cell.model_dump(),
                    }
                )
        if quakes and quakes[0].lat is not None and quakes[0].lon is not None:
            q = quakes[0]
            title = f"Epicentre, M {q.magnitude}" if q.magnitude is not None else "Epicentre"
            cells.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [q.lon, q.lat]},
                    "properties": {"title": title, "epicentre": True, "severity": 90},
                }
            )
        return render(
            request,
            "quake.html",
            "quake",
            who,
            quakes=quakes,
            grid=grid,
            layer=views.collection(cells),
        )

    @web.get("/social", name="web.social", response_class=HTMLResponse, include_in_schema=False)
    def social(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Events found in posts, on the map; authors only as counts."""
        events = siloviews.social_events(siloviews.silo_rows(context(request).store, "social"))
        layer = [
            f
            for e in events
            for f in views.point(e.geo, title=e.summary, category=e.category, severity=e.severity)
        ]
        return render(
            request, "social.html", "social", who, events=events, layer=views.collection(layer)
        )
