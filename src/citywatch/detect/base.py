"""The detector interface: keyed, stateful, event-time driven.

A detector says which entity keys an event updates (``keys``), keeps one
explicit state object per key (a ``msgspec.Struct``, so it can be
checkpointed, restored after a crash and partitioned across workers by key),
and appends detections to ``out``. The runtime
(:class:`citywatch.detect.runner.DetectorRunner`) owns the states, calls
``expire`` as the watermark advances, and drops a key's state when
``expire`` says it is idle.

Detections come from :class:`Episode` s: an episode opens when a rule fires
(the detection is emitted at once, for an early alert), keeps collecting
evidence while the activity goes on (re-emitted, same id, as evidence
doubles) and closes after an idle gap (emitted a last time).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, Generic, TypeVar

import msgspec
from pydantic import BaseModel

from citywatch.model import Detection, Event, from_epoch

S = TypeVar("S", bound=msgspec.Struct)


class Episode(msgspec.Struct, kw_only=True):
    """One open detection: when it fired, and the evidence so far."""

    id: str
    fired: float
    first: float
    last: float
    evidence: list[str]
    emitted_at: int = 0
    """Evidence count at the last emission (re-emit when it doubles)."""

    def add(self, event_id: str, ts: float) -> bool:
        """Add evidence; True when the detection should be re-emitted."""
        self.evidence.append(event_id)
        self.last = max(self.last, ts)
        self.first = min(self.first, ts)
        return len(self.evidence) >= 2 * self.emitted_at

    @property
    def unsent(self) -> bool:
        """Evidence arrived since the last emission (a closing episode without is not re-sent)."""
        return len(self.evidence) > self.emitted_at


def detection_id(detector: str, rule: str, key: str, fired: float) -> str:
    """A deterministic detection id: re-running the same input gives the same ids.

    >>> detection_id("d", "r", "k", 1.0) == detection_id("d", "r", "k", 1.0)
    True
    """
    digest = hashlib.blake2b(f"{detector}|{rule}|{key}|{fired:.3f}".encode(), digest_size=10)
    return f"det-{digest.hexdigest()}"


class Detector(ABC, Generic[S]):
    """A keyed, stateful detector (a plug-in registered by ``name``).

    ``datasets`` lists the ``event.dataset`` values it reads (empty: all).
    ``partition_key`` names the event field (ECS name, ``source.pseudonym``)
    that decides every state key and every detection of the detector, so its
    events can be split by that field across workers (``citywatch worker
    --partition``); None when it needs all its events in one place (several
    keys per event, or a model learned across keys).
    Subclasses set ``state_type`` and implement ``keys``, ``new_state``,
    ``update`` and ``expire``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    state_type: ClassVar[type[msgspec.Struct]]
    datasets: ClassVar[frozenset[str]] = frozenset()
    partition_key: ClassVar[str | None] = None

    def __init__(self, config: BaseModel | None = None) -> None:
        self.config = config if config is not None else self.config_model()

    def reads(self, dataset: str) -> bool:
        """True when events of ``dataset`` can concern this detector (the runtime routes by it)."""
        return not self.datasets or dataset in self.datasets

    @abstractmethod
    def keys(self, event: Event) -> tuple[str, ...]:
        """The state keys this event updates; empty to ignore it."""

    def follow_keys(self, event: Event) -> tuple[str, ...]:
        """Keys this event updates only where their state already exists: a key that watches
        what follows something it saw (an account taken over, then used) gets the event, no
        key gets a new state from it. By default none (and a detector that does not override
        this is never asked)."""
        del event
        return ()

    def restored(self, states: Mapping[str, S]) -> None:
        """The runner's states were replaced by a checkpoint's: rebuild what the detector
        keeps about them (an index of the keys worth following); by default nothing."""

    @abstractmethod
    def new_state(self, key: str) -> S:
        """A fresh state for a key seen for the first time."""

    @abstractmethod
    def update(self, key: str, state: S, event: Event, out: list[Detection]) -> None:
        """Fold one event into a key's state, appending any detection to ``out``."""

    def learn(self, event: Event) -> None:
        """Learn normal behaviour from a trusted record (``--learn``); by default nothing."""

    def notices(self) -> list[str]:
        """What of its configuration the detector could not use, each a line a person can act
        on (a rule file that is broken, rules it does not evaluate); by default nothing."""
        return []

    def snapshot_model(self) -> bytes | None:
        """What the detector learned across keys, for a checkpoint; None when it learns nothing."""
        return None

    def restore_model(self, blob: bytes) -> None:
        """Take back what :meth:`snapshot_model` saved."""
        del blob

    @abstractmethod
    def expire(self, key: str, state: S, watermark: float, out: list[Detection]) -> bool:
        """Close what the watermark has passed; True when the state can be dropped."""

    def detection(
        self,
        episode: Episode,
        *,
        rule_id: str,
        rule_name: str,
        severity: int,
        confidence: float,
        category: str,
        summary: str,
        entity: dict[str, str],
        tags: list[str],
        attributes: dict[str, object],
    ) -> Detection:
        """The detection an episode stands for now (marks it emitted)."""
        episode.emitted_at = len(episode.evidence)
        # one datetime for times that are equal (an episode of one record: all three)
        fired = from_epoch(episode.fired)
        first = fired if episode.first == episode.fired else from_epoch(episode.first)
        last = first if episode.last == episode.first else from_epoch(episode.last)
        return Detection(
            id=episode.id,
            timestamp=fired,
            detector=self.name,
            rule_id=rule_id,
            rule_name=rule_name,
            severity=max(1, min(100, severity)),
            confidence=max(0.0, min(1.0, confidence)),
            category=category,
            summary=summary,
            entity=entity,
            evidence=list(episode.evidence),
            first_seen=first,
            last_seen=last,
            tags=tags,
            attributes=dict(attributes),
        )
