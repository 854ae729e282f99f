"""The publisher of the scale-out mode: inputs parsed, enriched and published as events.

``citywatch analyse --bus nats://…`` reads its inputs as the embedded
pipeline does (adapters, merged in event time, enriched: personal
identifiers pseudonymised before anything leaves the process) and publishes
every event on ``cw.events.<dataset>``, with its id as the message id, so the
server stores a batch published twice once. Events of ``--learn`` inputs go
first, marked (``Citywatch-Learn``) for the detectors to learn from. Bad input
becomes dead letters on ``cw.dead-letters``. Detection, the event-time rule and correlation are the
workers' (:mod:`citywatch.scaleout.worker`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec
from nats.js.api import PubAck

from citywatch.app import bus_sealer, pseudonymiser
from citywatch.bus import DEAD_LETTERS, LocalBus
from citywatch.bus.jetstream import JetStreamBus
from citywatch.config import Settings
from citywatch.enrich import Enricher
from citywatch.errors import ConfigError
from citywatch.model import DeadLetter, Event
from citywatch.pipeline import InputSpec, Job, RunStats
from citywatch.pipeline.inputs import Progress
from citywatch.plugins import build_adapters

_WINDOW = 2000
"""Events published before waiting for the server's acks."""


class Published(msgspec.Struct, kw_only=True):
    """What a publisher sent: the run's counters, and how many events the server already had."""

    stats: RunStats
    learning: int = 0
    """Trusted events to learn from (``--learn``), published before the others."""
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0


def publisher_job(settings: Settings, local: LocalBus) -> Job:
    """A job that only parses and enriches; its dead letters go to ``local``."""
    return Job(
        adapters=build_adapters(),
        enricher=Enricher(pseudonymiser(settings), settings.enrich),
        detectors=[],
        correlator=None,
        bus=local,
    )


class Publisher:
    """Sends enriched events and dead letters on the bus; every publisher's one way out.

    The server's acks are awaited every :data:`_WINDOW` messages and at :meth:`settle`.
    """

    def __init__(self, bus: JetStreamBus, out: Published) -> None:
        self.bus = bus
        self.out = out
        self._pending: list[asyncio.Future[PubAck]] = []

    async def event(self, event: Event) -> None:
        """Publish an enriched event to analyse."""
        self._pending.append(await self.bus.publish_event(event))
        self.out.events += 1
        await self._window()

    async def learning(self, event: Event) -> None:
        """Publish an enriched, trusted event to learn from."""
        self._pending += await self.bus.publish_learning(event)
        self.out.learning += 1
        await self._window()

    async def dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Publish dead letters."""
        for letter in letters:
            self._pending.append(await self.bus.publish_dead_letter(letter))
        self.out.dead_letters += len(letters)
        await self._window()

    async def settle(self) -> None:
        """Wait until the server has stored everything published; raises BusError if not."""
        pending, self._pending = self._pending, []
        self.out.duplicates += await self.bus.settle(pending)

    async def _window(self) -> None:
        if len(self._pending) >= _WINDOW:
            await self.settle()


def publish(
    settings: Settings, inputs: Sequence[InputSpec], progress: Progress | None = None
) -> Published:
    """Read, enrich and publish ``inputs`` on ``settings.bus_url``.

    The ``learn`` inputs go first, marked to learn from. Raises
    :class:`~citywatch.errors.InputError` for a bad input,
    :class:`~citywatch.errors.BusError` when the bus fails.
    """
    if not settings.bus_url:
        raise ConfigError("no bus to publish on: set it (nats://HOST:PORT)", where="bus_url")
    local = LocalBus()
    job = publisher_job(settings, local)
    job.check(inputs)
    return asyncio.run(_publish(settings, job, local, inputs, progress))


async def _publish(
    settings: Settings,
    job: Job,
    local: LocalBus,
    inputs: Sequence[InputSpec],
    progress: Progress | None,
) -> Published:
    bus = await JetStreamBus.connect(settings.bus_url, settings.bus, bus_sealer(settings))
    out = Published(stats=job.stats)
    publisher = Publisher(bus, out)
    dead: list[DeadLetter] = []
    local.subscribe(DEAD_LETTERS, dead.extend)

    async def send_dead() -> None:
        letters = dead[:]
        dead.clear()
        await publisher.dead_letters(letters)

    try:
        for event in job.enriched(job.read(inputs, progress, learn=True)):  # first, as analyse
            await publisher.learning(event)
            await send_dead()
        for event in job.enriched(job.read(inputs, progress, learn=False)):
            await publisher.event(event)
            await send_dead()
        job.flush()  # the last dead letters
        await send_dead()
        await publisher.settle()
    finally:
        await bus.close()
    return out
