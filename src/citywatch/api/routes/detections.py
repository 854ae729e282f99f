"""Detections: what the detectors concluded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.problems import Problem
from citywatch.api.rbac import READERS, allow
from citywatch.api.schemas import DetectionOut

ID = Annotated[str, Path(min_length=1, max_length=200)]


def add_routes(api: APIRouter) -> None:
    """Add the detection routes to ``api``."""

    @api.get(
        "/api/v1/detections",
        name="detections.list",
        tags=["detections"],
        response_model=list[DetectionOut],
    )
    def list_detections(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        detector: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        since: Annotated[datetime | None, Query(description="event time, inclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[
            int, Query(ge=0, le=10**9, description="skip this many: the next page")
        ] = 0,
    ) -> list[DetectionOut]:
        """Detections by event time, oldest first, optionally of one detector."""
        store = context(request).store
        found = store.detections(detector=detector, since=since, limit=limit, offset=offset)
        return [DetectionOut.of(d) for d in found]

    @api.get(
        "/api/v1/detections/{detection_id}",
        name="detections.get",
        tags=["detections"],
        response_model=DetectionOut,
    )
    def get_detection(
        request: Request, detection_id: ID, who: Annotated[Principal, allow(*READERS)]
    ) -> DetectionOut:
        """One detection with all its evidence ids."""
        found = context(request).store.detection(detection_id)
        if found is None:
            raise Problem(404, "not-found", f"no detection {detection_id!r}")
        return DetectionOut.of(found)
