"""When and where the synthetic city's situations happen, shared by every silo's simulator.

The cross-silo stories only fuse if the silos agree on them: the IoT botnet
floods the portal from the very devices it infected; the stadium emergency is
seen in the venue's counts, in posts placed at the arena and in phones shaken
there; the earthquake is felt by phones, reported by citizens and talked about
online. Each moment is a fraction of the simulated span, so a short run still
holds every situation, in the same order.

>>> at(0, 3_600_000, IOT_INFECTION)
720000
"""

from __future__ import annotations

from typing import Final

IOT_INFECTION: Final = 0.20
"""A camera's telnet is brute-forced; malware download, C2 beaconing and spread follow."""
IOT_FLOOD: Final = 0.70
"""The infected devices flood the citizen portal."""
MATCH_KICKOFF: Final = 0.45
"""Kick-off at the arena (gates open well before, per the venue simulator)."""
STADIUM_ALARM: Final = 0.62
"""An alarm in the arena: sudden exodus, posts from the stands, phones shaken by the rush
(at this fraction of the span, kept within the match: :func:`stadium_alarm`)."""
ALARM_AFTER_KICKOFF_MS: Final = (15 * 60_000, 70 * 60_000)
"""How long after kick-off the alarm may come: while the stands are full."""
QUAKE_ORIGIN: Final = 0.85
"""An earthquake near the city: phone triggers, felt reports, posts about damage."""

ARENA_ID: Final = "arena"
ARENA_NAME: Final = "Aldmere Arena"
ARENA_LAT: Final = 45.8262
ARENA_LON: Final = 15.9585
"""The arena's centre, about 2.2 km north-west of the city centre."""

QUAKE_LAT: Final = 45.7080
QUAKE_LON: Final = 16.1050
QUAKE_DEPTH_KM: Final = 10.0
QUAKE_MAGNITUDE: Final = 4.8
"""The demo's earthquake: about 15 km south-east of the centre."""

# Situation ids in ``situations.json``: a silo that sees part of a story adds its phases to it.
SITUATION_IOT_BOTNET: Final = "iot-botnet"
SITUATION_STADIUM: Final = "stadium-emergency"
SITUATION_QUAKE: Final = "earthquake"


def stadium_alarm(span_ms: int) -> float:
    """The fraction of the span at which the arena's alarm goes off: :data:`STADIUM_ALARM`,
    moved into the match when the span is so short or long that it would fall outside (in a
    12 h run it came after the arena had emptied).

    >>> round(stadium_alarm(6 * 3_600_000), 2), round(stadium_alarm(12 * 3_600_000), 3)
    (0.62, 0.547)
    """
    lo, hi = ALARM_AFTER_KICKOFF_MS
    after = min(max((STADIUM_ALARM - MATCH_KICKOFF) * span_ms, lo), hi)
    return MATCH_KICKOFF + after / span_ms


def at(start_ms: int, span_ms: int, fraction: float) -> int:
    """The epoch milliseconds at ``fraction`` of the simulated span."""
    return start_ms + int(span_ms * fraction)
