"""The API's request and response bodies (pydantic, the edge), built from the msgspec models.

Detections and incidents keep their wire names (``@timestamp``, ``rule.id``…)
so the API speaks the same JSON as the JSONL outputs (FORMATS.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

import msgspec
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from citywatch.model import Detection, Incident, IncidentStatus
from citywatch.store import RunInfo
from citywatch.store.base import ApiToken, AuditEntry, IncidentActivity, User

Role = Literal["admin", "analyst", "responder", "alert-officer", "viewer", "ingest"]
"""The roles, as the OpenAPI document lists them (``citywatch.api.rbac.ROLES``)."""

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
"""User names: lowercase letters, digits and ``._-``, up to 64 characters."""


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeoOut(_Out):
    lat: float
    lon: float
    h3: str | None = None


class DetectionOut(_Out):
    """One detection, as in the JSONL output."""

    id: str
    timestamp: datetime = Field(alias="@timestamp")
    detector: str
    rule_id: str = Field(alias="rule.id")
    rule_name: str = Field(alias="rule.name")
    severity: int
    confidence: float
    category: str
    summary: str
    entity: dict[str, str]
    evidence: list[str]
    first_seen: datetime
    last_seen: datetime
    geo: GeoOut | None = None
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    @classmethod
    def of(cls, detection: Detection) -> Self:
        return cls.model_validate(msgspec.to_builtins(detection))


class StatusChangeOut(_Out):
    status: IncidentStatus
    at: datetime
    by: str
    note: str = ""


class IncidentOut(_Out):
    """One incident, with its status history."""

    id: str
    title: str
    status: IncidentStatus
    severity: int
    category: str
    first_seen: datetime
    last_seen: datetime
    detections: list[str]
    entities: dict[str, list[str]] = Field(default_factory=dict)
    area: dict[str, JsonValue] | None = None
    measures: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    history: list[StatusChangeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, incident: Incident, alerts: dict[str, list[str]] | None = None) -> Self:
        """The incident as the API shows it; ``alerts``: incident id → its public alerts."""
        out = cls.model_validate(msgspec.to_builtins(incident))
        if alerts and (mine := alerts.get(incident.id)):
            return out.model_copy(update={"alerts": mine})
        return out


class CommentOut(_Out):
    seq: int
    at: datetime
    by: str
    text: str

    @classmethod
    def of(cls, activity: IncidentActivity) -> Self:
        return cls(seq=activity.seq, at=activity.at, by=activity.by, text=activity.text)


class IncidentDetail(IncidentOut):
    """An incident with who it is assigned to and its comments."""

    assignee: str | None = None
    comments: list[CommentOut] = Field(default_factory=list)


class TransitionIn(_In):
    to: IncidentStatus = Field(description="the status to move to")
    note: str = Field("", max_length=2000, description="why (kept in the history)")


class CommentIn(_In):
    text: str = Field(min_length=1, max_length=4000)


class AssignIn(_In):
    assignee: str | None = Field(
        description="a user name, or null to unassign", pattern=NAME_PATTERN
    )


class DeadLetterOut(_Out):
    source: str
    position: int
    stage: str
    format: str
    code: str
    reason: str
    received: datetime
    raw: str = Field(description="the raw bytes as text (invalid UTF-8 replaced, capped)")
    raw_bytes: int = Field(description="length of the raw record as kept")


class DeadLetterCountOut(_Out):
    source: str
    stage: str
    code: str
    count: int


class RunOut(_Out):
    id: str
    command: str
    started: datetime
    finished: datetime | None = None
    inputs: list[str] = Field(default_factory=list)
    stats: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def of(cls, run: RunInfo) -> Self:
        return cls.model_validate(msgspec.to_builtins(run))


class PluginOut(_Out):
    kind: str
    name: str
    description: str
    origin: str
    config_schema: dict[str, JsonValue]


class Stats(_Out):
    """Counts for the overview: per silo and detector, incidents, dead letters, runs."""

    detections_by_silo: dict[str, int]
    detections_by_detector: dict[str, int]
    incidents_by_status: dict[str, int]
    dead_letters: int
    dead_letters_by_source: dict[str, int]
    latest_run: RunOut | None
    live_clients: int


class IngestOut(_Out):
    accepted: int = Field(description="records that became events")
    dead_letters: int = Field(description="records kept as dead letters")
    reasons: list[str] = Field(description="the first dead letters' reasons")


class LoginIn(_In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(_Out):
    name: str
    roles: list[str]
    via: str
    csrf_token: str | None = Field(None, description="send as X-CSRF-Token on unsafe requests")


class UserOut(_Out):
    name: str
    roles: list[str]
    created: datetime
    disabled: bool

    @classmethod
    def of(cls, user: User) -> Self:
        return cls(name=user.name, roles=user.roles, created=user.created, disabled=user.disabled)


class UserIn(_In):
    name: str = Field(pattern=NAME_PATTERN)
    roles: list[Role] = Field(min_length=1, max_length=6)
    password: str | None = Field(
        None, min_length=12, max_length=1024, description="null: a service that uses tokens only"
    )


class UserPatch(_In):
    """What an admin changes of a user; fields left out stay as they are."""

    roles: list[Role] | None = Field(None, min_length=1, max_length=6)
    password: str | None = Field(
        None, min_length=12, max_length=1024, description="a new password (ends their sessions)"
    )
    disabled: bool | None = Field(
        None, description="true: no login, token or session of theirs works (ends their sessions)"
    )


class TokenIn(_In):
    user: str = Field(pattern=NAME_PATTERN)
    label: str = Field(min_length=1, max_length=100)
    roles: list[Role] = Field(min_length=1, max_length=6)
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="default: 90")


class TokenOut(_Out):
    id: str
    user: str
    label: str
    roles: list[str]
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> Self:
        return cls(
            id=token.id,
            user=token.user,
            label=token.label,
            roles=token.roles,
            created=token.created,
            expires=token.expires,
            revoked=token.revoked,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="the secret token: shown this once, never again")


class AuditOut(_Out):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    outcome: str
    status: int

    @classmethod
    def of(cls, entry: AuditEntry) -> Self:
        return cls.model_validate(msgspec.to_builtins(entry))


class Health(_Out):
    status: str
