"""Suppressions and playbook runs: keep known-benign detections out, approve response steps.

Marking an incident a false positive is an incident transition; the analyst
then asks for the suppressions that would have kept it out
(``propose-suppression``), reviews them and saves the ones wanted. Playbook
steps that wait for approval are approved or rejected here by a person who
holds the step's role; the runner writes every step and approval to the
audit log. A stored suppression (created or ended) and a decided step are
published on the live stream (``suppression``, ``playbook_run``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from citywatch.api.auth import Principal
from citywatch.api.changes import announce
from citywatch.api.context import ApiContext, context
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ALERT_OFFICER, ANALYST, READERS, RESPONDER, allow
from citywatch.correlate import propose
from citywatch.errors import ConfigError
from citywatch.live import Change
from citywatch.model import IncidentStatus, PlaybookRun, StepStatus, Suppression
from citywatch.model.response import MAX_DAYS
from citywatch.respond.runner import ApprovalError, UnknownStepError

ID = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]
ACTORS = (ADMIN, ANALYST, RESPONDER, ALERT_OFFICER)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuppressionIn(_In):
    """A new suppression: what it matches, why, and for how long."""

    reason: str = Field(min_length=3, max_length=500)
    days: int = Field(30, ge=1, le=MAX_DAYS, description="it expires after this many days")
    detector: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=20, description="detector names or glob patterns (web-*)"
    )
    rule: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )
    entity: dict[
        Annotated[str, Field(min_length=1, max_length=100)],
        Annotated[str, Field(min_length=1, max_length=500)],
    ] = Field(default_factory=dict, max_length=10)
    source_incident: str | None = Field(None, max_length=200)


class ProposalIn(_In):
    """Why the incident was a false positive, and how long its suppressions should hold."""

    reason: str = Field(min_length=3, max_length=500)
    days: int = Field(30, ge=1, le=MAX_DAYS)


class DecisionIn(_In):
    """A rejection's reason."""

    reason: str = Field(min_length=3, max_length=500)


class SuppressionOut(BaseModel):
    """A suppression as stored."""

    id: str
    owner: str
    reason: str
    created: datetime
    expires: datetime
    detector: list[str]
    rule: list[str]
    entity: dict[str, str]
    source_incident: str | None

    @classmethod
    def of(cls, s: Suppression) -> SuppressionOut:
        return cls.model_validate(msgspec.to_builtins(s))


class StepOut(BaseModel):
    """One step of a playbook run."""

    id: str
    action: str
    approval: str | None
    status: StepStatus
    approved_by: str | None
    at: datetime | None
    summary: str
    files: list[str]


class PlaybookRunOut(BaseModel):
    """One playbook answering one incident, step by step."""

    id: str
    playbook: str
    incident: str
    started: datetime
    dry_run: bool
    finished: bool
    steps: list[StepOut]

    @classmethod
    def of(cls, run: PlaybookRun) -> PlaybookRunOut:
        return cls.model_validate({**msgspec.to_builtins(run), "finished": run.finished})


def _decided(ctx: ApiContext, run: PlaybookRun, change: Change) -> PlaybookRunOut:
    """The run after a stored decision on one of its steps, announced on the live stream."""
    out = PlaybookRunOut.of(run)
    announce(ctx, "playbook_run", run.id, out, change)
    return out


def _run(ctx: ApiContext, run_id: str) -> PlaybookRun:
    run = ctx.store.playbook_run(run_id)
    if run is None:
        raise Problem(404, "not-found", f"no playbook run {run_id!r}")
    return run


