"""The correlator worker's parts: detections into incidents, and dead letters, into the store.

``correlate`` consumes ``cw.detections``: it stores each detection, folds it
into the :class:`~citywatch.correlate.Correlator` and stores the incidents it
changed (and starts their playbooks), exactly as the embedded pipeline's
sinks do. The correlator's state is checkpointed in the store under
``worker/correlate/``. ``dead-letters`` consumes ``cw.dead-letters`` into the
store (a message there that is not a dead letter is stored as one about it).
Run one correlator worker per store: incidents are one city's.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg

from citywatch.bus import DEAD_LETTERS, DETECTIONS, INCIDENTS, LocalBus
from citywatch.bus.jetstream import JetStreamBus, poison
from citywatch.correlate import Correlator, CorrelatorConfig
from citywatch.model import DeadLetter, Detection
from citywatch.scaleout.consume import Part
from citywatch.store import Store

_detection = msgspec.json.Decoder(Detection).decode
_dead_letter = msgspec.json.Decoder(DeadLetter).decode


class CorrelatePart(Part):
    """Detections from the bus into the store and the correlator; incidents into the store."""

    def __init__(
        self, bus: JetStreamBus, sinks: LocalBus, store: Store, config: CorrelatorConfig
    ) -> None:
        names = bus.subjects
        super().__init__(
            bus,
            store,
            consumer="correlate",
            stream=names.detections_stream,
            subject=names.detections,
        )
        self.sinks = sinks
        self.correlator = Correlator(config, suppressions=store.suppressions(active_at=_now()))
        if (state := store.load_state(f"{self.prefix}correlator")) is not None:
            self.correlator.restore(state)
            self.stats.resumed = True

    async def handle(self, messages: list[Msg]) -> list[Msg]:
        keep: list[Msg] = []
        detections: list[Detection] = []
        for msg in messages:
            try:
                detections.append(_detection(msg.data))
            except msgspec.DecodeError as exc:
                self.sinks.publish(DEAD_LETTERS, [poison(msg, "detection", exc)])
                self.stats.dead_letters += 1
                await self.bus.term(msg)
                continue
            keep.append(msg)
        self.stats.processed += len(detections)
        self.sinks.publish(DETECTIONS, detections)
        for detection in detections:
            self.correlator.add(detection)
        changed = self.correlator.changed()
        self.stats.published += len(changed)
        self.sinks.publish(INCIDENTS, changed)
        return keep

    def checkpoint(self) -> None:
        self.store.save_state(f"{self.prefix}correlator", self.correlator.snapshot())


class DeadLetterPart(Part):
    """Dead letters from the bus into the store, at each checkpoint."""

    def __init__(self, bus: JetStreamBus, sinks: LocalBus, store: Store) -> None:
        names = bus.subjects
        super().__init__(
            bus,
            store,
            consumer="dead-letters",
            stream=names.dead_stream,
            subject=names.dead_letters,
        )
        self.sinks = sinks
        self._letters: list[DeadLetter] = []

    async def handle(self, messages: list[Msg]) -> list[Msg]:
        keep: list[Msg] = []
        for msg in messages:
            try:
                self._letters.append(_dead_letter(msg.data))
            except msgspec.DecodeError as exc:
                self._letters.append(poison(msg, "dead letter", exc))
            keep.append(msg)  # acked once its dead letter (or the one about it) is stored
        self.stats.processed += len(messages)
        self.stats.dead_letters += len(messages)
        return keep

    def checkpoint(self) -> None:
        """Store the dead letters of the messages about to be acked."""
        letters, self._letters = self._letters, []
        self.sinks.publish(DEAD_LETTERS, letters)


def _now() -> datetime:
    return datetime.now(tz=UTC)
