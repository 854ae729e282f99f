"""Sharing: an incident as STIX 2.1 or MISP for the CERT and neighbours, an alert as FIWARE.

Exports carry a TLP marking (``tlp``, default amber). Reading them is an
analyst's (they go to partners); an alert's FIWARE ``Alert`` entity (for the
city's context broker) is for any reader. An export names no address the
share-intel step leaves out: none in the city's own networks, none spared
(``respond.shared_networks``, a crawler's, one its detections declare).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from citywatch.api.auth import Principal
from citywatch.api.context import ApiContext, context
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ANALYST, READERS, allow
from citywatch.api.routes.alerts import stored
from citywatch.model import Detection, Incident
from citywatch.respond import export_bundle, fiware_alert, misp_event
from citywatch.respond.evidence import IPAddress, spared

ID = Annotated[str, Path(min_length=1, max_length=200)]
TLP = Literal["white", "green", "amber", "red"]


class StixResponse(JSONResponse):
    media_type = "application/stix+json;version=2.1"


class LdResponse(JSONResponse):
    media_type = "application/ld+json"


def _incident(ctx: ApiContext, incident_id: str) -> tuple[Incident, list[Detection]]:
    found = ctx.store.incident(incident_id)
    if found is None:
        raise Problem(404, "not-found", f"no incident {incident_id!r}")
    return found, [d for i in found.detections if (d := ctx.store.detection(i))]


def _withheld(
    ctx: ApiContext, incident: Incident, detections: list[Detection]
) -> tuple[list[str], dict[IPAddress, str]]:
    """What an export leaves out, as the share-intel step judges it (the runner holds the
    respond settings): the city's own networks, and the incident's spared addresses."""
    runner = ctx.runner
    spare = spared(incident, detections, runner.crawlers, runner.shared_networks)
    return list(runner.own_networks), spare


def add_routes(api: APIRouter) -> None:
    """Add the export routes to ``api``."""

    @api.get(
        "/api/v1/incidents/{incident_id}/stix",
        name="incidents.stix",
        tags=["sharing"],
        response_class=StixResponse,
        responses={200: {"content": {StixResponse.media_type: {"schema": {"type": "object"}}}}},
    )
    def incident_stix(
        request: Request,
        incident_id: ID,
        who: Annotated[Principal, allow(ADMIN, ANALYST)],
        tlp: Annotated[TLP, Query()] = "amber",
    ) -> StixResponse:
        """The incident as a STIX 2.1 bundle: indicators, sightings, ATT&CK attack patterns."""
        ctx = context(request)
        incident, detections = _incident(ctx, incident_id)
        allow, spare = _withheld(ctx, incident, detections)
        bundle = export_bundle(incident, detections, allow=allow, tlp=tlp, spare=spare)
        return StixResponse(content=_json(bundle))

    @api.get(
        "/api/v1/incidents/{incident_id}/misp",
        name="incidents.misp",
        tags=["sharing"],
        response_model=dict[str, Any],
    )
    def incident_misp(
        request: Request,
        incident_id: ID,
        who: Annotated[Principal, allow(ADMIN, ANALYST)],
        tlp: Annotated[TLP, Query()] = "amber",
    ) -> dict[str, Any]:
        """The incident as a MISP event (``{"Event": {...}}``)."""
        ctx = context(request)
        incident, detections = _incident(ctx, incident_id)
        allow, spare = _withheld(ctx, incident, detections)
        return misp_event(incident, detections, allow=allow, tlp=tlp, spare=spare)

    @api.get(
        "/api/v1/alerts/{identifier}/fiware",
        name="alerts.fiware",
        tags=["alerts"],
        response_class=LdResponse,
        responses={200: {"content": {LdResponse.media_type: {"schema": {"type": "object"}}}}},
    )
    def alert_fiware(
        request: Request,
        identifier: ID,
        who: Annotated[Principal, allow(*READERS)],
        language: Annotated[str, Query(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en",
    ) -> LdResponse:
        """The alert as a FIWARE ``Alert`` entity (NGSI-LD), for the city's context broker."""
        alert = stored(context(request), identifier).alert
        return LdResponse(content=fiware_alert(alert, language=language))


def _json(text: str) -> Any:
    """The bundle stix2 serialised, as JSON again for the response."""
    return json.loads(text)
