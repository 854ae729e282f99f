"""Public alerts: draft from an incident, approve (a second person), publish, update, cancel.

The lifecycle, each step by an admin or alert officer::

    draft ──approve (not the drafter)──► approved ──publish──► published
                                                                 │
                         update / cancel: a new draft that replaces it when published

A published alert is served to everyone as CAP 1.2 and in the Atom feed
(:mod:`citywatch.api.routes.public`) until an Update or Cancel replaces it or
it expires. Every step is in the audit log (it is an unsafe request) and,
once stored, on the live stream as an ``alert`` update.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, Request, Response

from citywatch.api.alertschemas import (
    AlertCancelIn,
    AlertDraftIn,
    AlertOut,
    AlertUpdateIn,
    replacements,
)
from citywatch.api.auth import Principal
from citywatch.api.changes import announce
from citywatch.api.context import ApiContext, context
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ALERT_OFFICER, READERS, allow
from citywatch.live import Change
from citywatch.model import Alert, Detection, Incident, IncidentStatus
from citywatch.respond import RespondError, cancel, draft_from_incident, to_xml, validate
from citywatch.respond.capfeed import CAP_MIME
from citywatch.respond.hazards import HAZARDS
from citywatch.respond.runner import free_identifier
from citywatch.store.base import StoredAlert

ID = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]
OFFICERS = (ADMIN, ALERT_OFFICER)


class CapResponse(Response):
    """A CAP 1.2 XML document."""

    media_type = CAP_MIME


def stored(ctx: ApiContext, identifier: str) -> StoredAlert:
    """The alert with ``identifier``; 404 if unknown."""
    found = ctx.store.alert(identifier)
    if found is None:
        raise Problem(404, "not-found", f"no public alert {identifier!r}")
    return found


def _incident(ctx: ApiContext, incident_id: str) -> Incident:
    """The incident, or the one the correlator merged it into (as it is now, which an alert
    must describe: a merged-away incident has no members left)."""
    found = ctx.store.incident(incident_id)
    seen = {incident_id}
    while found is not None and (into := found.merged_into) is not None and into not in seen:
        seen.add(into)
        found = ctx.store.incident(into)
    if found is None:
        raise Problem(404, "not-found", f"no incident {incident_id!r}")
    if found.status == IncidentStatus.MERGED:
        raise Problem(409, "merged", f"incident {incident_id!r} was merged away")
    return found


def _in_force(alert: Alert) -> None:
    """409 for an alert whose every info block has expired: published, citizens would never
    see it (a draft approved hours after a playbook wrote it)."""
    now = datetime.now(tz=UTC)
    ends = [info.expires for info in alert.infos if info.expires is not None]
    if ends and max(ends) <= now:
        raise Problem(
            409,
            "expired",
            f"{alert.identifier} expired at {max(ends).isoformat()}: draft it again from its "
            "incident",
        )


def _hazard(hazard: str | None) -> str | None:
    if hazard is not None and hazard not in HAZARDS:
        known = ", ".join(sorted(HAZARDS))
        raise Problem(422, "unknown-hazard", f"no hazard {hazard!r}; known: {known}")
    return hazard


def _live(ctx: ApiContext, identifier: str) -> StoredAlert:
    """A published alert that no published message replaced yet; 409 otherwise (a draft
    replacing it replaces nothing until it is published, and may be left unpublished)."""
    original = stored(ctx, identifier)
    if original.published is None or original.alert.msg_type == "Cancel":
        raise Problem(409, "not-published", "only a published Alert or Update can be replaced")
    other = replacements(ctx.store.alerts(published=True, limit=1000)).get(identifier)
    if other is not None:
        raise Problem(
            409,
            "already-replaced",
            f"{other.alert.identifier} already replaces it; act on that one",
        )
    return original


def _save(ctx: ApiContext, saved: StoredAlert, action: str, by: str) -> AlertOut:
    """Store ``saved``, then tell the live stream that ``by`` did ``action`` to it."""
    ctx.store.save_alert(saved)
    out = AlertOut.of(saved)
    announce(ctx, "alert", out.identifier, out, Change(action=action, by=by))
    return out


def _save_draft(ctx: ApiContext, draft: Alert, by: str) -> AlertOut:
    return _save(ctx, StoredAlert(alert=free_identifier(ctx.store, draft)), "drafted", by)


def add_routes(api: APIRouter) -> None:
    """Add the public-alert routes to ``api``."""

    @api.get("/api/v1/alerts", name="alerts.list", tags=["alerts"], response_model=list[AlertOut])
    def list_alerts(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        published: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AlertOut]:
        """Public alerts, most recently sent first, drafts included."""
        store = context(request).store
        found = store.alerts(published=published, limit=limit)
        replaced = replacements(store.alerts(published=True, limit=1000))
        return [AlertOut.of(s, replaced) for s in found]

    @api.post(
        "/api/v1/alerts",
        name="alerts.draft",
        tags=["alerts"],
        response_model=AlertOut,
        status_code=201,
        responses={422: {"description": "an unknown hazard or language"}},
    )
    def draft(
        request: Request, body: AlertDraftIn, who: Annotated[Principal, allow(*OFFICERS)]
    ) -> AlertOut:
        """Draft a CAP alert from an incident; a second person must approve it."""
        ctx = context(request)
        incident = _incident(ctx, body.incident_id)
        expires = timedelta(minutes=body.expires_in_min) if body.expires_in_min else None
        try:
            alert = draft_from_incident(
                incident,
                sender=ctx.settings.respond.cap_sender,  # never the request's Host
                drafted_by=who.name,
                languages=body.languages,
                hazard=_hazard(body.hazard),
                area_desc=body.area_desc,
                expires_in=expires,
                tz=ctx.tz,
                detections=_members(ctx, incident),
            )
        except RespondError as exc:
            raise Problem(422, "cannot-draft", str(exc)) from exc
        return _save_draft(ctx, alert, who.name)

    @api.get(
        "/api/v1/alerts/{identifier}",
        name="alerts.get",
        tags=["alerts"],
        response_model=AlertOut,
    )
    def get_alert(
        request: Request, identifier: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> AlertOut:
        """One public alert, whatever its state."""
        ctx = context(request)
        published = ctx.store.alerts(published=True, limit=1000)
        return AlertOut.of(stored(ctx, identifier), replacements(published))

    @api.get(
        "/api/v1/alerts/{identifier}/cap",
        name="alerts.cap",
        tags=["alerts"],
        response_class=CapResponse,
        responses={200: {"content": {CAP_MIME: {"schema": {"type": "string"}}}}},
    )
    def alert_cap(
        request: Request, identifier: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> CapResponse:
        """The alert as a CAP 1.2 document, drafts included (for review)."""
        return CapResponse(to_xml(stored(context(request), identifier).alert))

    @api.post(
        "/api/v1/alerts/{identifier}/approve",
        name="alerts.approve",
        tags=["alerts"],
        response_model=AlertOut,
        responses={409: {"description": "not a draft, or approved by the person who drafted it"}},
    )
    def approve(
        request: Request, identifier: ID, who: Annotated[Principal, allow(*OFFICERS)]
    ) -> AlertOut:
        """Approve a draft: it must be a second person, not the one who drafted it."""
        ctx = context(request)
        found = stored(ctx, identifier)
        if found.alert.status != "Draft":
            raise Problem(409, "not-a-draft", f"{identifier} is already {found.alert.status}")
        _in_force(found.alert)
        approved = found.alert.approved(who.name)
        if not approved.can_publish():
            raise Problem(
                409, "second-person-required", "a second person must approve what you drafted"
            )
        return _save(ctx, StoredAlert(alert=approved), "approved", who.name)

    @api.post(
        "/api/v1/alerts/{identifier}/publish",
        name="alerts.publish",
        tags=["alerts"],
        response_model=AlertOut,
        responses={
            409: {
                "description": "not approved yet, already published, or what it replaces"
                " was replaced by another message first"
            }
        },
    )
    def publish(
        request: Request, identifier: ID, who: Annotated[Principal, allow(*OFFICERS)]
    ) -> AlertOut:
        """Publish an approved alert: it appears in the public CAP documents and feed."""
        ctx = context(request)
        found = stored(ctx, identifier)
        if found.published is not None:
            raise Problem(409, "already-published", f"{identifier} is already published")
        if not found.alert.can_publish():
            raise Problem(409, "not-approved", "a second person must approve it first")
        if not found.alert.may_publish(who.name):
            raise Problem(
                409,
                "second-person-required",
                "a playbook drafted it and you approved it: a second person must publish it",
            )
        _in_force(found.alert)
        problems = validate(to_xml(found.alert))
        if problems:
            raise Problem(409, "invalid-cap", "; ".join(problems)[:1000])
        if references := found.alert.references:  # what it replaces (the thread's last) is
            _live(ctx, references[-1].identifier)  # still live: no other replacement went out
        saved = StoredAlert(alert=found.alert, published=datetime.now(tz=UTC))
        return _save(ctx, saved, "published", who.name)

    _add_replacements(api)


def _add_replacements(api: APIRouter) -> None:
    """Add the routes that draft an Update or a Cancel of a published alert."""

    @api.post(
        "/api/v1/alerts/{identifier}/update",
        name="alerts.update",
        tags=["alerts"],
        response_model=AlertOut,
        status_code=201,
        responses={409: {"description": "not published, or already replaced"}},
    )
    def update(
        request: Request,
        identifier: ID,
        body: AlertUpdateIn,
        who: Annotated[Principal, allow(*OFFICERS)],
    ) -> AlertOut:
        """Draft an Update of a published alert from its incident as it is now."""
        ctx = context(request)
        original = _live(ctx, identifier).alert
        if not original.incidents:
            raise Problem(409, "no-incident", f"{identifier} was not drafted from an incident")
        incident = _incident(ctx, original.incidents[0])
        expires = timedelta(minutes=body.expires_in_min) if body.expires_in_min else None
        try:
            alert = draft_from_incident(
                incident,
                sender=original.sender,
                drafted_by=who.name,
                languages=[i.language for i in original.infos] or ["en-GB"],
                hazard=_hazard(body.hazard),
                # the officer's wording of the area, unless this update says otherwise
                area_desc=body.area_desc or _areas_of(original),
                expires_in=expires,
                tz=ctx.tz,
                supersedes=original,
                detections=_members(ctx, incident),
            )
        except RespondError as exc:
            raise Problem(422, "cannot-draft", str(exc)) from exc
        return _save_draft(ctx, alert, who.name)

    @api.post(
        "/api/v1/alerts/{identifier}/cancel",
        name="alerts.cancel",
        tags=["alerts"],
        response_model=AlertOut,
        status_code=201,
        responses={409: {"description": "not published, or already replaced"}},
    )
    def cancel_alert(
        request: Request,
        identifier: ID,
        body: AlertCancelIn,
        who: Annotated[Principal, allow(*OFFICERS)],
    ) -> AlertOut:
        """Draft the all-clear (a Cancel) for a published alert; approve and publish it next."""
        ctx = context(request)
        original = _live(ctx, identifier).alert
        try:
            message = cancel(original, drafted_by=who.name, note=body.note)
        except RespondError as exc:
            raise Problem(422, "cannot-draft", str(exc)) from exc
        return _save_draft(ctx, message, who.name)


_MEMBERS_READ: Final = 200
"""Detections of an incident a draft reads for the area they reach (a quake's are few)."""


def _members(ctx: ApiContext, incident: Incident) -> list[Detection]:
    """The incident's detections, the first :data:`_MEMBERS_READ`, as the store has them."""
    return [d for i in incident.detections[:_MEMBERS_READ] if (d := ctx.store.detection(i))]


def _areas_of(alert: Alert) -> dict[str, str]:
    """How ``alert`` described its area, per language (primary subtag: ``de``)."""
    return {
        info.language.split("-")[0].lower(): info.areas[0].area_desc
        for info in alert.infos
        if info.areas
    }
