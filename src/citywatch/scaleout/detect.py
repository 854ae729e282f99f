"""A detector worker's part: one detector on its durable consumer of the events stream.

The detector runs in a :class:`~citywatch.pipeline.Job` of its own, without
enricher (the events arrive enriched) or correlator (its detections go out on
``cw.detections``), so it keeps the pipeline's event-time rule: a watermark
trailing the stream's event time by ``lateness_s``, and an event behind it
becomes a dead letter (``late``), as does one timed more than ``max_ahead_s``
ahead of the clock (``future``). Each detector has its own watermark, over
every event its consumer's filter lets through, also those of datasets it does
not read (the filter covers several datasets with one wildcard): a detector
that fires on silence (a device not heard from) keeps time with the city, not
only with its own feeds.

Its consumer is named ``detect-<detector>`` (``detect-<detector>-<p>of<N>``
for partition p of N); its checkpoint is kept in the store under
``worker/<consumer>/``, so a restarted worker, on any machine, resumes where
the last checkpoint left off.
"""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.msg import Msg
from nats.js.api import PubAck

from citywatch.bus import DEAD_LETTERS, DETECTIONS, LocalBus
from citywatch.bus.jetstream import JetStreamBus, poison
from citywatch.bus.seal import SealError
from citywatch.city import CityMap
from citywatch.detect import Detector
from citywatch.model import DeadLetter, Detection, Event
from citywatch.pipeline import Job, heap
from citywatch.scaleout.consume import Part
from citywatch.store import Store

_decode = msgspec.json.Decoder(Event).decode


class DetectPart(Part):
    """Runs one detector over the events of the datasets it reads."""

    def __init__(
        self,
        bus: JetStreamBus,
        detector: Detector,  # type: ignore[type-arg]
        store: Store,
        *,
        lateness_s: float,
        max_ahead_s: float = 120.0,
        part: int | None = None,
        city: CityMap | None = None,
    ) -> None:
        names = bus.subjects
        consumer = f"detect-{detector.name}"
        if part is not None:
            consumer += f"-{part}of{names.partitions}"
        super().__init__(
            bus,
            store,
            consumer=consumer,
            stream=names.events_stream,
            subject=names.events_filter(detector.datasets, part),
        )
        self.detector = detector
        self.whole = part is None
        """It reads every partition: of the copies of an event to learn from (one per
        partition), it learns from the first partition's only."""
        self._detections: list[Detection] = []
        self._dead: list[DeadLetter] = []
        local = LocalBus()
        local.subscribe(DETECTIONS, self._detections.extend)
        local.subscribe(DEAD_LETTERS, self._dead.extend)
        self.job = Job(
            adapters={},
            enricher=None,
            detectors=[detector],
            correlator=None,
            bus=local,
            lateness_s=lateness_s,
            max_ahead_s=max_ahead_s,
            city=city,
        )
        self.stats.resumed = self.job.restore(store, self.prefix)
        heap.settle()

    async def handle(self, messages: list[Msg]) -> list[Msg]:
        bus, job = self.bus, self.job
        keep: list[Msg] = []
        events: list[Event] = []
        for msg in messages:
            try:
                event = _decode(bus.opened(msg))
            except (SealError, msgspec.DecodeError) as exc:  # ValidationError included
                dataset = bus.subjects.dataset(msg.subject)
                self._dead.append(poison(msg, "event", exc, dataset))
                await self._send()
                await bus.term(msg)
                continue
            keep.append(msg)
            self.stats.processed += 1
            if bus.learning(msg):  # in stream order: what came before is analysed first
                if self.whole and bus.subjects.partition_of(msg.subject) != 0:
                    continue  # a copy for another partition's workers
                job.process(events)
                events = []
                job.learn(event)
                self.stats.learned += 1
            else:
                events.append(event)
        job.process(events)
        await self._send()
        return keep

    def states(self) -> dict[str, bytes]:
        return self.job.states(self.prefix)

    async def finish(self) -> None:
        self.job.flush()
        await self._send()

    async def _send(self) -> None:
        bus = self.bus
        pending: list[asyncio.Future[PubAck]] = []
        for detection in self._detections:
            pending.append(await bus.publish_detection(detection))
        for letter in self._dead:
            pending.append(await bus.publish_dead_letter(letter))
        self.stats.published += len(self._detections)
        self.stats.dead_letters += len(self._dead)
        self._detections.clear()
        self._dead.clear()
        await bus.settle(pending)
