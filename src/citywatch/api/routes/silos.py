"""The silos' resources: IoT devices, venue zones and gates, quakes, social events.

Read from the detections' ``attributes.<silo>`` (see :mod:`citywatch.api.siloviews`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from citywatch.api import siloviews
from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.rbac import READERS, allow
from citywatch.api.siloviews import DeviceOut, QuakeOut, SocialEventOut, ZoneOut


def add_routes(api: APIRouter) -> None:
    """Add the silo routes to ``api``."""

    @api.get("/api/v1/devices", name="devices.list", tags=["silos"], response_model=list[DeviceOut])
    def list_devices(
        request: Request, who: Annotated[Principal, allow(*READERS)]
    ) -> list[DeviceOut]:
        """IoT devices with detections, by risk: score, reasons, last seen."""
        return siloviews.devices(siloviews.silo_rows(context(request).store, "iot"))

    @api.get("/api/v1/zones", name="zones.list", tags=["silos"], response_model=list[ZoneOut])
    def list_zones(request: Request, who: Annotated[Principal, allow(*READERS)]) -> list[ZoneOut]:
        """Venue zones and gates, worst level of service first: density, flow, time to critical."""
        return siloviews.zones(siloviews.silo_rows(context(request).store, "crowd"))

    @api.get("/api/v1/quakes", name="quakes.list", tags=["silos"], response_model=list[QuakeOut])
    def list_quakes(request: Request, who: Annotated[Principal, allow(*READERS)]) -> list[QuakeOut]:
        """Located earthquakes, their intensity cells (reported and predicted), priorities."""
        return siloviews.quakes(siloviews.silo_rows(context(request).store, "quake"))

    @api.get(
        "/api/v1/social-events",
        name="social_events.list",
        tags=["silos"],
        response_model=list[SocialEventOut],
    )
    def list_social_events(
        request: Request, who: Annotated[Principal, allow(*READERS)]
    ) -> list[SocialEventOut]:
        """Events found in social media posts; authors only as counts."""
        return siloviews.social_events(siloviews.silo_rows(context(request).store, "social"))