def add_routes(api: APIRouter) -> None:
    """Add the suppression and playbook-run routes to ``api``."""

    @api.get(
        "/api/v1/suppressions",
        name="suppressions.list",
        tags=["suppressions"],
        response_model=list[SuppressionOut],
    )
    def list_suppressions(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        active: Annotated[bool, Query(description="only those in force now")] = True,
    ) -> list[SuppressionOut]:
        """Suppressions, soonest expiry first."""
        at = datetime.now(tz=UTC) if active else None
        return [SuppressionOut.of(s) for s in context(request).store.suppressions(active_at=at)]

    @api.post(
        "/api/v1/suppressions",
        name="suppressions.create",
        tags=["suppressions"],
        response_model=SuppressionOut,
        status_code=201,
    )
    def create_suppression(
        request: Request, body: SuppressionIn, who: Annotated[Principal, allow(ADMIN, ANALYST)]
    ) -> SuppressionOut:
        """Keep matching detections out of incidents until it expires (you are its owner)."""
        now = datetime.now(tz=UTC)
        try:
            suppression = Suppression(
                id=f"sup-{secrets.token_hex(6)}",
                owner=who.name,
                reason=body.reason,
                created=now,
                expires=now + timedelta(days=body.days),
                detector=body.detector,
                rule=body.rule,
                entity=body.entity,
                source_incident=body.source_incident,
            )
        except ConfigError as exc:
            raise Problem(422, "invalid-suppression", str(exc)) from exc
        ctx = context(request)
        ctx.store.save_suppression(suppression)
        out = SuppressionOut.of(suppression)
        announce(ctx, "suppression", out.id, out, Change(action="created", by=who.name))
        return out

    @api.post(
        "/api/v1/suppressions/{suppression_id}/end",
        name="suppressions.end",
        tags=["suppressions"],
        response_model=SuppressionOut,
        responses={409: {"description": "it has ended already"}},
    )
    def end_suppression(
        request: Request, suppression_id: ID, who: Annotated[Principal, allow(ADMIN, ANALYST)]
    ) -> SuppressionOut:
        """End a suppression now (it is kept, expired, for the record)."""
        ctx = context(request)
        store = ctx.store
        found = next((s for s in store.suppressions() if s.id == suppression_id), None)
        if found is None:
            raise Problem(404, "not-found", f"no suppression {suppression_id!r}")
        now = datetime.now(tz=UTC)
        if found.expires <= now:
            raise Problem(409, "already-ended", f"{suppression_id} ended at {found.expires}")
        ended = Suppression(
            **{f: getattr(found, f) for f in found.__struct_fields__ if f != "expires"},
            expires=max(now, found.created + timedelta(microseconds=1)),
        )
        store.save_suppression(ended)
        out = SuppressionOut.of(ended)
        announce(ctx, "suppression", out.id, out, Change(action="ended", by=who.name))
        return out

    @api.post(
        "/api/v1/incidents/{incident_id}/propose-suppression",
        name="incidents.propose_suppression",
        tags=["suppressions"],
        response_model=list[SuppressionOut],
        responses={409: {"description": "the incident is not marked a false positive"}},
    )
    def propose_suppression(
        request: Request,
        incident_id: ID,
        body: ProposalIn,
        who: Annotated[Principal, allow(ADMIN, ANALYST)],
    ) -> list[SuppressionOut]:
        """The suppressions that would have kept this (false-positive) incident out; not saved."""
        store = context(request).store
        incident = store.incident(incident_id)
        if incident is None:
            raise Problem(404, "not-found", f"no incident {incident_id!r}")
        if incident.status is not IncidentStatus.FALSE_POSITIVE:
            raise Problem(409, "not-false-positive", "mark the incident a false positive first")
        detections = [d for i in incident.detections if (d := store.detection(i))]
        proposed = propose(
            incident,
            detections,
            owner=who.name,
            reason=body.reason,
            now=datetime.now(tz=UTC),
            days=body.days,
        )
        return [SuppressionOut.of(s) for s in proposed]

    _add_playbook_routes(api)


def _add_playbook_routes(api: APIRouter) -> None:
    """Add the playbook-run routes: list, read, approve and reject steps."""

    @api.get(
        "/api/v1/playbook-runs",
        name="playbooks.runs",
        tags=["playbooks"],
        response_model=list[PlaybookRunOut],
    )
    def list_runs(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        incident_id: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[PlaybookRunOut]:
        """Playbook runs, newest first, optionally of one incident."""
        runs = context(request).store.playbook_runs(incident_id=incident_id, limit=limit)
        return [PlaybookRunOut.of(r) for r in runs]

    @api.get(
        "/api/v1/playbook-runs/{run_id}",
        name="playbooks.run",
        tags=["playbooks"],
        response_model=PlaybookRunOut,
    )
    def get_run(
        request: Request, run_id: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> PlaybookRunOut:
        """One playbook run with its steps."""
        return PlaybookRunOut.of(_run(context(request), run_id))

    @api.post(
        "/api/v1/playbook-runs/{run_id}/steps/{step_id}/approve",
        name="playbooks.approve",
        tags=["playbooks"],
        response_model=PlaybookRunOut,
        responses={
            404: {"description": "no such run or step"},
            409: {"description": "the step is not awaiting approval by your role"},
        },
    )
    def approve_step(
        request: Request,
        run_id: ID,
        step_id: ID,
        who: Annotated[Principal, allow(*ACTORS)],
    ) -> PlaybookRunOut:
        """Approve a waiting step (you must hold its role); the run goes on."""
        ctx = context(request)
        _run(ctx, run_id)
        try:
            run = ctx.runner.approve(run_id, step_id, user=who.name, roles=who.roles)
        except UnknownStepError as exc:
            raise Problem(404, "not-found", str(exc)) from exc
        except ApprovalError as exc:
            raise Problem(409, "not-approvable", str(exc)) from exc
        return _decided(ctx, run, Change(action="approved", by=who.name, target=step_id))

    @api.post(
        "/api/v1/playbook-runs/{run_id}/steps/{step_id}/reject",
        name="playbooks.reject",
        tags=["playbooks"],
        response_model=PlaybookRunOut,
        responses={
            404: {"description": "no such run or step"},
            409: {"description": "the step is not awaiting approval by your role"},
        },
    )
    def reject_step(
        request: Request,
        run_id: ID,
        step_id: ID,
        body: DecisionIn,
        who: Annotated[Principal, allow(*ACTORS)],
    ) -> PlaybookRunOut:
        """Reject a waiting step: it and the steps after it are not done."""
        ctx = context(request)
        _run(ctx, run_id)
        try:
            run = ctx.runner.reject(
                run_id, step_id, user=who.name, roles=who.roles, reason=body.reason
            )
        except UnknownStepError as exc:
            raise Problem(404, "not-found", str(exc)) from exc
        except ApprovalError as exc:
            raise Problem(409, "not-approvable", str(exc)) from exc
        return _decided(ctx, run, Change(action="rejected", by=who.name, target=step_id))
