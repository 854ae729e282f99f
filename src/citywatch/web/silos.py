"""The silo pages: portal, IoT fleet, venue, quake and social, from ``attributes.<silo>``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

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
        rows = views.silo_detections(store, "portal")
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
        devices = views.iot_view(views.silo_detections(context(request).store, "iot"))
        layer = views.collection(views.points(devices, "device", "score", "class"))
        return render(request, "iot.html", "iot", who, devices=devices, layer=layer)

    @web.get("/venue", name="web.venue", response_class=HTMLResponse, include_in_schema=False)
    def venue(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Zones and gates by level of service, with time to critical and measures."""
        zones = views.crowd_view(views.silo_detections(context(request).store, "crowd"))
        layer = views.collection(views.points(zones, "place", "los", "density", "ttc"))
        return render(request, "venue.html", "venue", who, zones=zones, layer=layer)

    @web.get("/quake", name="web.quake", response_class=HTMLResponse, include_in_schema=False)
    def quake(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Intensity cells (reported and predicted) and the ranked impact list."""
        quakes = views.quake_view(views.silo_detections(context(request).store, "quake"))
        cells = [f for q in quakes[:1] for f in q["cells"]]
        return render(
            request, "quake.html", "quake", who, quakes=quakes, layer=views.collection(cells)
        )

    @web.get("/social", name="web.social", response_class=HTMLResponse, include_in_schema=False)
    def social(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Events found in posts, on the map; authors only as counts."""
        events = views.social_view(views.silo_detections(context(request).store, "social"))
        layer = views.collection(views.points(events, "summary", "category", "severity"))
        return render(request, "social.html", "social", who, events=events, layer=layer)
