"""The storage interface every store implements (SQLite embedded, PostgreSQL at scale).

A store keeps what citywatch concluded, never the raw event stream:
detections, incidents, dead letters, run metadata, and the detectors'
checkpointed state. Detections and incidents are upserted by id (a detector
re-emits a detection as its evidence grows). Every implementation passes
``tests/contracts/test_store_contract.py``.

For the operations API it also keeps users, API tokens and sessions (only
SHA-256 digests of their secrets), the append-only audit log, and what people
did to incidents: status changes, comments and assignments. A status change
made through :meth:`Store.change_incident_status` wins over the status in a
later upsert (the correlator re-emits incidents as they grow and does not know
what an analyst decided); its entries are merged into the incident's history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import msgspec

from citywatch.bus.seal import Sealer
from citywatch.errors import StoreError
from citywatch.model import (
    Alert,
    DeadLetter,
    Detection,
    Incident,
    IncidentStatus,
    PlaybookRun,
    StatusChange,
    Suppression,
)
from citywatch.store.claims import Claim


class RunInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One run of a pipeline: what was started, on which inputs, and what it counted."""

    id: str
    command: str
    started: datetime
    inputs: list[str] = msgspec.field(default_factory=list)
    finished: datetime | None = None
    stats: dict[str, int] = msgspec.field(default_factory=dict)


class DeadLetterCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many dead letters one source produced for one reason code."""

    source: str
    stage: str
    code: str
    count: int


class User(msgspec.Struct, frozen=True, kw_only=True):
    """A person (or a service) who may use the API.

    ``password_hash`` is a self-describing scrypt hash (see ``citywatch.api.passwords``);
    empty means the account cannot log in with a password (a service that only uses tokens).
    """

    name: str
    roles: list[str]
    password_hash: str
    created: datetime
    disabled: bool = False


class ApiToken(msgspec.Struct, frozen=True, kw_only=True):
    """An API token's record; the token itself is shown once and never stored.

    ``id`` is the public handle (listed, revoked by); ``digest`` is the SHA-256
    hex digest of the secret token, the only form in which it is kept.
    """

    id: str
    user: str
    label: str
    roles: list[str]
    digest: str
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A dashboard login; ``digest`` is the SHA-256 hex digest of the cookie value."""

    digest: str
    user: str
    csrf: str
    created: datetime
    expires: datetime


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One action in the append-only audit log: who, as which role, did what to what.

    ``outcome`` is ``success``, ``denied`` or ``failure``; ``status`` the HTTP
    status answered. ``seq`` is given by the store (0 before it is appended).
    """

    at: datetime
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    outcome: str
    status: int
    seq: int = 0


class IncidentActivity(msgspec.Struct, frozen=True, kw_only=True):
    """A person's comment on an incident (``kind="comment"``) or assignment (``"assign"``).

    For an assignment ``text`` is the assignee's user name ("" unassigns).
    ``seq`` is given by the store, in order of arrival.
    """

    incident_id: str
    kind: str
    at: datetime
    by: str
    text: str
    seq: int = 0


class StoredAlert(msgspec.Struct, frozen=True, kw_only=True):
    """A public alert as kept: the CAP message and when it was published (None: not yet).

    The message's own ``status`` tells a draft from an approved one; publishing
    is the separate, later step that puts it in the public feed.
    """

    alert: Alert
    published: datetime | None = None


class Pruned(msgspec.Struct, frozen=True, kw_only=True):
    """What one pass of the retention policy deleted (or would delete), by kind."""

    incidents: int = 0
    detections: int = 0
    activity: int = 0
    """Comments and assignments of the incidents deleted."""
    playbook_runs: int = 0
    dead_letters: int = 0
    sessions: int = 0


class IncidentStatusConflictError(StoreError):
    """An incident's status was not the one a status change expected (someone else moved it)."""

    def __init__(
        self, incident_id: str, expected: IncidentStatus, current: IncidentStatus, *, url: str
    ) -> None:
        super().__init__(
            f"incident {incident_id!r} is {current.value}, not {expected.value}", url=url
        )
        self.incident_id = incident_id
        self.expected = expected
        self.current = current


