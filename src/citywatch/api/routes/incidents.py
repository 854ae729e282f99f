"""Incidents: read them, move them through their lifecycle, comment, assign.

The lifecycle people drive is::

    new ─► acknowledged ─► contained ─► resolved
     │          │  └────────────────────►┘
     └──────────┴─► false_positive

An incident the correlator joined into another is ``merged`` (final, and
listed only when asked for: ``?status=merged``).

Any other move is a 409 problem, as is a move from a status that someone
else changed in the meantime. A stored move, comment or assignment is
published on the live stream as an ``incident`` update (the incident as it
is now, and who did what).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from citywatch.api.auth import Principal
from citywatch.api.changes import announce_incident
from citywatch.api.context import ApiContext, context
from citywatch.api.places import BBox, incident_point, inside
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ANALYST, INGEST, READERS, RESPONDER, allow
from citywatch.api.schemas import (
    AssignIn,
    CommentIn,
    CommentOut,
    IncidentDetail,
    IncidentOut,
    TransitionIn,
)
from citywatch.live import Change
from citywatch.model import Incident, IncidentStatus, StatusChange
from citywatch.store.base import (
    IncidentActivity,
    IncidentStatusConflictError,
    alerts_by_incident,
)

S = IncidentStatus
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, S.FALSE_POSITIVE}),
    S.ACKNOWLEDGED: frozenset({S.CONTAINED, S.RESOLVED, S.FALSE_POSITIVE}),
    S.CONTAINED: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset(),
    S.FALSE_POSITIVE: frozenset(),
    S.MERGED: frozenset(),
}
"""Where each status may go next (see the module doc)."""

ID = Annotated[str, Path(min_length=1, max_length=200)]
CATEGORY = r"^[a-z_]{1,40}$"
_NUM = r"-?\d{1,3}(\.\d{1,12})?"
BBOX = rf"^{_NUM},{_NUM},{_NUM},{_NUM}$"


def _bbox(text: str) -> BBox:
    """A bounding box from the query (a swapped or empty box simply holds nothing)."""
    lon0, lat0, lon1, lat1 = (float(v) for v in text.split(","))
    return lon0, lat0, lon1, lat1


def _incident(ctx: ApiContext, incident_id: str) -> Incident:
    found = ctx.store.incident(incident_id)
    if found is None:
        raise Problem(404, "not-found", f"no incident {incident_id!r}")
    return found


def detail(ctx: ApiContext, incident_id: str) -> IncidentDetail:
    """The incident with its assignee, comments and public alerts; 404 if unknown."""
    found = _incident(ctx, incident_id)
    activity = ctx.store.incident_activity(incident_id)
    assigns = [a.text for a in activity if a.kind == "assign"]
    base = IncidentOut.of(found, alerts_by_incident(ctx.store))
    return IncidentDetail(
        **base.model_dump(),
        assignee=(assigns[-1] or None) if assigns else None,
        comments=[CommentOut.of(a) for a in activity if a.kind == "comment"],
    )


def add_routes(api: APIRouter) -> None:
    """Add the incident routes to ``api``."""

    @api.get(
        "/api/v1/incidents",
        name="incidents.list",
        tags=["incidents"],
        response_model=list[IncidentOut],
    )
    def list_incidents(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        status: IncidentStatus | None = None,
        min_severity: Annotated[int | None, Query(ge=1, le=100)] = None,
        category: Annotated[str | None, Query(pattern=CATEGORY)] = None,
        since: Annotated[datetime | None, Query(description="last seen at or after")] = None,
        bbox: Annotated[
            str | None,
            Query(
                pattern=BBOX,
                description="min_lon,min_lat,max_lon,max_lat: incidents placed inside",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[
            int, Query(ge=0, le=10**9, description="skip this many: the next page")
        ] = 0,
    ) -> list[IncidentOut]:
        """Incidents, most severe first, then most recent; ``bbox`` keeps those placed inside.

        An incident's place is its area, or else its first detection with one.
        """
        store = context(request).store
        box = _bbox(bbox) if bbox else None
        found = store.incidents(
            status=status,
            min_severity=min_severity,
            category=category,
            since=since,
            limit=None if box else limit,
            offset=0 if box else offset,
        )
        if box is not None:
            found = [i for i in found if (p := incident_point(store, i)) and inside(p, box)]
            found = found[offset:]
        alerts = alerts_by_incident(store)
        return [IncidentOut.of(i, alerts) for i in found[:limit]]

    @api.get(
        "/api/v1/incidents/{incident_id}",
        name="incidents.get",
        tags=["incidents"],
        response_model=IncidentDetail,
    )
    def get_incident(
        request: Request, incident_id: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> IncidentDetail:
        """One incident with its history, assignee and comments."""
        return detail(context(request), incident_id)

    @api.post(
        "/api/v1/incidents/{incident_id}/transition",
        name="incidents.transition",
        tags=["incidents"],
        response_model=IncidentDetail,
        responses={409: {"description": "not a move the lifecycle allows from the status now"}},
    )
    def transition(
        request: Request,
        incident_id: ID,
        body: TransitionIn,
        who: Annotated[Principal, allow(ADMIN, ANALYST, RESPONDER)],
    ) -> IncidentDetail:
        """Move an incident to its next status, with a note kept in its history."""
        ctx = context(request)
        current = _incident(ctx, incident_id)
        if body.to not in TRANSITIONS[current.status]:
            allowed = ", ".join(sorted(TRANSITIONS[current.status])) or "none (final)"
            raise Problem(
                409,
                "invalid-transition",
                f"{current.status.value} cannot become {body.to.value}; allowed: {allowed}",
                extra={"current": current.status.value},
            )
        change = StatusChange(status=body.to, at=datetime.now(tz=UTC), by=who.name, note=body.note)
        try:
            moved = ctx.store.change_incident_status(incident_id, change, expected=current.status)
        except IncidentStatusConflictError as exc:
            raise Problem(
                409, "status-changed", f"{exc}; reload and retry", extra={"current": exc.current}
            ) from exc
        if moved is None:
            raise Problem(404, "not-found", f"no incident {incident_id!r}")
        announce_incident(ctx, moved, Change(action="moved", by=who.name, target=body.to.value))
        return detail(ctx, incident_id)

    @api.get(
        "/api/v1/incidents/{incident_id}/comments",
        name="incidents.comments",
        tags=["incidents"],
        response_model=list[CommentOut],
    )
    def list_comments(
        request: Request, incident_id: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> list[CommentOut]:
        """An incident's comments, oldest first."""
        ctx = context(request)
        _incident(ctx, incident_id)
        return [CommentOut.of(a) for a in ctx.store.incident_activity(incident_id, kind="comment")]

    @api.post(
        "/api/v1/incidents/{incident_id}/comments",
        name="incidents.comment",
        tags=["incidents"],
        response_model=CommentOut,
        status_code=201,
    )
    def add_comment(
        request: Request,
        incident_id: ID,
        body: CommentIn,
        who: Annotated[Principal, allow(ADMIN, ANALYST, RESPONDER)],
    ) -> CommentOut:
        """Add a comment to an incident."""
        ctx = context(request)
        found = _incident(ctx, incident_id)
        entry = IncidentActivity(
            incident_id=incident_id,
            kind="comment",
            at=datetime.now(tz=UTC),
            by=who.name,
            text=body.text,
        )
        seq = ctx.store.add_incident_activity(entry)
        announce_incident(ctx, found, Change(action="commented", by=who.name))
        return CommentOut(seq=seq, at=entry.at, by=entry.by, text=entry.text)

    @api.post(
        "/api/v1/incidents/{incident_id}/assign",
        name="incidents.assign",
        tags=["incidents"],
        response_model=IncidentDetail,
        responses={409: {"description": "no enabled user of that name who can act"}},
    )
    def assign(
        request: Request,
        incident_id: ID,
        body: AssignIn,
        who: Annotated[Principal, allow(ADMIN, ANALYST)],
    ) -> IncidentDetail:
        """Assign an incident to a user (one who can act on it), or unassign it with null."""
        ctx = context(request)
        found = _incident(ctx, incident_id)
        if body.assignee is not None:
            user = ctx.store.user(body.assignee)
            if user is None or user.disabled or set(user.roles) <= {INGEST}:
                raise Problem(409, "unknown-assignee", "assign to an enabled user with a role")
        ctx.store.add_incident_activity(
            IncidentActivity(
                incident_id=incident_id,
                kind="assign",
                at=datetime.now(tz=UTC),
                by=who.name,
                text=body.assignee or "",
            )
        )
        change = Change(action="assigned", by=who.name, target=body.assignee or "")
        announce_incident(ctx, found, change)
        return detail(ctx, incident_id)
