"""The correlator worker's parts: detections into incidents, and dead letters, into the store.

``correlate`` consumes ``cw.detections``: it stores each detection, folds it
into the :class:`~citywatch.correlate.Correlator` and stores the incidents it
changed (and starts their playbooks), exactly as the embedded pipeline's
sinks do. The correlator's state is checkpointed in the store under
``worker/correlate/``. ``dead-letters`` consumes ``cw.dead-letters`` into the
store. A message on either that is not what its subject says (a detection, a
dead letter) is stored as a dead letter about it; each part stores its dead
letters in its checkpoint's transaction, so a message delivered again after a
crash is not stored twice. Run one correlator worker per store: incidents are
one city's.

After each store write, :class:`Notices` tells the API servers on the bus what
was stored, on ``cw.live.<kind>``: a detection or a dead letter as its live
update, an incident by its id (an incident can be large; the server reads it
back from the store).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg

from citywatch.bus import DETECTIONS, INCIDENTS, LocalBus
from citywatch.bus.jetstream import JetStreamBus, poison
from citywatch.bus.seal import KEY_HEADER, SealError
from citywatch.correlate import Correlator, CorrelatorConfig
from citywatch.live import LiveUpdate, dead_letter_update, detection_update
from citywatch.model import DeadLetter, Detection, Incident
from citywatch.scaleout.consume import Part
from citywatch.store import Store

_detection = msgspec.json.Decoder(Detection).decode
_dead_letter = msgspec.json.Decoder(DeadLetter).decode
_encode = msgspec.json.Encoder().encode


class Notices:
    """What was stored, sent to the API servers; subscribed to ``sinks`` after the store is."""

    def __init__(self, bus: JetStreamBus, sinks: LocalBus) -> None:
        self.bus = bus
        self.sent = 0
        self._pending: list[tuple[str, bytes]] = []
        sinks.subscribe(DETECTIONS, self._detections)
        sinks.subscribe(INCIDENTS, self._incidents)

    async def send(self) -> None:
        """Send the notices of what was stored since the last call."""
        pending, self._pending = self._pending, []
        for subject, payload in pending:
            await self.bus.notify(subject, payload)
        self.sent += len(pending)

    def _updates(self, updates: list[LiveUpdate]) -> None:
        subjects = self.bus.subjects
        self._pending += [(subjects.live(u.kind), _encode(u)) for u in updates]

    def _detections(self, items: Sequence[Detection]) -> None:
        self._updates([detection_update(d) for d in items])

    def dead_letters(self, items: Sequence[DeadLetter]) -> None:
        """Tell of dead letters stored (by a part, with its checkpoint)."""
        self._updates([dead_letter_update(letter) for letter in items])

    def _incidents(self, items: Sequence[Incident]) -> None:
        subject = self.bus.subjects.live("incident")
        self._pending += [(subject, i.id.encode()) for i in items]


class _LetterPart(Part):
    """A part whose dead letters go into the store with its checkpoint, told of once saved."""

    def __init__(
        self,
        bus: JetStreamBus,
        store: Store,
        notices: Notices,
        run_id: str,
        *,
        consumer: str,
        stream: str,
        subject: str,
    ) -> None:
        super().__init__(bus, store, consumer=consumer, stream=stream, subject=subject)
        self.notices = notices
        self.run_id = run_id
        self._letters: list[DeadLetter] = []
        self._stored: list[DeadLetter] = []
        """Those of the checkpoint being saved: told of once it is."""

    def dead_letters(self) -> tuple[str, list[DeadLetter]]:
        """The dead letters of the messages about to be acked, stored with their sequences."""
        self._stored, self._letters = self._letters, []
        return self.run_id, self._stored

    async def saved(self) -> None:
        self.notices.dead_letters(self._stored)
        self._stored = []
        await self.notices.send()


class CorrelatePart(_LetterPart):
    """Detections from the bus into the store and the correlator; incidents into the store.

    A message that is no detection becomes a dead letter, acked with the batch once its
    letter is stored (with the checkpoint, so a redelivery does not store it twice)."""

    def __init__(
        self,
        bus: JetStreamBus,
        sinks: LocalBus,
        store: Store,
        config: CorrelatorConfig,
        notices: Notices,
        run_id: str,
    ) -> None:
        names = bus.subjects
        super().__init__(
            bus,
            store,
            notices,
            run_id,
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
        detections: list[Detection] = []
        for msg in messages:
            try:
                detections.append(_detection(msg.data))
            except msgspec.DecodeError as exc:
                self._letters.append(poison(msg, "detection", exc))
                self.stats.dead_letters += 1
        self.stats.processed += len(detections)
        self.sinks.publish(DETECTIONS, detections)
        # what analysts suppressed or ended meanwhile, through any API server of the store
        self.correlator.use(self.store.suppressions(active_at=_now()))
        for detection in detections:
            self.correlator.add(detection)
        changed = self.correlator.changed()
        self.stats.published += len(changed)
        self.sinks.publish(INCIDENTS, changed)
        self.correlator.tidy()
        await self.notices.send()
        return messages

    def states(self) -> dict[str, bytes]:
        return {f"{self.prefix}correlator": self.correlator.snapshot()}


class DeadLetterPart(_LetterPart):
    """Dead letters from the bus into the store, at each checkpoint."""

    def __init__(self, bus: JetStreamBus, store: Store, notices: Notices, run_id: str) -> None:
        names = bus.subjects
        super().__init__(
            bus,
            store,
            notices,
            run_id,
            consumer="dead-letters",
            stream=names.dead_stream,
            subject=names.dead_letters,
        )

    async def handle(self, messages: list[Msg]) -> list[Msg]:
        for msg in messages:
            try:  # sealed (one published before dead letters were is not: it is taken as is)
                data = self.bus.opened(msg) if KEY_HEADER in (msg.headers or {}) else msg.data
                self._letters.append(_dead_letter(data))
            except (msgspec.DecodeError, SealError) as exc:
                self._letters.append(poison(msg, "dead letter", exc))
        self.stats.processed += len(messages)
        self.stats.dead_letters += len(messages)
        return messages  # acked once their dead letters are stored

    def states(self) -> dict[str, bytes]:
        return {}


def _now() -> datetime:
    return datetime.now(tz=UTC)
