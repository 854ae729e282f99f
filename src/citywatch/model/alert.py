"""Public warnings: a CAP 1.2 alert message as a typed value.

Field names follow the OASIS Common Alerting Protocol 1.2 elements in
snake_case (``msgType`` → ``msg_type``, ``areaDesc`` → ``area_desc``); the
repeatable elements are lists with plural names (``infos``, ``areas``,
``polygons``). :mod:`citywatch.respond.cap` renders an :class:`Alert` as CAP
XML in the schema's element order and parses it back.

Coordinates are WGS84 ``(lat, lon)`` pairs, in CAP order (GeoJSON is
``[lon, lat]``); a polygon is a closed ring of at least four points. Every
time carries a UTC offset. The approval fields (``drafted_by``,
``approved_by``) are citywatch's own and never written into the CAP document:
an alert is published only once a second person has approved it
(:meth:`Alert.can_publish`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Category = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
ResponseType = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"
]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

# CAP 1.2 §3.2.1: identifier and sender must not include spaces, commas or < and &.
_TOKEN = re.compile(r"[^\s,<&]+")


def _aware(value: datetime | None, name: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} needs a UTC offset (an aware datetime), got {value.isoformat()}")


MACHINE_DRAFTER: Final = "playbook:"
"""How a draft a playbook wrote names its drafter (``playbook:warn-the-public``)."""


class AlertReference(msgspec.Struct, frozen=True, kw_only=True):
    """An earlier message, as CAP's ``references`` names it: ``sender,identifier,sent``."""

    sender: str
    identifier: str
    sent: AwareDatetime

    def __post_init__(self) -> None:
        _aware(self.sent, "references.sent")


class AlertCircle(msgspec.Struct, frozen=True, kw_only=True):
    """A circle: centre ``(lat, lon)`` and radius in kilometres."""

    lat: float
    lon: float
    radius_km: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"circle centre out of range: {self.lat}, {self.lon}")
        if not self.radius_km >= 0.0:
            raise ValueError(f"circle radius must be >= 0 km, got {self.radius_km}")


class AlertArea(msgspec.Struct, frozen=True, kw_only=True):
    """One affected area: a description and any polygons, circles and geocodes."""

    area_desc: str
    polygons: list[list[tuple[float, float]]] = msgspec.field(default_factory=list)
    circles: list[AlertCircle] = msgspec.field(default_factory=list)
    geocodes: list[tuple[str, str]] = msgspec.field(default_factory=list)
    altitude: float | None = None
    ceiling: float | None = None

    def __post_init__(self) -> None:
        for ring in self.polygons:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError("a CAP polygon is a closed ring of at least 4 (lat, lon) points")
            for lat, lon in ring:
                if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                    raise ValueError(f"polygon point out of range: {lat}, {lon}")


class AlertResource(msgspec.Struct, frozen=True, kw_only=True):
    """A file that goes with the alert (a map, an audio version)."""

    resource_desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


class AlertInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The alert in one language (CAP ``info``): what, how bad, what to do, where."""

    language: str
    categories: list[Category]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response_types: list[ResponseType] = msgspec.field(default_factory=list)
    audience: str | None = None
    event_codes: list[tuple[str, str]] = msgspec.field(default_factory=list)
    effective: AwareDatetime | None = None
    onset: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[tuple[str, str]] = msgspec.field(default_factory=list)
    resources: list[AlertResource] = msgspec.field(default_factory=list)
    areas: list[AlertArea] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.categories:
            raise ValueError("an info block needs at least one category")
        _aware(self.effective, "effective")
        _aware(self.onset, "onset")
        _aware(self.expires, "expires")


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """A public warning (CAP ``alert``), with one :class:`AlertInfo` per language.

    ``references`` lists the earlier messages an Update or Cancel refers to;
    ``incidents`` the citywatch incident ids it was drafted from.

    >>> from datetime import UTC, datetime
    >>> a = Alert(identifier="a1", sender="alerts@example.org",
    ...           sent=datetime(2026, 3, 14, 9, 0, tzinfo=UTC), status="Actual",
    ...           msg_type="Alert", scope="Public", drafted_by="ana")
    >>> a.can_publish(), a.approved("ana").can_publish(), a.approved("ben").can_publish()
    (False, False, True)
    """

    identifier: str
    sender: str
    sent: AwareDatetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: list[str] = msgspec.field(default_factory=list)
    note: str | None = None
    references: list[AlertReference] = msgspec.field(default_factory=list)
    incidents: list[str] = msgspec.field(default_factory=list)
    infos: list[AlertInfo] = msgspec.field(default_factory=list)
    drafted_by: str = ""
    approved_by: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("identifier", self.identifier), ("sender", self.sender)):
            if not _TOKEN.fullmatch(value):
                raise ValueError(f"CAP {name} must be non-empty without spaces, commas, < or &")
        _aware(self.sent, "sent")
        if self.msg_type in ("Update", "Cancel") and not self.references:
            raise ValueError(f"a {self.msg_type} message must reference the earlier message(s)")

    @property
    def reference(self) -> AlertReference:
        """How a later Update or Cancel refers to this message."""
        return AlertReference(sender=self.sender, identifier=self.identifier, sent=self.sent)

    def can_publish(self) -> bool:
        """True once a second person approved it and it is no longer a draft.

        The approver must differ from the drafter (compared case-insensitively
        after trimming); the playbook and API layers enforce who may approve.
        """
        drafter = self.drafted_by.strip().casefold()
        approver = (self.approved_by or "").strip().casefold()
        return bool(drafter) and bool(approver) and approver != drafter and self.status != "Draft"

    @property
    def machine_drafted(self) -> bool:
        """Whether a playbook drafted it (``playbook:ID``): then one person approves and
        another publishes, so that two people decide, as for a draft a person wrote."""
        return self.drafted_by.startswith(MACHINE_DRAFTER)

    def may_publish(self, by: str) -> bool:
        """Whether ``by`` may publish it: approved (:meth:`can_publish`), and for a playbook's
        draft by someone other than its approver."""
        if not self.can_publish():
            return False
        other = by.strip().casefold() != (self.approved_by or "").strip().casefold()
        return other or not self.machine_drafted

    def approved(self, by: str, *, status: Status = "Actual") -> Alert:
        """This alert approved by ``by`` and set to ``status`` (``Actual`` unless an exercise)."""
        return msgspec.structs.replace(self, approved_by=by, status=status)
