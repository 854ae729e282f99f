"""The long-running pipeline of the embedded mode: batches in, results out as they happen.

The API's ingest endpoints (and later the MQTT and feed pollers) hand it
batches of raw records; detections, incidents and dead letters go to the
store and to live subscribers (Server-Sent Events). State is checkpointed
into the store every few batches and on close, and restored on start, so a
restart neither splits nor duplicates what was open.

A :class:`LiveUpdate` is also what the API publishes when a person changes
something (an alert approved, an incident moved): the same kinds, with a
:class:`Change` saying who did what.

With a bus (``bus_url``), live inputs run no pipeline of their own: they
publish what they take on the bus for the workers, and an API server follows
what the correlator worker stores (:mod:`citywatch.scaleout.live`).
:func:`open_live` picks one or the other; both are a :class:`LiveInput`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import msgspec
import structlog

from citywatch.app import build_job, playbook_runner, start_run
from citywatch.bus import DEAD_LETTERS, DETECTIONS, INCIDENTS, LocalBus
from citywatch.config import Settings
from citywatch.model import DeadLetter, Detection, Incident
from citywatch.pipeline import heap
from citywatch.store import Store

_log = structlog.get_logger(__name__)
_REASONS_SHOWN = 5

UpdateKind = Literal["detection", "incident", "dead_letter", "alert", "suppression", "playbook_run"]
"""What a live update is about: the pipeline's results, and what people change through the API."""


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one batch gave: records accepted as events, dead letters and their first reasons."""

    accepted: int
    dead_letters: int
    reasons: list[str]


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """Who changed an object through the API, and how.

    ``action`` is the verb (``drafted``, ``approved``, ``published``; ``moved``,
    ``commented``, ``assigned``; ``created``, ``ended``; ``rejected``), ``by``
    the user's name, ``target`` what the verb names when the object does not
    say it alone: the status moved to, the assignee (empty: unassigned), the
    playbook step.
    """

    action: str
    by: str
    target: str = ""


class LiveUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One change for live subscribers: the object as it is now, and who changed it.

    ``change`` is None for what the pipeline found (detections, incidents it
    opened or grew, dead letters).
    """

    kind: UpdateKind
    id: str
    data: dict[str, Any]
    change: Change | None = None


def detection_update(detection: Detection) -> LiveUpdate:
    """The live update for a detection the pipeline found."""
    return LiveUpdate(
        kind="detection", id=detection.id, data=msgspec.to_builtins(detection, builtin_types=None)
    )


def dead_letter_update(letter: DeadLetter) -> LiveUpdate:
    """The live update for a dead letter: without its raw bytes, which stay in the store."""
    data = msgspec.to_builtins(letter, builtin_types=None)
    data.pop("raw", None)
    return LiveUpdate(kind="dead_letter", id=f"{letter.source}:{letter.position}", data=data)


def incident_update(incident: Incident, change: Change | None = None) -> LiveUpdate:
    """The live update for ``incident`` as it is now (the pipeline's and the API's alike)."""
    return LiveUpdate(
        kind="incident",
        id=incident.id,
        data=msgspec.to_builtins(incident, builtin_types=None),
        change=change,
    )


