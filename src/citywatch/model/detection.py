"""What one detector concluded."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

from citywatch.model.event import GeoPoint

SPARED: Final = "spared"
"""``attributes.<silo>.spared``: addresses a detector found that blocking would hurt the city
more than the attacker, each with why (``{"161.53.2.10": "many people log in from it"}``: a
university's, a carrier's NAT, by what a detection saw or what the learning traffic showed of
it; a search engine's crawler). No block list or partner intel
takes them, whatever else their incident holds; the incident's first measure says so."""


class Detection(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One detector's conclusion about one entity over a stretch of event time.

    A detector may re-emit a detection with the same ``id`` as evidence grows
    (an attack goes on); stores upsert by ``id``. ``timestamp`` is the event
    time at which it first fired; ``first_seen``/``last_seen`` bound its
    evidence. ``evidence`` lists the ids of all supporting raw records.
    ``severity`` is 1–100, ``confidence`` 0–1. ``tags`` carry ATT&CK
    technique ids (``attack.T1110.004``) or public-safety tags.
    ``attributes`` is detector-specific (see FORMATS.md).
    """

    id: str
    timestamp: datetime = msgspec.field(name="@timestamp")
    detector: str
    rule_id: str = msgspec.field(name="rule.id")
    rule_name: str = msgspec.field(name="rule.name")
    severity: int
    confidence: float
    category: str
    summary: str
    entity: dict[str, str]
    evidence: list[str]
    first_seen: datetime
    last_seen: datetime
    geo: GeoPoint | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
