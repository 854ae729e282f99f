"""The platform's counts in Prometheus' text exposition format (version 0.0.4).

What ``/api/v1/stats`` gives the dashboard, for a Prometheus (or any
OpenMetrics-reading) scraper holding a reader's API token: detections per
detector and silo, incidents per status, dead letters per source, the live
dashboard clients, and the latest run's start, end and counters. The store
keeps the counts, so every server of a deployment answers alike.

>>> print(render([Family("citywatch_incidents", "Incidents by status.", [({"status": 'a"b'}, 2)])]))
# HELP citywatch_incidents Incidents by status.
# TYPE citywatch_incidents gauge
citywatch_incidents{status="a\\"b"} 2
<BLANKLINE>
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, NamedTuple

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[Mapping[str, str], float]
"""One sample: its labels and its value."""


class Family(NamedTuple):
    """One metric: its name, its help text and its samples (all gauges: counts read now)."""

    name: str
    help: str
    samples: Sequence[Sample]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) else repr(value)


def render(families: Iterable[Family]) -> str:
    """The families as exposition text: HELP and TYPE lines, then one line per sample."""
    lines: list[str] = []
    for family in families:
        lines += [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} gauge"]
        for labels, value in family.samples:
            inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            lines.append(
                f"{family.name}{{{inner}}} {_value(value)}"
                if inner
                else f"{family.name} {_value(value)}"
            )
    return "\n".join(lines) + "\n"
