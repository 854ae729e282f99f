"""Live inputs on the bus: what ``serve``, ``ingest mqtt`` and ``ingest-social`` take goes out.

With ``bus_url`` set, a live input runs no detector and no correlator of its
own (the workers do, and one correlator writes the store): each batch is
parsed and enriched here, and its events and dead letters are published by
the same :class:`~citywatch.scaleout.publish.Publisher` as ``analyse --bus``'s,
the call returning once the server has stored them.

An API server also follows what the correlator worker stores: the worker
sends a notice on ``cw.live.<kind>`` after each store write
(:mod:`citywatch.scaleout.correlate`), and :class:`BusInput` turns it into the
same :class:`~citywatch.live.LiveUpdate` as the embedded pipeline's, an
incident read back from the store, so the live feed's frames are the embedded
mode's. Notices are not kept: when the connection comes back after a loss,
the gap handlers are called (the API tells its live clients to re-read the lists).

nats-py is asyncio and the callers are threads (the API's thread pool, the
MQTT client's), so the connection lives on an event loop of its own thread.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import msgspec
import structlog
from nats.aio.msg import Msg

from citywatch.app import bus_sealer
from citywatch.bus import DEAD_LETTERS, LocalBus
from citywatch.bus.jetstream import JetStreamBus
from citywatch.config import Settings
from citywatch.errors import InputError
from citywatch.live import IngestResult, LiveUpdate, incident_update
from citywatch.model import DeadLetter, Event
from citywatch.scaleout.publish import Published, Publisher, publisher_job
from citywatch.store import Store

T = TypeVar("T")
_log = structlog.get_logger(__name__)
_REASONS_SHOWN = 5
_update = msgspec.json.Decoder(LiveUpdate).decode


class BusInput:
    """A :class:`~citywatch.live.LiveInput` that publishes on the bus; thread-safe.

    With a ``store`` (the correlator worker's), it follows the worker's notices
    for :meth:`subscribe`. Raises :class:`~citywatch.errors.BusError` when the
    bus cannot be reached.
    """

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.store = store
        self.run_id = f"bus-{datetime.now(tz=UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        self._dead: list[DeadLetter] = []
        local = LocalBus()
        local.subscribe(DEAD_LETTERS, self._dead.extend)
        self.job = publisher_job(settings, local)
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[LiveUpdate], None]] = []
        self._gap_handlers: list[Callable[[], None]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bus", daemon=True)
        self._thread.start()
        try:
            self.bus = self._call(
                JetStreamBus.connect(
                    settings.bus_url, settings.bus, bus_sealer(settings), self._reconnected
                )
            )
            self.published = Published(stats=self.job.stats)
            self._publisher = Publisher(self.bus, self.published)
            if store is not None:
                self._call(self.bus.listen(self.bus.subjects.all_live, self._on_notice))
        except BaseException:
            self._stop_loop()
            raise

    def ingest(self, fmt: str, source: str, lines: Sequence[bytes]) -> IngestResult:
        """Parse, enrich and publish one batch; returns once the server has stored it.

        Raises :class:`~citywatch.errors.InputError` for an unknown format,
        :class:`~citywatch.errors.BusError` when the bus fails.
        """
        job = self.job
        with self._lock:
            adapter = job.adapters.get(fmt)
            if adapter is None:
                known = ", ".join(sorted(job.adapters))
                raise InputError(f"unknown format {fmt!r} (known: {known})")
            parsed: list[Event] = []
            made: list[DeadLetter] = []
            for item in adapter.parse(source, lines):
                if isinstance(item, Event):
                    parsed.append(item)
                else:
                    made.append(item)
            events = list(job.enriched(parsed))
            job.flush()  # the enricher's dead letters
            made += self._dead
            self._dead.clear()
            self._call(self._send(events, made))
        return IngestResult(
            accepted=len(events),
            dead_letters=len(made),
            reasons=[f"{d.position}: {d.reason}" for d in made[:_REASONS_SHOWN]],
        )

    def keep(self, letters: Sequence[DeadLetter]) -> None:
        """Publish dead letters made outside a batch (the correlator worker stores them)."""
        with self._lock:
            self._call(self._send([], letters))

    def subscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Call ``handler`` with every update the correlator worker stores from now on."""
        self._subscribers.append(handler)

    def unsubscribe(self, handler: Callable[[LiveUpdate], None]) -> None:
        """Stop calling ``handler``."""
        if handler in self._subscribers:
            self._subscribers.remove(handler)

    def on_gap(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` each time the connection to the bus comes back after a loss."""
        self._gap_handlers.append(handler)

    def close(self) -> None:
        """Close the connection (what was published is stored: each call waited for it)."""
        try:
            self._call(self.bus.close())
        finally:
            self._stop_loop()

    async def _send(self, events: Sequence[Event], letters: Sequence[DeadLetter]) -> None:
        publisher = self._publisher
        for event in events:
            await publisher.event(event)
        await publisher.dead_letters(letters)
        await publisher.settle()

    async def _on_notice(self, msg: Msg) -> None:
        """A notice from the correlator worker: what it stored, as a live update."""
        try:
            if msg.subject.endswith(".incident"):
                store = self.store
                assert store is not None  # listening only with a store
                incident = await asyncio.to_thread(store.incident, msg.data.decode())
                if incident is None:
                    return
                update = incident_update(incident)
            else:
                update = _update(msg.data)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            _log.warning("bus_notice_bad", subject=msg.subject, error=str(exc))
            return
        for handler in list(self._subscribers):
            try:
                handler(update)
            except Exception:  # one subscriber never stops the others
                _log.exception("live_subscriber_failed", kind=update.kind)

    async def _reconnected(self) -> None:
        """Notices sent while the connection was down are gone: say so to who follows."""
        for handler in list(self._gap_handlers):
            try:
                handler()
            except Exception:  # one handler never stops the others
                _log.exception("live_gap_handler_failed")

    def _call(self, coroutine: Coroutine[object, object, T]) -> T:
        """Run ``coroutine`` on the bus's loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        """Cancel what is left on the loop (a connection attempt), then stop and close it."""
        self._call(_cancel_the_rest())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _cancel_the_rest() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0)  # callbacks of what was cancelled run before the loop closes
