"""One pipeline run: inputs → adapters → enrich → detectors → correlate, in event time.

The scale-out mode runs the same job in parts (:mod:`citywatch.scaleout`): a
publisher's job has no detectors and only reads and enriches; a detector
worker's job has no enricher (its events arrive enriched) and no correlator
(its detections go out on the bus).

Inputs are merged by event time. The watermark trails the event time that
:data:`QUORUM` records have reached by ``lateness_s``; an event older than the
watermark is too late for the windows that would have used it and becomes a
dead letter (``late``), so it is counted and kept, never silently lost. A
record's clock is the source's word, and sources are not all trusted (phones,
posts, devices): so a lone record, or two, with a wrong clock cannot move the
watermark, and a record timed more than ``max_ahead_s`` ahead of this
machine's clock is a dead letter (``future``), not a jump of the stream's time
that would make every record after it late. Detections, incidents and dead
letters are published on the bus, where sinks (the store, output files)
subscribe.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

import msgspec

from citywatch.bus import DEAD_LETTERS, DETECTIONS, INCIDENTS, LocalBus
from citywatch.city import CityMap
from citywatch.correlate import Correlator
from citywatch.detect import Detector, DetectorRunner
from citywatch.enrich import Enricher
from citywatch.errors import InputError
from citywatch.ingest import Adapter
from citywatch.ingest.posts import redact
from citywatch.model import DeadLetter, Detection, Event, Incident
from citywatch.model.deadletter import RAW_LIMIT
from citywatch.pipeline import heap
from citywatch.pipeline.inputs import InputSpec, Progress, read_lines
from citywatch.pipeline.stats import RunStats
from citywatch.store import Store

_encode = msgspec.json.Encoder().encode

QUORUM: Final = 3
"""Records that must reach an event time before the watermark follows it."""


def _event_json(event: Event) -> bytes:
    """An event as JSON, for its dead letter. Text with a lone surrogate (which a plug-in
    adapter may make, and no UTF-8 encoder takes) has it replaced by ``?``, not fatal."""
    try:
        return _encode(event)
    except UnicodeEncodeError:
        text = json.dumps(msgspec.to_builtins(event), ensure_ascii=False)
        return text.encode("utf-8", "replace")


_DEAD_BATCH = 1000


@dataclass(frozen=True)
class FeedResult:
    """What one batch gave: how many events were analysed, and the dead letters with their
    reasons (the adapter's, and those of events the pipeline turned back)."""

    events: int
    dead_letters: list[DeadLetter]


def _ts(event: Event) -> float:
    return event.timestamp


class Job:
    """Runs the stages over a set of inputs; reusable for several runs in a row."""

    def __init__(
        self,
        *,
        adapters: Mapping[str, Adapter],
        enricher: Enricher | None,
        detectors: Sequence[Detector],  # type: ignore[type-arg]
        correlator: Correlator | None,
        bus: LocalBus,
        lateness_s: float = 300.0,
        max_ahead_s: float = 120.0,
        sweep_s: float = 300.0,
        city: CityMap | None = None,
    ) -> None:
        self.adapters = adapters
        self.city = city if city is not None and city.has_districts else None
        """The city's districts: a detection at a point in one names it (``district``)."""
        self.enricher = enricher
        self.runners = [DetectorRunner(d, self._plugin_failed) for d in detectors]
        self._routes: dict[str, list[Callable[[Event, list[Detection]], None]]] = {}
        """Per dataset: the detectors that read it (their runners' ``fold``)."""
        self.correlator = correlator
        self.bus = bus
        self.lateness_s = lateness_s
        self.max_ahead_s = max_ahead_s
        self.sweep_s = sweep_s
        self.stats = RunStats()
        self.latest: dict[str, Detection] = {}
        self.watermark = -math.inf
        self._reached = (-math.inf, -math.inf, -math.inf)
        """The :data:`QUORUM` latest event times, ascending (the first: what they all reached)."""
        self._next_sweep = -math.inf
        self._dead: list[DeadLetter] = []
        self._turned: list[DeadLetter] | None = None
        """While :meth:`feed` runs: the dead letters of events the pipeline did not analyse."""
        if correlator is not None:
            bus.subscribe(DETECTIONS, partial(self._correlate, correlator))

    def run(self, inputs: Sequence[InputSpec], progress: Progress | None = None) -> RunStats:
        """Learn from the ``learn`` inputs, then analyse the others merged by event time
        (the heap settled in between: :mod:`citywatch.pipeline.heap`)."""
        self.check(inputs)
        for event in self.read(inputs, progress, learn=True):
            self.learn(event)
        heap.settle()
        self.process(self.read(inputs, progress, learn=False))
        self.flush()
        return self.stats

    def check(self, inputs: Sequence[InputSpec]) -> None:
        """Fail fast on an input of unknown format, a missing file or a directory, and one
        file given twice to analyse (its records would count twice)."""
        analysed: set[Path] = set()
        for spec in inputs:
            if spec.format not in self.adapters:
                raise self._unknown(spec.format)
            if spec.path.is_dir():
                raise InputError("a directory: name the files in it", path=spec.source)
            if not spec.path.is_file():
                raise InputError("no such file", path=spec.source)
            if spec.learn:
                continue
            where = spec.path.resolve()
            if where in analysed:
                raise InputError("given twice: each record would count twice", path=spec.source)
            analysed.add(where)

    def learns(self, fmt: str) -> bool:
        """Whether a detector of the job learns from records of format ``fmt`` (``--learn``)."""
        dataset = self.adapters[fmt].dataset
        return any(
            type(r.detector).learn is not Detector.learn and r.detector.reads(dataset)
            for r in self.runners
        )

    def read(
        self, inputs: Sequence[InputSpec], progress: Progress | None = None, *, learn: bool
    ) -> Iterator[Event]:
        """The ``learn`` inputs' events one input after the other, or the others' merged in time.

        Not yet enriched; the adapters' dead letters go out on the bus as they come.
        """
        streams = [self._events(s, progress) for s in inputs if s.learn is learn]
        if learn or len(streams) == 1:
            return itertools.chain(*streams)
        return heapq.merge(*streams, key=_ts)

    def feed(self, fmt: str, source: str, lines: Sequence[bytes]) -> FeedResult:
        """Parse and process one batch of records (a live source); nothing is flushed.

        ``source`` names the batch in record ids and dead letters, so it must be
        unique per batch (``api/<request id>``).
        """
        adapter = self.adapters.get(fmt)
        if adapter is None:
            raise self._unknown(fmt)
        dead: list[DeadLetter] = []
        accepted = self._accept(adapter.parse(source, lines), source, self.stats.events, dead)
        events = list(accepted)
        events.sort(key=_ts)  # a batch may be out of order; the watermark handles the rest
        turned: list[DeadLetter] = []  # events the pipeline turns back: late, future, enrich
        self._turned = turned
        try:
            self.process(events)
        finally:
            self._turned = None
        return FeedResult(events=len(events) - len(turned), dead_letters=dead + turned)

    def enriched(self, events: Iterable[Event]) -> Iterator[Event]:
        """The events enriched; one that fails becomes a dead letter.

        Without an enricher, the events arrive enriched (from the bus) and pass as they are.
        """
        enrich = self.enricher
        if enrich is None:
            yield from events
            return
        for raw_event in events:
            try:
                event = enrich(raw_event)
            except Exception as exc:  # a bad record never stops the run
                self._dead_letter(raw_event, "enrich", "enrich-failed", f"enrichment failed: {exc}")
                continue
            yield event

    def process(self, events: Iterable[Event]) -> None:
        """Enrich and detect, in event time; detections are published as they fire."""
        runners, lateness = self.runners, self.lateness_s
        routes = self._routes
        out: list[Detection] = []
        watermark = self.watermark
        first, second, third = self._reached  # the three latest event times, ascending
        horizon = time.time() + self.max_ahead_s
        next_sweep = self._next_sweep
        for event in self.enriched(events):
            ts = event.timestamp
            if ts < watermark:
                self.stats.late += 1
                self._dead_letter(
                    event,
                    "pipeline",
                    "late",
                    f"event time is {watermark - ts:.0f} s behind the watermark "
                    f"(allowed lateness {lateness:.0f} s)",
                )
                continue
            if ts > first:  # among the three latest times (every in-order record)
                if ts > horizon and ts > (horizon := time.time() + self.max_ahead_s):
                    self._ahead(event, horizon)
                    continue
                if ts >= third:  # in order, the common case: no call on the hot path
                    first, second, third = second, third, ts
                elif ts >= second:
                    first, second = second, ts
                else:
                    first = ts
                if first - lateness > watermark:  # noqa: PLR1730 - no call on the hot path
                    watermark = first - lateness
            folds = routes.get(event.dataset)
            if folds is None:
                folds = routes[event.dataset] = [
                    r.fold for r in runners if r.detector.reads(event.dataset)
                ]
            for fold in folds:
                fold(event, out)
            if watermark >= next_sweep:
                for runner in runners:
                    runner.advance(watermark, out)
                next_sweep = watermark + self.sweep_s
            if out:
                self._publish(out)
                out = []
        self.watermark = watermark
        self._reached = (first, second, third)
        self._next_sweep = next_sweep
        self._publish_incidents()
        self._flush_dead()

    def _publish(self, detections: list[Detection]) -> None:
        """Publish detections, each at a point in a district of the city naming it."""
        city = self.city
        if city is not None:
            for i, d in enumerate(detections):
                geo = d.geo
                if geo is not None and "district" not in d.entity:
                    name = city.district_at(geo.lat, geo.lon)
                    if name is not None:
                        entity = {**d.entity, "district": name}
                        detections[i] = msgspec.structs.replace(d, entity=entity)
        self.bus.publish(DETECTIONS, detections)

    def _ahead(self, event: Event, horizon: float) -> None:
        """A dead letter for an event timed beyond ``horizon`` (this machine's clock ahead by
        the allowance)."""
        self.stats.future += 1
        ahead = event.timestamp - (horizon - self.max_ahead_s)
        self._dead_letter(
            event,
            "pipeline",
            "future",
            f"event time is {ahead:.0f} s ahead of this machine's clock (allowed "
            f"{self.max_ahead_s:.0f} s): the source's clock or time zone is wrong",
        )

    def flush(self) -> None:
        """End of stream: close every open episode and publish what is left."""
        out: list[Detection] = []
        for runner in self.runners:
            runner.flush(out)
        self._publish(out)
        self._publish_incidents()
        self._flush_dead()
        if self.correlator is not None:
            self.stats.incidents = len(self.correlator)

    def _unknown(self, fmt: str) -> InputError:
        return InputError(f"unknown format {fmt!r} (known: {', '.join(sorted(self.adapters))})")

    def learn(self, raw_event: Event) -> None:
        """Let every detector learn from one trusted record (enriched first)."""
        for event in self.enriched((raw_event,)):
            for runner in self.runners:
                runner.learn(event)

    def _events(self, spec: InputSpec, progress: Progress | None) -> Iterator[Event]:
        counted = self.stats.learned if spec.learn else self.stats.events

        def broke(position: int, reason: str) -> None:
            """A gzip stream cut short: its lines so far stand, the break is a dead letter
            (counted as a record, so records still add up to events and dead letters)."""
            self.stats.records[spec.source] += 1
            self._add_dead(
                DeadLetter(
                    source=spec.source,
                    position=position,
                    stage="ingest",
                    format=spec.format,
                    code="truncated",
                    reason=f"{reason}; the lines before it were read, the rest is lost",
                    raw=b"",
                    received=time.time(),
                )
            )

        lines = read_lines(spec.path, progress, on_break=broke)
        return self._accept(
            self.adapters[spec.format].parse(spec.source, lines), spec.source, counted
        )

    def _accept(
        self,
        items: Iterable[Event | DeadLetter],
        source: str,
        counted: Counter[str],
        dead: list[DeadLetter] | None = None,
    ) -> Iterator[Event]:
        """The events of an adapter's output; dead letters go out (and into ``dead``).

        Records and events are counted per ``source`` when the stream ends.
        """
        events = 0
        records = 0
        try:
            for item in items:
                records += 1
                if item.__class__ is Event:
                    events += 1
                    yield item
                else:
                    self._add_dead(item)  # type: ignore[arg-type]
                    if dead is not None:
                        dead.append(item)  # type: ignore[arg-type]
        finally:
            self.stats.records[source] += records
            counted[source] += events

    def _correlate(self, correlator: Correlator, detections: Sequence[Detection]) -> None:
        for detection in detections:
            if detection.id not in self.latest:
                self.stats.detections[detection.detector] += 1
            self.latest[detection.id] = detection
            correlator.add(detection)

    def tidy(self) -> None:
        """In a long-lived pipeline, after a batch: forget what the correlator forgets of
        incidents long quiet (:meth:`~citywatch.correlate.Correlator.tidy`), and their
        detections. The store keeps them; a batch run keeps everything for its outputs."""
        if self.correlator is not None:
            for detection_id in self.correlator.tidy():
                self.latest.pop(detection_id, None)

    def _publish_incidents(self) -> None:
        if self.correlator is not None:
            self.bus.publish(INCIDENTS, self.correlator.changed())

    def _plugin_failed(self, name: str, event: Event | None, exc: Exception) -> None:
        self.stats.plugin_errors[name] += 1
        reason = f"detector {name} failed: {type(exc).__name__}: {exc}"
        if event is not None:
            self._dead_letter(event, "detect", "plugin-error", reason)

    def _dead_letter(self, event: Event, stage: str, code: str, reason: str) -> None:
        """A dead letter for an event the pipeline could not take, with authors' handles masked.

        The raw bytes are the event as JSON; a post's text and links can name
        people (``@handle``), so they are masked as the posts adapters mask theirs.
        """
        raw, reason = redact(_event_json(event), reason)
        letter = DeadLetter(
            source=event.observer,
            position=0,
            stage=stage,
            format=event.dataset,
            code=code,
            reason=reason,
            raw=raw[:RAW_LIMIT],
            received=time.time(),
        )
        self._add_dead(letter)
        if self._turned is not None and stage != "detect":  # a failed detector's event went on
            self._turned.append(letter)

    def _add_dead(self, letter: DeadLetter) -> None:
        self.stats.dead_letters[f"{letter.source} {letter.code}"] += 1
        self._dead.append(letter)
        if len(self._dead) >= _DEAD_BATCH:
            self._flush_dead()

    def _flush_dead(self) -> None:
        batch, self._dead = self._dead, []
        self.bus.publish(DEAD_LETTERS, batch)

    def detections(self) -> list[Detection]:
        """The latest version of every detection of the run, by time (none without a correlator)."""
        return sorted(self.latest.values(), key=lambda d: (d.timestamp, d.id))

    def incidents(self) -> list[Incident]:
        """The incidents of the run (none without a correlator)."""
        return [] if self.correlator is None else self.correlator.incidents()

    def save(self, store: Store, prefix: str = "") -> None:
        """Checkpoint detector and correlator state into the store, under names led by ``prefix``,
        in one transaction.

        Jobs sharing a store (the workers of the scale-out mode) each take their own prefix.
        """
        store.save_states(self.states(prefix))

    def states(self, prefix: str = "") -> dict[str, bytes]:
        """What a checkpoint saves, by name: the detectors' states and learned models, the
        correlator's state and the watermark."""
        states: dict[str, bytes] = {}
        for runner in self.runners:
            states[f"{prefix}detector/{runner.name}"] = runner.snapshot()
            if (model := runner.detector.snapshot_model()) is not None:
                states[f"{prefix}model/{runner.name}"] = model
        if self.correlator is not None:
            states[f"{prefix}correlator"] = self.correlator.snapshot()
        states[f"{prefix}watermark"] = msgspec.msgpack.encode(self.watermark)
        return states

    def restore(self, store: Store, prefix: str = "") -> bool:
        """Resume from the store's checkpoint saved under ``prefix``; False when there is none."""
        blob = store.load_state(f"{prefix}watermark")
        if blob is None:
            return False
        self.watermark = msgspec.msgpack.decode(blob, type=float)
        self._reached = (self.watermark + self.lateness_s,) * 3
        for runner in self.runners:
            if (state := store.load_state(f"{prefix}detector/{runner.name}")) is not None:
                runner.restore(state)
            if (model := store.load_state(f"{prefix}model/{runner.name}")) is not None:
                runner.detector.restore_model(model)
        if (
            self.correlator is not None
            and (state := store.load_state(f"{prefix}correlator")) is not None
        ):
            self.correlator.restore(state)
        return True
