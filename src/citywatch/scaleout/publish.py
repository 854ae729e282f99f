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
from citywatch.model import DeadLetter
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
    job = Job(
        adapters=build_adapters(),
        enricher=Enricher(pseudonymiser(settings), settings.enrich),
        detectors=[],
        correlator=None,
        bus=local,
    )
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
    dead: list[DeadLetter] = []
    local.subscribe(DEAD_LETTERS, dead.extend)
    pending: list[asyncio.Future[PubAck]] = []

    async def settle() -> None:
        for letter in dead:
            pending.append(await bus.publish_dead_letter(letter))
        out.dead_letters += len(dead)
        dead.clear()
        out.duplicates += await bus.settle(pending)
        pending.clear()

    try:
        for event in job.enriched(job.read(inputs, progress, learn=True)):  # first, as analyse
            pending += await bus.publish_learning(event)
            out.learning += 1
            if len(pending) >= _WINDOW:
                await settle()
        for event in job.enriched(job.read(inputs, progress, learn=False)):
            pending.append(await bus.publish_event(event))
            out.events += 1
            if len(pending) >= _WINDOW:
                await settle()
        job.flush()  # the last dead letters
        await settle()
    finally:
        await bus.close()
    return out
