"""What the crowd detector keeps per venue: the open interval, the calibration, the tracks."""

from __future__ import annotations

import msgspec

from citywatch.detect.base import Episode
from citywatch.detect.crowd.estimate import Ratio

TRACK = 12
"""Intervals of history kept per zone and gate."""


class Track(msgspec.Struct, kw_only=True):
    """The last few intervals of one zone (people, relative error) or gate (people/min in, out)."""

    times: list[float] = msgspec.field(default_factory=list)
    a: list[float] = msgspec.field(default_factory=list)
    b: list[float] = msgspec.field(default_factory=list)

    def push(self, t: float, a: float, b: float) -> None:
        """Append one interval, forgetting the oldest beyond :data:`TRACK`."""
        self.times.append(t)
        self.a.append(a)
        self.b.append(b)
        if len(self.times) > TRACK:
            del self.times[0], self.a[0], self.b[0]


class Detail(msgspec.Struct, kw_only=True):
    """What an open episode reports: summary, figures, measures of its worst moment so far.

    A later interval replaces it only with a greater ``weight`` (a higher
    density, a faster flow): the measures stay those of the worst moment.
    """

    summary: str
    figures: dict[str, str | float | list[float] | None]
    measures: list[str]
    weight: float = 0.0


class CrowdState(msgspec.Struct, kw_only=True):
    """One venue's state.

    ``bucket`` is the start of the interval being filled (counts arrive per
    interval; an interval closes when a later one begins, or when the
    watermark passes its end); ``counts``, ``gate_counts`` and ``ids`` hold
    its records (ids by zone id or ``gate:<id>``). ``inside`` is the net
    count through the gates; ``ratios`` the calibration; ``zones`` and
    ``gates`` the recent tracks; ``session_start`` when the stands filled
    (the event under way), until they empty again. ``episodes`` are the
    open detections by ``rule|subject``, ``details`` what each reports.
    """

    bucket: float | None = None
    interval_s: float = 60.0
    counts: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    gate_counts: dict[str, tuple[int, int]] = msgspec.field(default_factory=dict)
    ids: dict[str, list[str]] = msgspec.field(default_factory=dict)
    inside: float = 0.0
    ratios: dict[str, Ratio] = msgspec.field(default_factory=dict)
    zones: dict[str, Track] = msgspec.field(default_factory=dict)
    gates: dict[str, Track] = msgspec.field(default_factory=dict)
    session_start: float | None = None
    episodes: dict[str, Episode] = msgspec.field(default_factory=dict)
    details: dict[str, Detail] = msgspec.field(default_factory=dict)
    late: int = 0
    """Records for an interval already closed: counted here, not folded in."""
