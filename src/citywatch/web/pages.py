"""The dashboard's pages: server-rendered HTML over the store, one route per page.

Every page declares its roles like any API route (``allow``/``public``), so
the role matrix covers the pages too. Data the page's scripts draw (map
layers) is embedded as JSON in the page; actions are the API's own endpoints,
called by the scripts with the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context as JinjaContext

from citywatch.api.alertschemas import replacements
from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.problems import Problem
from citywatch.api.rbac import (
    ADMIN,
    ALERT_OFFICER,
    ANALYST,
    READERS,
    RESPONDER,
    allow,
    public,
)
from citywatch.api.routes.incidents import TRANSITIONS
from citywatch.api.silos import silo_of, silo_of_detector
from citywatch.city import CityMap
from citywatch.model.response import MAX_DAYS
from citywatch.respond import current_alerts
from citywatch.respond.hazards import HAZARDS
from citywatch.web import views

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))


@pass_context
def _when(
    page: JinjaContext, value: datetime, fmt: str = "%Y-%m-%d %H:%M", *, zone: bool = True
) -> str:
    """``value`` in the city's time, with its zone: an operator reads the times of alerts and
    incidents side by side (UTC unlabelled next to a CAP text in local time misled)."""
    tz = page.get("tz") or UTC
    local = value.astimezone(tz)
    if not zone:
        return local.strftime(fmt)
    label = f"UTC{local:%z}" if local.utcoffset() else "UTC"  # UTC+0100: the city's offset
    return f"{local.strftime(fmt)} {label}"


TEMPLATES.env.filters["when"] = _when
NAV = (
    ("/", "overview", "Overview"),
    ("/portal", "portal", "Portal"),
    ("/iot", "iot", "IoT fleet"),
    ("/venue", "venue", "Venue"),
    ("/quake", "quake", "Quake"),
    ("/social", "social", "Social"),
    ("/alerts", "alerts", "Public alerts"),
    ("/suppressions", "suppressions", "Suppressions"),
)
ID = Annotated[str, PathParam(min_length=1, max_length=200)]
ACTORS = frozenset({ADMIN, ANALYST, RESPONDER})
OFFICERS = frozenset({ADMIN, ALERT_OFFICER})
SUPPRESSORS = frozenset({ADMIN, ANALYST})


def render(
    request: Request, template: str, page: str, who: Principal | None, **data: Any
) -> HTMLResponse:
    """A page in the dashboard's layout, with the user and the map's base layer."""
    ctx = context(request)
    city: CityMap = request.app.state.city
    offset = datetime.now(tz=ctx.tz).utcoffset() or timedelta(0)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "nav": NAV,
            "page": page,
            "who": who,
            "csrf": who.csrf if who else None,
            "city": city.geojson,
            "city_name": city.name,
            "live": ctx.pipeline is not None,
            "can_act": bool(who and who.roles & ACTORS),
            "officer": bool(who and who.roles & OFFICERS),
            "can_suppress": bool(who and who.roles & SUPPRESSORS),
            "tz": ctx.tz,
            # for the scripts: the city's offset now, to write live times as the page does
            "tz_offset_min": int(offset.total_seconds() // 60),
            **data,
        },
    )


def own_path(target: str) -> str:
    """Where to go after logging in: a path on this site, else ``/`` (a login link must not
    lead to another site: ``/\\evil.example`` is ``//evil.example`` to a browser).

    >>> own_path("/incidents/inc-1?x=1"), own_path("//evil.example"), own_path("/\\\\evil.example")
    ('/incidents/inc-1?x=1', '/', '/')
    >>> own_path("https://evil.example/"), own_path("/%5Cevil"), own_path("javascript:alert(1)")
    ('/', '/%5Cevil', '/')
    """
    if not target.startswith("/") or target[1:2] in ("/", "\\") or any(c < " " for c in target):
        return "/"
    parts = urlsplit(target.replace("\\", "/"))
    return target if not parts.scheme and not parts.netloc else "/"


def add_pages(web: APIRouter) -> None:
    """Add the login, overview, incident, alerts, suppressions and public-feed pages to ``web``."""

    @web.get(
        "/login",
        name="web.login",
        dependencies=[public()],
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def login(request: Request) -> HTMLResponse:
        """The login form (it posts to the API's login with a script)."""
        back = own_path(request.query_params.get("next", "/"))
        return render(request, "login.html", "login", None, back=back)

    @web.get("/", name="web.overview", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Open incidents on the map, the live feed, counts per silo, dead letters."""
        store = context(request).store
        incidents = views.open_incidents(store)
        by_silo: dict[str, int] = {}
        for detector, n in store.detection_counts().items():
            silo = silo_of_detector(detector)
            by_silo[silo] = by_silo.get(silo, 0) + n
        return render(
            request,
            "overview.html",
            "overview",
            who,
            incidents=incidents,
            layer=views.collection(
                views.incident_features(store, incidents, request.app.state.city.centre)
            ),
            by_silo=sorted(by_silo.items()),
            by_status=store.incident_counts(),
            dead_letters=store.dead_letter_counts()[:10],
            dead_total=sum(c.count for c in store.dead_letter_counts()),
        )

    @web.get(
        "/incidents/{incident_id}",
        name="web.incident",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def incident(
        request: Request, incident_id: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> HTMLResponse:
        """One incident: story, exposure, map, playbook runs, evidence, measures, actions."""
        store = context(request).store
        found = store.incident(incident_id)
        if found is None:
            raise Problem(404, "not-found", f"no incident {incident_id!r}")
        evidence = views.evidence(store, found)
        marks = [
            views.feature(
                d.geo.lat, d.geo.lon, title=d.summary, severity=d.severity, category=d.category
            )
            for d in evidence
            if d.geo is not None
        ]
        if found.area:
            marks.append({"type": "Feature", "geometry": found.area, "properties": {"area": True}})
        alerts = [s for s in store.alerts(limit=1000) if incident_id in s.alert.incidents]
        runs = store.playbook_runs(incident_id=incident_id)
        now = datetime.now(tz=UTC)
        return render(
            request,
            "incident.html",
            "overview",
            who,
            incident=found,
            evidence=evidence,
            silo_of=silo_of,
            detector_says=views.detector_says,
            layer=views.collection(marks),
            activity=store.incident_activity(incident_id),
            moves=sorted(TRANSITIONS[found.status]),
            alerts=alerts,
            hazards=sorted(HAZARDS),
            runs=runs,
            approvable=views.approvable(who, runs),
            exposure=views.exposure(found),
            false_positive=views.false_positive_note(found),
            suppressions=[
                s for s in store.suppressions(active_at=now) if s.source_incident == incident_id
            ],
            max_days=MAX_DAYS,
        )

    @web.get("/alerts", name="web.alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Public alerts: the composer, drafts awaiting a second person, the published feed."""
        store = context(request).store
        return render(
            request,
            "alerts.html",
            "alerts",
            who,
            alerts=store.alerts(limit=200),
            replaced=replacements(store.alerts(published=True, limit=1000)),
            incidents=views.open_incidents(store),
            hazards=sorted(HAZARDS),
        )

    @web.get(
        "/suppressions",
        name="web.suppressions",
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def suppressions(request: Request, who: Annotated[Principal, allow(*READERS)]) -> HTMLResponse:
        """Suppressions in force (owner, reason, what they match, expiry); new ones; ending one."""
        store = context(request).store
        active = store.suppressions(active_at=datetime.now(tz=UTC))
        sources = {s.source_incident for s in active if s.source_incident}
        return render(
            request,
            "suppressions.html",
            "suppressions",
            who,
            suppressions=active,
            titles={i: found.title for i in sources if (found := store.incident(i))},
            detectors=sorted(store.detection_counts()),
            max_days=MAX_DAYS,
        )

    @web.get(
        "/public",
        name="web.public",
        dependencies=[public()],
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def public_feed(request: Request) -> HTMLResponse:
        """The citizens' page: the alerts in force now, each with its CAP document."""
        store = context(request).store
        published = [s.alert for s in store.alerts(published=True, limit=200)]
        return render(
            request,
            "public.html",
            "public",
            None,
            alerts=current_alerts(published, now=datetime.now(tz=UTC)),
        )
