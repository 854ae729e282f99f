"""How the platform itself is doing: dead letters, counts, metrics, runs, plug-ins, health."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Request, Response

from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.metrics import CONTENT_TYPE, Family, render
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ANALYST, READERS, allow, public
from citywatch.api.schemas import (
    DeadLetterCountOut,
    DeadLetterOut,
    Health,
    PluginOut,
    RunOut,
    Stats,
)
from citywatch.api.silos import silo_of_detector
from citywatch.errors import StoreError
from citywatch.model import DeadLetter, from_epoch
from citywatch.plugins import describe

RAW_SHOWN = 4096
"""Bytes of a dead letter's raw record shown by the API."""


def _letter(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        source=letter.source,
        position=letter.position,
        stage=letter.stage,
        format=letter.format,
        code=letter.code,
        reason=letter.reason,
        received=from_epoch(letter.received),
        raw=letter.raw[:RAW_SHOWN].decode("utf-8", "replace"),
        raw_bytes=len(letter.raw),
    )


def add_routes(api: APIRouter) -> None:
    """Add the operations routes to ``api``."""

    @api.get(
        "/api/v1/dead-letters",
        name="dead_letters.list",
        tags=["operations"],
        response_model=list[DeadLetterOut],
    )
    def list_dead_letters(
        request: Request,
        who: Annotated[Principal, allow(ADMIN, ANALYST)],
        source: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterOut]:
        """Dead letters in arrival order, with their raw records (which may hold personal data)."""
        letters = context(request).store.dead_letters(source=source, limit=limit)
        return [_letter(x) for x in letters]

    @api.get(
        "/api/v1/dead-letters/counts",
        name="dead_letters.counts",
        tags=["operations"],
        response_model=list[DeadLetterCountOut],
    )
    def dead_letter_counts(
        request: Request, who: Annotated[Principal, allow(*READERS)]
    ) -> list[DeadLetterCountOut]:
        """How many dead letters per source, stage and reason, largest first."""
        counts = context(request).store.dead_letter_counts()
        return [DeadLetterCountOut.model_validate(msgspec.to_builtins(c)) for c in counts]

    @api.get("/api/v1/stats", name="stats", tags=["operations"], response_model=Stats)
    def stats(request: Request, who: Annotated[Principal, allow(*READERS)]) -> Stats:
        """Counts for the overview: detections per silo and detector, incidents, dead letters."""
        ctx = context(request)
        by_detector = ctx.store.detection_counts()
        by_silo: Counter[str] = Counter()
        for detector, n in by_detector.items():
            by_silo[silo_of_detector(detector)] += n
        by_source: Counter[str] = Counter()
        for count in ctx.store.dead_letter_counts():
            by_source[count.source] += count.count
        latest = ctx.store.runs(limit=1)
        return Stats(
            detections_by_silo=dict(by_silo),
            detections_by_detector=by_detector,
            incidents_by_status=ctx.store.incident_counts(),
            dead_letters=sum(by_source.values()),
            dead_letters_by_source=dict(by_source),
            latest_run=RunOut.of(latest[0]) if latest else None,
            live_clients=ctx.broadcaster.clients,
        )

    @api.get(
        "/api/v1/metrics",
        name="metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
    )
    def metrics(request: Request, who: Annotated[Principal, allow(*READERS)]) -> Response:
        """The counts of ``/api/v1/stats`` in Prometheus' text format (scrape it with a reader's
        API token: ``authorization: {credentials_file: ...}``)."""
        counts = stats(request, who)
        by_detector = [
            ({"detector": d, "silo": silo_of_detector(d)}, n)
            for d, n in sorted(counts.detections_by_detector.items())
        ]
        families = [
            Family("citywatch_detections", "Detections in the store.", by_detector),
            Family(
                "citywatch_incidents",
                "Incidents in the store, by status.",
                [({"status": s}, n) for s, n in sorted(counts.incidents_by_status.items())],
            ),
            Family(
                "citywatch_dead_letters",
                "Records kept as dead letters, by source.",
                [({"source": s}, n) for s, n in sorted(counts.dead_letters_by_source.items())],
            ),
            Family(
                "citywatch_live_clients",
                "Dashboards following the live stream on this server.",
                [({}, counts.live_clients)],
            ),
        ]
        run = counts.latest_run
        if run is not None:
            times = [({"command": run.command, "at": "started"}, run.started.timestamp())]
            if run.finished is not None:
                times.append(({"command": run.command, "at": "finished"}, run.finished.timestamp()))
            families += [
                Family("citywatch_last_run_timestamp_seconds", "The latest run.", times),
                Family(
                    "citywatch_last_run",
                    "The latest run's counters.",
                    [({"counter": k}, v) for k, v in sorted(run.stats.items())],
                ),
            ]
        return Response(render(families), media_type=CONTENT_TYPE)

    @api.get("/api/v1/runs", name="runs.list", tags=["operations"], response_model=list[RunOut])
    def list_runs(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> list[RunOut]:
        """Pipeline runs, most recent first, with their counters."""
        return [RunOut.of(r) for r in context(request).store.runs(limit=limit)]

    @api.get(
        "/api/v1/plugins", name="plugins.list", tags=["operations"], response_model=list[PluginOut]
    )
    def list_plugins(who: Annotated[Principal, allow(*READERS)]) -> list[PluginOut]:
        """Every adapter, detector and action with its config schema."""
        return [PluginOut.model_validate(msgspec.to_builtins(info)) for info in describe()]

    @api.get(
        "/api/health",
        name="health",
        tags=["operations"],
        response_model=Health,
        dependencies=[public()],
        responses={503: {"description": "the store does not answer"}},
    )
    def health(request: Request) -> Health:
        """Whether the server answers and reaches its store (for load balancers); public."""
        try:
            context(request).store.runs(limit=1)
        except StoreError as exc:
            raise Problem(503, "store-unavailable", "the store does not answer") from exc
        return Health(status="ok")
