"""The IoT fleet detector's configuration (``[detectors.iot-fleet]`` in citywatch.toml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class IotConfig(BaseModel):
    """Where the inventory and advisories are, how learning is gated, and the rules' thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inventory: Path | None = Field(
        None, description="device inventory (CSV or JSON); without it devices are keyed by address"
    )
    inventory_tz: str = Field("UTC", description="time zone of the inventory's maintenance windows")
    advisories: Path | None = Field(
        None, description="advisory list (JSON); default: the example shipped with citywatch"
    )
    fleet_networks: tuple[str, ...] = Field(
        ("10.20.0.0/16",), description="networks of the fleet: a host there not in the inventory "
        "is a finding"
    )  # fmt: skip
    learn_s: float = Field(
        3600.0, ge=0, description="trusted warm-up per device: everything it does is learned"
    )
    learn_below: float = Field(
        0.3, ge=0, le=1, description="after warm-up, learn only records scoring below this"
    )
    max_known: int = Field(256, ge=8, description="peers and services kept per device baseline")
    max_class_known: int = Field(4096, ge=8, description="peers kept per class baseline")
    scan_fanout: int = Field(20, ge=3, description="new addresses in the scan window that fire")
    scan_window_s: float = Field(60.0, gt=0, description="scan window, seconds")
    flood_conns: int = Field(40, ge=5, description="connections to one peer in 10 s that fire")
    beacon_contacts: int = Field(5, ge=3, description="contacts to a new peer before periodicity")
    beacon_cv: float = Field(
        0.2, gt=0, description="largest spread of intervals (std/mean) that counts as a beacon"
    )
    download_bytes: int = Field(200_000, ge=1, description="bytes from a new peer: a download")
    bruteforce_attempts: int = Field(5, ge=2, description="failed or new remote logins that fire")
    bruteforce_window_s: float = Field(600.0, gt=0, description="brute-force window, seconds")
    dns_entropy: float = Field(3.2, ge=0, description="bits per character of a generated name")
    silent_s: float = Field(
        1800.0, gt=0, description="a device without telemetry this long is silent"
    )
    silent_fraction: float = Field(
        0.5, gt=0, le=1, description="share of a class silent together that fires"
    )
    silent_min: int = Field(5, ge=2, description="devices silent together that fire at least")
    outage_min: int = Field(
        5, ge=2, description="devices offline together in one area that fire an outage at least"
    )
    outage_fraction: float = Field(
        0.6, gt=0, le=1, description="share of an H3 cell's devices offline that darkens it"
    )
    outage_h3: int = Field(
        8, ge=0, le=15, description="H3 resolution of the cells devices are grouped in for outages"
    )
    unseen_s: float = Field(
        86400.0, gt=0, description="a device unseen this long is a posture finding"
    )
    gap_s: float = Field(900.0, gt=0, description="idle time that closes an episode, seconds")
    default_users: tuple[str, ...] = Field(
        ("", "root", "admin", "default", "support", "guest", "user", "ubnt", "service"),
        description="account names that mean factory or blank credentials",
    )
