"""Request and response bodies of the public-alert and citizen-report endpoints.

A public alert's ``state`` is what a person needs to know next: ``draft``
(waits for a second person's approval), ``approved`` (may be published),
``published`` (in the public feed until replaced, cancelled or expired),
``replaced`` (a published Update took its place) or ``cancelled`` (a published
Cancel withdrew it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from citywatch.store.base import StoredAlert

AlertState = Literal["draft", "approved", "published", "replaced", "cancelled"]
LANGUAGE = r"^[a-z]{2}-[A-Z]{2}$"
HAZARD = r"^[a-z_]{1,40}$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*$"
"""Text a CAP document can carry (XML 1.0 characters: no control characters but tab and
newlines)."""
Language = Annotated[str, Field(pattern=LANGUAGE)]
DAMAGE_CODES = frozenset({0.0, 0.5, 0.75, 1.0, 2.0, 3.0})


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertDraftIn(_In):
    """What to draft a public alert from: an incident, and the officer's choices."""

    incident_id: str = Field(min_length=1, max_length=200)
    hazard: str | None = Field(None, pattern=HAZARD, description="default: inferred")
    languages: list[Language] = Field(
        default_factory=lambda: ["en-GB", "de-DE"],
        min_length=1,
        max_length=3,
        description="one info block per language (en, de, hr), each once",
        json_schema_extra={"uniqueItems": True},
    )
    area_desc: str | None = Field(None, min_length=1, max_length=200, pattern=TEXT)
    expires_in_min: int | None = Field(None, ge=5, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _distinct_languages(self) -> Self:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("each language once")
        return self


class AlertUpdateIn(_In):
    """An update re-drafts from the incident as it is now, with the same choices."""

    hazard: str | None = Field(None, pattern=HAZARD)
    area_desc: str | None = Field(None, min_length=1, max_length=200, pattern=TEXT)
    expires_in_min: int | None = Field(None, ge=5, le=7 * 24 * 60)


class AlertCancelIn(_In):
    note: str | None = Field(None, min_length=1, max_length=500, pattern=TEXT, description="why")


class AlertOut(BaseModel):
    """A public alert in brief, with the first language's text."""

    model_config = ConfigDict(frozen=True)

    identifier: str
    state: AlertState
    msg_type: str
    status: str
    sent: datetime
    published: datetime | None
    drafted_by: str
    approved_by: str | None
    incidents: list[str]
    references: list[str] = Field(description="identifiers of the messages this one replaces")
    languages: list[str]
    event: str | None
    headline: str | None
    severity: str | None
    urgency: str | None
    certainty: str | None
    instruction: str | None
    area: str | None

    @classmethod
    def of(cls, stored: StoredAlert, replaced: dict[str, StoredAlert] | None = None) -> Self:
        """The alert in brief; ``replaced``: identifier → the published message that replaced
        it (:func:`replacements`)."""
        alert = stored.alert
        info = alert.infos[0] if alert.infos else None
        by = (replaced or {}).get(alert.identifier)
        state: AlertState = (
            ("cancelled" if by.alert.msg_type == "Cancel" else "replaced")
            if by is not None
            else "published"
            if stored.published is not None
            else "approved"
            if alert.can_publish()
            else "draft"
        )
        return cls(
            identifier=alert.identifier,
            state=state,
            msg_type=alert.msg_type,
            status=alert.status,
            sent=alert.sent,
            published=stored.published,
            drafted_by=alert.drafted_by,
            approved_by=alert.approved_by,
            incidents=list(alert.incidents),
            references=[r.identifier for r in alert.references],
            languages=[i.language for i in alert.infos],
            event=info.event if info else None,
            headline=info.headline if info else None,
            severity=info.severity if info else None,
            urgency=info.urgency if info else None,
            certainty=info.certainty if info else None,
            instruction=info.instruction if info else None,
            area="; ".join(a.area_desc for a in info.areas) or None if info else None,
        )


class _ReportIn(_In):
    time: AwareDatetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class FeltReportIn(_ReportIn):
    """Felt shaking, coded as "Did you feel it?" (FORMATS.md ``felt-reports``).

    Any answer but ``felt`` may be absent, and absent is not zero.
    """

    kind: Literal["felt"]
    felt: Literal[0, 1]
    motion: int | None = Field(None, ge=0, le=5)
    reaction: int | None = Field(None, ge=0, le=5)
    stand: Literal[0, 1] | None = None
    shelf: int | None = Field(None, ge=0, le=3)
    picture: Literal[0, 1] | None = None
    furniture: Literal[0, 1] | None = None
    damage: float | None = Field(
        None,
        description="the DYFI damage code",
        json_schema_extra={"enum": [*sorted(DAMAGE_CODES), None]},
    )

    @model_validator(mode="after")
    def _damage_code(self) -> Self:
        if self.damage is not None and self.damage not in DAMAGE_CODES:
            raise ValueError(f"damage must be one of {sorted(DAMAGE_CODES)}")
        return self


class IncidentReportIn(_ReportIn):
    """Something a citizen saw: a category and a short text."""

    kind: Literal["incident"]
    category: Literal["fire", "violence", "crowd", "flood", "damage", "other"]
    text: str = Field(min_length=1, max_length=500)


ReportIn = Annotated[FeltReportIn | IncidentReportIn, Field(discriminator="kind")]
"""A citizen's report: no name, address or contact is asked, only where and when."""


class ReportOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="the report's id, to quote when asking about it")
    accepted: bool = Field(description="false: kept as a dead letter (see reasons)")
    reasons: list[str]


def replacements(published: Iterable[StoredAlert]) -> dict[str, StoredAlert]:
    """Identifier → the published message (an Update, a Cancel) that replaced it; a Cancel
    wins, whatever the order (it withdraws the thread, the updates' originals too)."""
    out: dict[str, StoredAlert] = {}
    for saved in published:
        if saved.published is None:
            continue
        for ref in saved.alert.references:
            known = out.get(ref.identifier)
            if known is None or known.alert.msg_type != "Cancel":
                out[ref.identifier] = saved
    return out