class LiveInput(Protocol):
    """Where live inputs (the API's ingest, MQTT, social pollers) hand their batches.

    Thread-safe. ``run_id`` names this process's run (unique: batch names use it).
    """

    run_id: str

    def ingest(self, fmt: str, source: str, lines: Sequence[bytes]) -> IngestResult:
        """Take one batch of raw records of format ``fmt``; ``source`` unique per batch.

        Raises :class:`~citywatch.errors.InputError` for an unknown format.
        """

    def keep(self, letters: Sequence[DeadLetter]) -> None:
        """Keep dead letters made outside a batch (a report no adapter reads)."""

    def subscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Call ``handler`` with every update from now on."""

    def unsubscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Stop calling ``handler``."""

    def on_gap(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` when updates may have been missed (subscribers re-read)."""

    def close(self) -> None:
        """Finish: send or checkpoint what is in hand."""


def open_live(
    settings: Settings,
    store: Store | None,
    *,
    command: str,
    inputs: Sequence[str],
    follow: bool = False,
) -> LiveInput:
    """A live pipeline on ``store``; with a bus, a publisher on it instead.

    On the bus, ``follow`` also turns what the correlator worker stores in
    ``store`` into updates (for an API server's live feed); ``store`` may be
    None without it. Raises :class:`~citywatch.errors.BusError` when the bus
    cannot be reached.
    """
    if settings.bus_url:
        # nats loads only for the bus
        from citywatch.scaleout.live import BusInput  # noqa: PLC0415

        return BusInput(settings, store if follow else None)
    if store is None:
        raise ValueError("an embedded live pipeline needs a store")
    return LivePipeline(settings, store, command=command, inputs=inputs)


class LivePipeline:
    """A thread-safe pipeline fed batch by batch, writing to a store as results arrive."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        command: str = "serve",
        inputs: Sequence[str] = ("api",),
        checkpoint_every: int = 50,
    ) -> None:
        self.store = store
        self.bus = LocalBus()
        self.job = build_job(settings, self.bus, store)
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[LiveUpdate], None]] = []
        self._checkpoint_every = checkpoint_every
        self._batches = 0
        self.resumed = self.job.restore(store)
        heap.settle()
        self.run_id = start_run(
            self.bus,
            store,
            kind="live",
            command=command,
            inputs=inputs,
            runner=playbook_runner(settings, store),
        )
        self.bus.subscribe(DETECTIONS, self._on_detections)
        self.bus.subscribe(INCIDENTS, self._on_incidents)
        self.bus.subscribe(DEAD_LETTERS, self._on_dead_letters)

    def ingest(self, fmt: str, source: str, lines: Sequence[bytes]) -> IngestResult:
        """Process one batch of raw records of format ``fmt``; ``source`` unique per batch.

        Raises :class:`~citywatch.errors.InputError` for an unknown format.
        """
        with self._lock:
            if self.job.correlator is not None:  # what analysts suppressed or ended meanwhile
                self.job.correlator.use(self.store.suppressions(active_at=datetime.now(tz=UTC)))
            fed = self.job.feed(fmt, source, lines)
            self.job.tidy()
            self._batches += 1
            if self._batches % self._checkpoint_every == 0:
                self.job.save(self.store)
        return IngestResult(
            accepted=fed.events,
            dead_letters=len(fed.dead_letters),
            reasons=[f"{d.position}: {d.reason}" for d in fed.dead_letters[:_REASONS_SHOWN]],
        )

    def keep(self, letters: Sequence[DeadLetter]) -> None:
        """Store dead letters made outside a batch, in this run."""
        self.store.add_dead_letters(self.run_id, letters)

    def subscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Call ``handler`` with every update from now on (from the ingesting thread)."""
        self._subscribers.append(handler)

    def unsubscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Stop calling ``handler``."""
        if handler in self._subscribers:
            self._subscribers.remove(handler)

    def on_gap(self, handler: Callable[[], None]) -> None:
        """Never calls ``handler``: in one process, every update reaches its subscribers."""

    def close(self) -> None:
        """Checkpoint the state and record the end of the run; open episodes stay open."""
        with self._lock:
            self.job.save(self.store)
            self.store.finish_run(self.run_id, datetime.now(tz=UTC), self.job.stats.flat())

    def _notify(self, items: Sequence[LiveUpdate]) -> None:
        for update in items:
            for handler in list(self._subscribers):
                try:
                    handler(update)
                except Exception:  # one subscriber never stops ingestion
                    _log.exception("live_subscriber_failed", kind=update.kind)

    def _on_detections(self, items: Sequence[Detection]) -> None:
        self._notify([detection_update(d) for d in items])

    def _on_incidents(self, items: Sequence[Incident]) -> None:
        self._notify([incident_update(i) for i in items])

    def _on_dead_letters(self, items: Sequence[DeadLetter]) -> None:
        self._notify([dead_letter_update(letter) for letter in items])