@runtime_checkable
class Store(Protocol):
    """Where citywatch keeps its conclusions; opened by URL with ``open_store``.

    ``since`` filters are inclusive.
    """

    url: str

    def migrate(self) -> None:
        """Create or upgrade the schema to this code's version (idempotent)."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def seal_raw(self, sealer: Sealer) -> None:
        """Seal the raw records of the dead letters written from now on with ``sealer``,
        and open those it sealed when read (others read as a notice that they are sealed)."""

    def claim(self, name: str) -> Claim | None:
        """Hold ``name`` for this process until released or the process ends, a crash
        included; None when another process holds it (one worker per consumer)."""

    def begin_run(self, run: RunInfo) -> None:
        """Record that a run started."""

    def finish_run(self, run_id: str, finished: datetime, stats: dict[str, int]) -> None:
        """Record that a run finished, with its counters."""

    def runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recent runs first."""

    def upsert_detections(self, detections: Sequence[Detection]) -> None:
        """Insert detections, replacing any with the same id."""

    def detections(
        self,
        *,
        detector: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Detection]:
        """Detections by ``@timestamp`` ascending, optionally filtered; ``offset`` skips
        that many first (a page, with ``limit``)."""

    def detection(self, detection_id: str) -> Detection | None:
        """One detection by id."""

    def upsert_incidents(self, incidents: Sequence[Incident]) -> None:
        """Insert incidents, replacing any with the same id."""

    def incidents(
        self,
        *,
        status: IncidentStatus | None = None,
        limit: int | None = None,
        min_severity: int | None = None,
        category: str | None = None,
        since: datetime | None = None,
        offset: int = 0,
    ) -> list[Incident]:
        """Incidents, most severe first, then most recent; ``since`` bounds ``last_seen``.
        Those merged into others only when ``status`` asks for them. ``offset`` skips that
        many first (a page, with ``limit``)."""

    def incident(self, incident_id: str) -> Incident | None:
        """One incident by id."""

    def add_dead_letters(self, run_id: str, letters: Sequence[DeadLetter]) -> None:
        """Append dead letters (never deduplicated: each bad record is kept)."""

    def dead_letters(self, *, source: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Dead letters in arrival order, optionally for one source."""

    def dead_letter_counts(self) -> list[DeadLetterCount]:
        """Counts per source, stage and reason code, largest first."""

    def save_state(self, name: str, blob: bytes) -> None:
        """Checkpoint one named state blob (a detector's, the correlator's), replacing the last."""

    def save_states(
        self,
        states: Mapping[str, bytes],
        *,
        run_id: str = "",
        dead_letters: Sequence[DeadLetter] = (),
    ) -> None:
        """Checkpoint several named state blobs at once, with the dead letters of what they
        cover (appended for run ``run_id``): after a crash, all of them are the new ones or
        none is (a worker's detector states with the stream sequences they cover; the
        correlator worker's dead letters with the sequences it acks, so a redelivery after a
        crash stores none twice)."""

    def load_state(self, name: str) -> bytes | None:
        """The last checkpoint saved under ``name``, or None."""

    # -- what people do to incidents ---------------------------------------------------------

    def change_incident_status(
        self, incident_id: str, change: StatusChange, *, expected: IncidentStatus
    ) -> Incident | None:
        """Move an incident from ``expected`` to ``change.status``, recording ``change``.

        Returns the updated incident, or None if there is no such incident.
        Raises :class:`IncidentStatusConflictError` if its status is not ``expected``.
        """

    def add_incident_activity(self, activity: IncidentActivity) -> int:
        """Append a comment or an assignment; returns its ``seq``."""

    def incident_activity(
        self, incident_id: str, *, kind: str | None = None
    ) -> list[IncidentActivity]:
        """An incident's comments and assignments in order of arrival."""

    def detection_counts(self) -> dict[str, int]:
        """How many detections each detector has in the store."""

    def incident_counts(self) -> dict[str, int]:
        """How many incidents are in each status."""

    # -- users, tokens, sessions -------------------------------------------------------------

    def add_user(self, user: User) -> None:
        """Add a user; a name already taken raises :class:`StoreError`."""

    def user(self, name: str) -> User | None:
        """One user by name."""

    def update_user(self, user: User) -> bool:
        """Replace a user's roles, password hash and disabled flag; False if there is none."""

    def users(self) -> list[User]:
        """Every user, by name."""

    def add_token(self, token: ApiToken) -> None:
        """Record a new API token; an id or digest already used raises :class:`StoreError`."""

    def token(self, digest: str) -> ApiToken | None:
        """The token whose secret has this SHA-256 hex digest (revoked and expired ones too)."""

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Tokens by creation time, optionally of one user."""

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Revoke a token; False if there is no such token or it was already revoked."""

    def add_session(self, session: Session) -> None:
        """Record a new dashboard session."""

    def session(self, digest: str) -> Session | None:
        """The session whose cookie has this SHA-256 hex digest (expired ones too)."""

    def delete_session(self, digest: str) -> None:
        """End a session (idempotent)."""

    def delete_sessions(self, user: str) -> int:
        """End every session of ``user``; returns how many."""

    def delete_expired_sessions(self, now: datetime) -> int:
        """Remove sessions that expired before ``now``; returns how many."""

    # -- retention ---------------------------------------------------------------------------

    def prune(
        self,
        *,
        closed_before: datetime | None,
        dead_letters_before: datetime | None,
        now: datetime,
        dry_run: bool = False,
    ) -> Pruned:
        """Delete, in one transaction, what the retention policy no longer keeps.

        - Incidents closed (resolved, false positive, merged) whose last detection, last
          status change and last comment or assignment are all before ``closed_before``,
          with their detections, lifecycle, comments and playbook runs; and detections in
          no incident (suppressed ones) from before it. Open incidents stay, however old.
        - Dead letters (the raw records) received before ``dead_letters_before``.
        - Sessions expired before ``now``.

        None keeps that kind. Public alerts and the audit log are never deleted. With
        ``dry_run``, counts what it would delete and deletes nothing.
        """

    # -- public alerts -----------------------------------------------------------------------

    def save_alert(self, stored: StoredAlert) -> None:
        """Insert a public alert, or replace the one with the same identifier."""

    def alert(self, identifier: str) -> StoredAlert | None:
        """One public alert by its CAP identifier."""

    def alerts(self, *, published: bool | None = None, limit: int = 100) -> list[StoredAlert]:
        """Public alerts, most recently sent first; ``published`` keeps only (un)published ones."""

    # -- audit -------------------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> int:
        """Append an entry to the audit log (never changed or removed); returns its ``seq``."""

    def audit(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Audit entries newest first; ``before`` pages back from a ``seq`` (exclusive)."""

    # -- the response side ------------------------------------------------------------------

    def save_suppression(self, suppression: Suppression) -> None:
        """Insert or replace a suppression (ending one early saves it with an earlier expiry)."""

    def suppressions(self, *, active_at: datetime | None = None) -> list[Suppression]:
        """Every suppression, or those still in force at ``active_at``; soonest expiry first."""

    def add_playbook_run(self, run: PlaybookRun) -> bool:
        """Record a new run; False (nothing written) if that playbook already answers it."""

    def update_playbook_run(self, run: PlaybookRun) -> None:
        """Save a run's progress (its steps)."""

    def playbook_run(self, run_id: str) -> PlaybookRun | None:
        """One run by id."""

    def playbook_runs(
        self, *, incident_id: str | None = None, limit: int = 100
    ) -> list[PlaybookRun]:
        """Runs newest first, optionally of one incident."""


def alerts_by_incident(store: Store) -> dict[str, list[str]]:
    """Incident id → the CAP identifiers of the public alerts drafted for it, oldest first
    (of the latest 1,000 alerts)."""
    out: dict[str, list[str]] = {}
    for saved in reversed(store.alerts(limit=1000)):
        for incident_id in saved.alert.incidents:
            out.setdefault(incident_id, []).append(saved.alert.identifier)
    return out
