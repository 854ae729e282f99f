"""The quake detector's state and config: recent triggers, open quakes, the city's exposure."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.detect.base import Episode
from citywatch.detect.quake.intensity import Item, Report


class QuakeConfig(BaseModel):
    """How triggers make an earthquake, and how its picture is drawn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(20.0, gt=0, description="time window triggers cluster in, seconds")
    min_triggers: int = Field(10, ge=4, description="triggers (after the caps) that make a quake")
    cell_cap: int = Field(
        2, ge=1, description="triggers counted per 1 km cell: a street or a crowd counts little"
    )
    min_extent_km: float = Field(3.0, gt=0, description="least spread of a quake's triggers, km")
    max_residual_s: float = Field(
        1.0, gt=0, description="largest mean P-arrival residual of a quake's triggers, seconds"
    )
    vp_km_s: float = Field(6.0, gt=0, description="P-wave velocity of the location, km/s")
    phones_per_resident: float = Field(
        0.0006,
        ge=0,
        description="app phones listening (still, online) per resident, from the app's heartbeat "
        "statistics; 0 leaves out the evidence of places not triggered yet",
    )
    trigger_threshold_g: float = Field(
        0.005, gt=0, description="the app's on-phone trigger threshold, peak acceleration in g"
    )
    search_km: float = Field(100.0, gt=0, description="half-width of the epicentre search, km")
    associate_s: float = Field(
        90.0, gt=0, description="triggers up to this long after the origin belong to the quake"
    )
    associate_km: float = Field(150.0, gt=0, description="… and up to this far from it, km")
    report_window_s: float = Field(
        6 * 3600.0, gt=0, description="felt reports up to this long after the origin count"
    )
    gap_s: float = Field(1800.0, gt=0, description="idle time that closes a quake, seconds")
    aftershock_s: float = Field(
        7 * 86400.0,
        gt=0,
        description="a later quake this soon after a bigger one is its aftershock",
    )
    aftershock_km: float = Field(50.0, gt=0, description="… and this close to it, km")
    min_reports: int = Field(3, ge=1, description="reports that make a cell's CDI observed")
    priorities: int = Field(20, ge=1, description="length of the ranked impact list")


class Trigger(msgspec.Struct, array_like=True):
    """One phone trigger, as the state keeps it."""

    id: str
    ts: float
    lat: float
    lon: float
    pga_g: float
    device: str | None
    cell: str


class Quake(msgspec.Struct, kw_only=True):
    """One detected earthquake (or aftershock) with its evidence and current solution."""

    id: str
    main_id: str
    """``quake.id``: the main shock's id, shared by its aftershocks."""
    episode: Episode
    triggers: list[Trigger]
    reports: list[Report] = msgspec.field(default_factory=list)
    lat: float = 0.0
    lon: float = 0.0
    depth_km: float = 10.0
    origin: float = 0.0
    magnitude: float = 0.0
    location_error_km: float = 0.0
    magnitude_error: float = 0.0
    fitted: int = 0
    """Triggers in the last solution."""
    unlocated: int = 0
    """Felt reports whose place could not be resolved (unknown postcode)."""


class MainShock(msgspec.Struct, array_like=True):
    """What aftershocks are matched against after a quake has closed."""

    id: str
    origin: float
    lat: float
    lon: float
    magnitude: float


class QuakeState(msgspec.Struct, kw_only=True):
    """The whole city's picture: one state, as a quake spans every district."""

    recent: list[Trigger] = msgspec.field(default_factory=list)
    quakes: list[Quake] = msgspec.field(default_factory=list)
    mains: list[MainShock] = msgspec.field(default_factory=list)
    items: list[Item] = msgspec.field(default_factory=list)
    postcodes: dict[str, tuple[float, float]] = msgspec.field(default_factory=dict)
