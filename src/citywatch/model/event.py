"""The normalised event: one observation from any silo."""

from __future__ import annotations

import msgspec

from citywatch.model.payloads import (
    Connection,
    DnsQuery,
    Exposure,
    FeltReport,
    GateCount,
    HttpRequest,
    SensorTrigger,
    Telemetry,
    TextPost,
    ZoneCount,
)

Payload = (
    HttpRequest
    | Connection
    | Telemetry
    | DnsQuery
    | ZoneCount
    | GateCount
    | SensorTrigger
    | FeltReport
    | Exposure
    | TextPost
)
"""Every payload type an event can carry (a tagged union)."""


class GeoPoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A WGS84 point, with its H3 cell once enriched."""

    lat: float
    lon: float
    h3: str | None = None


class Event(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One normalised observation.

    ``id`` is the id of the raw record it came from (the record's own ``id``,
    Zeek's ``uid``, else ``PATH:LINE``), so every detection traces back to raw
    input. ``timestamp`` is event time, in seconds since the epoch (UTC).

    Entity keys follow ECS names on the wire. Adapters fill what the record
    says; enrichment then pseudonymises personal identifiers: after it,
    ``user_id`` and ``source_pseudonym`` hold keyed HMACs, never raw account
    names, and ``action`` says what the request does (``login``...).
    ``source_ip`` stays raw in memory only, for the detections that need an
    attacker's address to block it; it is never stored for benign traffic.
    """

    id: str
    timestamp: float = msgspec.field(name="@timestamp")
    dataset: str = msgspec.field(name="event.dataset")
    observer: str = msgspec.field(default="", name="observer.name")
    action: str | None = msgspec.field(default=None, name="event.action")
    outcome: str | None = msgspec.field(default=None, name="event.outcome")
    source_ip: str | None = msgspec.field(default=None, name="source.ip")
    source_port: int | None = msgspec.field(default=None, name="source.port")
    source_pseudonym: str | None = msgspec.field(default=None, name="source.pseudonym")
    destination_ip: str | None = msgspec.field(default=None, name="destination.ip")
    destination_port: int | None = msgspec.field(default=None, name="destination.port")
    user_id: str | None = msgspec.field(default=None, name="user.id")
    device_id: str | None = msgspec.field(default=None, name="device.id")
    geo: GeoPoint | None = None
    payload: Payload | None = None
