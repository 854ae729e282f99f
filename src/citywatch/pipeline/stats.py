"""What a run counted: per input, per dead-letter reason, per detector."""

from __future__ import annotations

from collections import Counter

import msgspec


class RunStats(msgspec.Struct, kw_only=True):
    """Counters of one run, shown in the summary and stored with the run."""

    records: Counter[str] = msgspec.field(default_factory=Counter)
    """Records read per input (events + dead letters)."""
    events: Counter[str] = msgspec.field(default_factory=Counter)
    learned: Counter[str] = msgspec.field(default_factory=Counter)
    dead_letters: Counter[str] = msgspec.field(default_factory=Counter)
    """Dead letters per ``source code``."""
    late: int = 0
    future: int = 0
    """Events timed too far ahead of this machine's clock (dead letters)."""
    plugin_errors: Counter[str] = msgspec.field(default_factory=Counter)
    detections: Counter[str] = msgspec.field(default_factory=Counter)
    """Distinct detections per detector."""
    incidents: int = 0

    def flat(self) -> dict[str, int]:
        """One level of ``name: count`` for storage with the run."""
        out: dict[str, int] = {
            "late": self.late,
            "future": self.future,
            "incidents": self.incidents,
        }
        for prefix, counter in (
            ("records", self.records),
            ("events", self.events),
            ("learned", self.learned),
            ("dead_letters", self.dead_letters),
            ("plugin_errors", self.plugin_errors),
            ("detections", self.detections),
        ):
            for key, value in counter.items():
                out[f"{prefix}.{key}"] = value
        return out
