"""The long-running pipeline of the embedded mode: batches in, results out as they happen.

The API's ingest endpoints (and later the MQTT and feed pollers) hand it
batches of raw records; detections, incidents and dead letters go to the
store and to live subscribers (Server-Sent Events). State is checkpointed
into the store every few batches and on close, and restored on start, so a
restart neither splits nor duplicates what was open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import structlog

from citywatch.app import build_job, playbook_runner, start_run
from citywatch.bus import DEAD_LETTERS, DETECTIONS, INCIDENTS, LocalBus
from citywatch.config import Settings
from citywatch.model import DeadLetter, Detection, Incident
from citywatch.store import Store

_log = structlog.get_logger(__name__)
_REASONS_SHOWN = 5

UpdateKind = Literal["detection", "incident", "dead_letter"]


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one batch gave: records accepted as events, dead letters and their first reasons."""

    accepted: int
    dead_letters: int
    reasons: list[str]


class LiveUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One change for live subscribers: a detection, an incident or a dead letter."""

    kind: UpdateKind
    id: str
    data: dict[str, Any]


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
            fed = self.job.feed(fmt, source, lines)
            self._batches += 1
            if self._batches % self._checkpoint_every == 0:
                self.job.save(self.store)
        return IngestResult(
            accepted=fed.events,
            dead_letters=len(fed.dead_letters),
            reasons=[f"{d.position}: {d.reason}" for d in fed.dead_letters[:_REASONS_SHOWN]],
        )

    def subscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Call ``handler`` with every update from now on (from the ingesting thread)."""
        self._subscribers.append(handler)

    def unsubscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Stop calling ``handler``."""
        if handler in self._subscribers:
            self._subscribers.remove(handler)

    def close(self) -> None:
        """Checkpoint the state and record the end of the run; open episodes stay open."""
        with self._lock:
            self.job.save(self.store)
            self.store.finish_run(self.run_id, datetime.now(tz=UTC), self.job.stats.flat())

    def _notify(self, kind: UpdateKind, items: Sequence[Detection | Incident | DeadLetter]) -> None:
        for item in items:
            ident = (
                item.id if not isinstance(item, DeadLetter) else f"{item.source}:{item.position}"
            )
            data = msgspec.to_builtins(item, builtin_types=None)
            if isinstance(item, DeadLetter):
                data.pop("raw", None)  # raw bytes stay in the store, not on the live feed
            update = LiveUpdate(kind=kind, id=ident, data=data)
            for handler in list(self._subscribers):
                try:
                    handler(update)
                except Exception:  # one subscriber never stops ingestion
                    _log.exception("live_subscriber_failed", kind=kind)

    def _on_detections(self, items: Sequence[Detection]) -> None:
        self._notify("detection", items)

    def _on_incidents(self, items: Sequence[Incident]) -> None:
        self._notify("incident", items)

    def _on_dead_letters(self, items: Sequence[DeadLetter]) -> None:
        self._notify("dead_letter", items)
