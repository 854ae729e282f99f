"""Incidents: detections fused by the correlator, with a status lifecycle."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final

import msgspec


class IncidentStatus(enum.StrEnum):
    """Lifecycle: new → acknowledged → contained → resolved (or false positive); ``merged``
    when the correlator joined it into another incident (kept so that its id leads there)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"
    MERGED = "merged"


MERGED_INTO: Final = "merged into "
"""How a merge's status change begins its note; the target's id follows."""


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    """One step of an incident's lifecycle: who moved it where, when and why."""

    status: IncidentStatus
    at: datetime
    by: str
    note: str = ""


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    """Detections that belong together, as one situation to handle.

    ``category`` is ``cyber``, ``public_safety`` or ``hybrid``. ``area`` is a
    GeoJSON geometry when the incident has a place. ``entities`` maps entity
    keys (``source.ip``...) to the values its detections share. ``story`` is
    the correlation rule whose story it completes (its title comes from it),
    ``exposure`` what it touches: ``people``, critical ``facilities``, city
    ``services`` (counts; absent when zero).
    """

    id: str
    title: str
    status: IncidentStatus
    severity: int
    category: str
    first_seen: datetime
    last_seen: datetime
    detections: list[str]
    entities: dict[str, list[str]] = msgspec.field(default_factory=dict)
    area: dict[str, Any] | None = None
    measures: list[str] = msgspec.field(default_factory=list)
    history: list[StatusChange] = msgspec.field(default_factory=list)
    story: str | None = None
    exposure: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def merged_into(self) -> str | None:
        """The incident the correlator merged this one into, if it did."""
        for change in reversed(self.history):
            if change.status == IncidentStatus.MERGED and change.note.startswith(MERGED_INTO):
                return change.note[len(MERGED_INTO) :]
        return None
