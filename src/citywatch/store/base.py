"""The storage interface every store implements (SQLite embedded, PostgreSQL at scale).

A store keeps what citywatch concluded, never the raw event stream:
detections, incidents, dead letters, run metadata, and the detectors'
checkpointed state. Detections and incidents are upserted by id (a detector
re-emits a detection as its evidence grows). Every implementation passes
``tests/contracts/test_store_contract.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import msgspec

from citywatch.model import DeadLetter, Detection, Incident, IncidentStatus


class RunInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One run of a pipeline: what was started, on which inputs, and what it counted."""

    id: str
    command: str
    started: datetime
    inputs: list[str] = msgspec.field(default_factory=list)
    finished: datetime | None = None
    stats: dict[str, int] = msgspec.field(default_factory=dict)


class DeadLetterCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many dead letters one source produced for one reason code."""

    source: str
    stage: str
    code: str
    count: int


@runtime_checkable
class Store(Protocol):
    """Where citywatch keeps its conclusions; opened by URL with ``open_store``.

    ``since`` filters are inclusive.
    """

    url: str

    def migrate(self) -> None:
        """Create or upgrade the schema to this code's version (idempotent)."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def begin_run(self, run: RunInfo) -> None:
        """Record that a run started."""

    def finish_run(self, run_id: str, finished: datetime, stats: dict[str, int]) -> None:
        """Record that a run finished, with its counters."""

    def runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recent runs first."""

    def upsert_detections(self, detections: Sequence[Detection]) -> None:
        """Insert detections, replacing any with the same id."""

    def detections(
        self,
        *,
        detector: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Detection]:
        """Detections by ``@timestamp`` ascending, optionally filtered."""

    def detection(self, detection_id: str) -> Detection | None:
        """One detection by id."""

    def upsert_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert incidents, replacing any with the same id."""

    def incidents(
        self, *, status: IncidentStatus | None = None, limit: int | None = None
    ) -> list[Incident]:
        """Incidents, most severe first, then most recent."""

    def incident(self, incident_id: str) -> Incident | None:
        """One incident by id."""

    def add_dead_letters(self, run_id: str, letters: Sequence[DeadLetter]) -> None:
        """Append dead letters (never deduplicated: each bad record is kept)."""

    def dead_letters(self, *, source: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters in arrival order, optionally for one source."""

    def dead_letter_counts(self) -> list[DeadLetterCount]:
        """Counts per source, stage and reason code, largest first."""

    def save_state(self, name: str, blob: bytes) -> None:
        """Checkpoint one named state blob (a detector's, the correlator's), replacing the last."""

    def load_state(self, name: str) -> bytes | None:
        """The last checkpoint saved under ``name``, or None."""
