"""The crowd detector's settings, with the published figures they default to.

Densities are persons per m². Defaults: critical 4 p/m² for a moving crowd
(concourses, forecourts) and 5 for a standing or seated one (G. Keith
Still); early warning from Fruin's level of service E (1.08 p/m²) when the
trend reaches the critical level within 15 minutes; gate flows against the
Green Guide's safe rates (82 p/m/min level, 66 stairs) and egress against its
8 minutes.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from citywatch.ingest.venue import ARENA_YAML


class CrowdConfig(BaseModel):
    """Where the venues are described, and the thresholds of the crowd rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    venues: tuple[Path, ...] = Field(
        (ARENA_YAML,),
        description="venue files (YAML or GeoJSON); counts of other venues are ignored",
    )
    critical_moving: float = Field(
        4.0, gt=0, description="critical density of a moving crowd, p/m²"
    )
    critical_standing: float = Field(
        5.0, gt=0, description="critical density of a standing or seated crowd, p/m²"
    )
    warn_density: float = Field(
        1.08, gt=0, description="density from which a rising trend is warned of (Fruin LOS E), p/m²"
    )
    warn_minutes: float = Field(
        15.0, gt=0, description="warn when the trend reaches the critical density within this, min"
    )
    trend_intervals: int = Field(5, ge=2, description="intervals the density trend is fitted on")
    ratios: dict[str, float] = Field(
        default_factory=lambda: {"wifi": 1.9, "ble": 4.0, "cell": 1.2},
        description="people per device counted, per source, until counts of people calibrate it",
    )
    calibration_alpha: float = Field(
        0.2, gt=0, le=1, description="weight of the newest interval in the calibration (EWMA)"
    )
    min_reference: float = Field(
        300.0, gt=0, description="people counted (turnstiles, cameras) before they calibrate"
    )
    flow_margin: float = Field(
        1.15, gt=1, description="a gate's flow above its safe rate times this is a crush risk"
    )
    exodus_drop: float = Field(
        0.05, gt=0, lt=1, description="share of the stands' crowd lost over two intervals: exodus"
    )
    exodus_outflow: float = Field(
        20.0, gt=0, description="mean outward flow through the exits for an exodus, p/m/min"
    )
    session_fill: float = Field(
        0.6, gt=0, le=1, description="share of stand capacity at which the event is under way"
    )
    event_minutes: float = Field(
        100.0, gt=0, description="minutes from the stands filling to the planned egress"
    )
    blocked_flow: float = Field(
        10.0, gt=0, description="mean flow before a gate stops for it to count as blocked, p/m/min"
    )
    egress_norm_min: float = Field(8.0, gt=0, description="egress time norm (Green Guide), minutes")
    gap_s: float = Field(600.0, gt=0, description="quiet time that closes an episode, seconds")
