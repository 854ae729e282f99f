"""Public, unauthenticated: published alerts as CAP 1.2 and Atom, and citizens' reports.

A published CAP document carries the city's XML signature when a signing key
is configured (``[respond.cap_signing]``), so aggregators can check who sent it.

A citizen report is turned into a record of the format its silo reads
(``felt-reports`` for felt shaking, ``posts-jsonl`` for something seen) and fed
to the live pipeline like any ingested record, so a bad one becomes a dead
letter, never an error; so does a report whose silo's adapter is not
installed (code ``no-adapter``), kept until it is. Reports are small
(:data:`~citywatch.api.middleware.REPORT_MAX_BYTES`, by ``Content-Length`` and
as a chunked body streams in) and rate-limited per client address.
"""

from __future__ import annotations

import functools
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from citywatch.api.alertschemas import FeltReportIn, IncidentReportIn, ReportIn, ReportOut
from citywatch.api.context import context
from citywatch.api.problems import Problem
from citywatch.api.rbac import public
from citywatch.api.routes.alerts import CapResponse
from citywatch.errors import BusError, InputError
from citywatch.model import DeadLetter
from citywatch.respond import CapSigner, SigningConfig, atom_feed, to_xml

ATOM_MIME = "application/atom+xml"
REPORTS_PER_MIN = 6.0
REPORT_BURST = 10
FEED_SIZE = 200
"""Published alerts looked at for the feed (the feed itself keeps the current ones)."""
FORMATS = {"felt": "felt-reports", "incident": "posts-jsonl"}
"""The ingest format each kind of report becomes."""
_encode = msgspec.json.Encoder().encode


class AtomResponse(Response):
    media_type = ATOM_MIME


@functools.lru_cache(maxsize=4)
def _signer(config: SigningConfig) -> CapSigner | None:
    """The city's CAP signer (its key read once), or None when none is configured."""
    return config.signer()


def report_gate(request: Request) -> None:
    """Refuse a report too frequent from its address (429; the middleware limits its size)."""
    client = request.client.host if request.client else "-"
    ctx = context(request)
    if ctx.buckets.take(f"report:{client}", rate=REPORTS_PER_MIN / 60, burst=REPORT_BURST):
        raise Problem(
            429, "rate-limited", "too many reports; wait a minute", headers={"Retry-After": "60"}
        )


def record(report: FeltReportIn | IncidentReportIn, report_id: str) -> bytes:
    """The report as one record of its silo's input format (FORMATS.md)."""
    when = report.time.isoformat()
    if isinstance(report, FeltReportIn):
        answers = report.model_dump(
            include={
                "felt",
                "motion",
                "reaction",
                "stand",
                "shelf",
                "picture",
                "furniture",
                "damage",
            },
            exclude_none=True,
        )
        doc: dict[str, object] = {
            "id": report_id,
            "time": when,
            "lat": report.lat,
            "lon": report.lon,
            **answers,
        }
    else:
        doc = {
            "id": report_id,
            "created_at": when,
            "text": f"[{report.category}] {report.text}",
            "geo": {"lat": report.lat, "lon": report.lon},
            "source": "citizen-report",
        }
    return _encode(doc)


def add_routes(api: APIRouter) -> None:
    """Add the public routes to ``api``."""

    @api.get(
        "/api/v1/public/alerts.atom",
        name="public.feed",
        tags=["public"],
        response_class=AtomResponse,
        dependencies=[public()],
        responses={200: {"content": {ATOM_MIME: {"schema": {"type": "string"}}}}},
    )
    def feed(request: Request) -> AtomResponse:
        """The Atom feed of the current public alerts, each linking to its CAP document."""
        ctx = context(request)
        # never from the request's Host header: a cache in front would keep links anyone chose
        base = ctx.config.public_url.rstrip("/")
        sender = ctx.settings.respond.cap_sender
        # ids are absolute and never change (RFC 4287): a tag URI (RFC 4151) of the CAP
        # sender, which names the alert with its identifier (CAP 1.2); not the public address,
        # whose later setting would make every alert already in a reader new again
        ids = f"tag:{sender.rpartition('@')[2] or sender},2026:citywatch/public-alerts"
        alerts = [s.alert for s in ctx.store.alerts(published=True, limit=FEED_SIZE)]
        data = atom_feed(
            alerts,
            feed_id=ids,
            self_url=f"{base}/api/v1/public/alerts.atom",
            cap_url=lambda a: f"{base}/api/v1/public/alerts/{a.identifier}",
            entry_id=lambda a: f"{ids}/{a.identifier}",
            now=datetime.now(tz=UTC),
        )
        return AtomResponse(data)

    @api.get(
        "/api/v1/public/alerts/{identifier}",
        name="public.cap",
        tags=["public"],
        response_class=CapResponse,
        dependencies=[public()],
        responses={
            200: {"content": {CapResponse.media_type: {"schema": {"type": "string"}}}},
            404: {"description": "no published alert with this identifier"},
        },
    )
    def cap_document(
        request: Request, identifier: Annotated[str, Path(min_length=1, max_length=200)]
    ) -> CapResponse:
        """A published alert as a CAP 1.2 document (drafts are never public)."""
        ctx = context(request)
        found = ctx.store.alert(identifier)
        if found is None or found.published is None:
            raise Problem(404, "not-found", f"no published alert {identifier!r}")
        xml = to_xml(found.alert)
        signer = _signer(ctx.settings.respond.cap_signing)
        return CapResponse(xml if signer is None else signer.sign(xml))

    @api.post(
        "/api/v1/public/reports",
        name="public.report",
        tags=["public"],
        response_model=ReportOut,
        status_code=202,
        dependencies=[public(), Depends(report_gate)],
        responses={
            413: {"description": "a report larger than 4 KiB"},
            429: {"description": "too many reports from this address"},
            503: {"description": "this server runs without a live pipeline, or its bus is down"},
        },
    )
    async def report(request: Request, body: ReportIn) -> ReportOut:
        """A citizen's report: felt shaking, or an incident seen; no personal data is asked."""
        ctx = context(request)
        if ctx.pipeline is None:
            raise Problem(503, "reports-unavailable", "this server runs without a live pipeline")
        report_id = f"report-{secrets.token_hex(8)}"
        fmt, source, raw = FORMATS[body.kind], f"public/{report_id}", record(body, report_id)
        try:
            result = await run_in_threadpool(ctx.pipeline.ingest, fmt, source, [raw])
        except InputError as exc:  # that silo's adapter is not installed: keep the report
            letter = DeadLetter(
                source=source,
                position=1,
                stage="ingest",
                format=fmt,
                code="no-adapter",
                reason=str(exc),
                raw=raw,
                received=time.time(),
            )
            await run_in_threadpool(ctx.pipeline.keep, [letter])
            return ReportOut(id=report_id, accepted=False, reasons=[f"1: {exc}"])
        except BusError as exc:  # not taken: the citizen is asked to send it again
            raise Problem(503, "bus-unavailable", "reports cannot be taken now; try again") from exc
        return ReportOut(id=report_id, accepted=result.accepted == 1, reasons=result.reasons)
