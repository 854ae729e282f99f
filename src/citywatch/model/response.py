"""What the response side keeps: suppressions, and the runs of playbooks with their steps.

>>> from datetime import UTC, datetime
>>> jan, feb = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
>>> s = Suppression(id="sup-1", owner="ana", reason="pen test", detector=["web-*"],
...                 created=jan, expires=feb)
>>> s.in_force(datetime(2026, 1, 15, tzinfo=UTC).timestamp()), s.in_force(1e10)
(True, False)
"""

from __future__ import annotations

import enum
import fnmatch
from datetime import datetime, timedelta

import msgspec

from citywatch.errors import ConfigError
from citywatch.model.detection import Detection

MAX_DAYS = 90
"""The longest a suppression may hold: every suppression expires and is reviewed."""


def _specific(pattern: str) -> bool:
    """A glob that names something: more than wildcards (``*``, ``?``, ``[...]``)."""
    return bool(pattern.strip("*?[]!- "))


class Suppression(msgspec.Struct, frozen=True, kw_only=True):
    """Keep matching detections out of incidents until ``expires``."""

    id: str
    owner: str
    reason: str
    created: datetime
    expires: datetime
    detector: list[str] = msgspec.field(default_factory=list)
    rule: list[str] = msgspec.field(default_factory=list)
    entity: dict[str, str] = msgspec.field(default_factory=dict)
    source_incident: str | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip() or not self.owner.strip():
            raise ConfigError("a suppression needs an owner and a reason", where=self.id)
        if not (self.entity or any(map(_specific, (*self.detector, *self.rule)))):
            # a bare "*" would hold back every detection, an earthquake's too
            raise ConfigError("a suppression must match something specific", where=self.id)
        if not self.created < self.expires <= self.created + timedelta(days=MAX_DAYS):
            raise ConfigError(f"expiry must lie within {MAX_DAYS} days of creation", where=self.id)

    def in_force(self, at: float) -> bool:
        """True at epoch seconds ``at`` (before it expires)."""
        return at < self.expires.timestamp()

    def applies(self, d: Detection, at: float) -> bool:
        """True when ``d`` matches and the suppression is in force at ``at``."""
        return (
            self.in_force(at)
            and (
                not self.detector or any(fnmatch.fnmatchcase(d.detector, p) for p in self.detector)
            )
            and (not self.rule or any(fnmatch.fnmatchcase(d.rule_id, p) for p in self.rule))
            and all(d.entity.get(k) == v for k, v in self.entity.items())
        )


class StepStatus(enum.StrEnum):
    """Where one playbook step stands."""

    WAITING = "waiting"
    """Behind a step that is not done yet."""
    AWAITING_APPROVAL = "awaiting_approval"
    DONE = "done"
    DRY_RUN = "dry_run"
    """Described, not done (the run is a dry run)."""
    FAILED = "failed"
    REJECTED = "rejected"


class StepRun(msgspec.Struct, kw_only=True):
    """One step of a playbook run: what it does, who approved it, what came of it."""

    id: str
    action: str
    approval: str | None
    status: StepStatus = StepStatus.WAITING
    approved_by: str | None = None
    at: datetime | None = None
    summary: str = ""
    files: list[str] = msgspec.field(default_factory=list)


class PlaybookRun(msgspec.Struct, kw_only=True):
    """One playbook answering one incident."""

    id: str
    playbook: str
    incident: str
    started: datetime
    dry_run: bool
    steps: list[StepRun]

    @property
    def finished(self) -> bool:
        """True when no step is left to do or to approve."""
        return all(
            s.status not in (StepStatus.WAITING, StepStatus.AWAITING_APPROVAL) for s in self.steps
        )
