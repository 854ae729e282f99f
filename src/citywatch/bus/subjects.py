"""The names on the scale-out bus: streams, subjects, consumers.

Three JetStream streams, named from ``[bus]``'s prefixes (defaults shown):

``CITYWATCH_EVENTS``
    enriched events, on ``cw.events.<dataset>`` (``cw.events.portal.access``...);
    the message id is the event's id, so a batch published twice is stored once.
``CITYWATCH_DETECTIONS``
    detections, on ``cw.detections``; the message id is the detection's id and
    a digest of its content, so each new revision of a detection is kept and
    a replayed one is not.
``CITYWATCH_DEAD``
    dead letters, on ``cw.dead-letters``.

Beside the streams, the correlator worker tells the API servers what it has
just stored, on plain (core NATS) subjects that no stream keeps:
``cw.live.<kind>`` (:attr:`Subjects.live`), for their live feeds.

A detector reads one or a few datasets; its consumer filters on the one subject
that covers them all (:func:`covering`), as NATS before 2.10 takes one filter.

With ``bus.partitions`` = N above 1, each event subject ends in a partition,
``cw.events.<dataset>.<p>``, p = :func:`partition` of the event's
``bus.partition_key`` field: a detector keyed on that field alone can run as N
workers, one per partition (``citywatch worker --partition p/N``); the others
read every partition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from citywatch.bus.config import BusConfig


def covering(subjects: Iterable[str]) -> str:
    """The narrowest single NATS filter that matches every one of ``subjects``.

    >>> covering(["cw.events.portal.access", "cw.events.portal.http"])
    'cw.events.portal.*'
    >>> covering(["cw.events.network.conn", "cw.events.iot.telemetry"])
    'cw.events.*.*'
    >>> covering(["cw.events.quake.felt"])
    'cw.events.quake.felt'
    >>> covering(["cw.events.a.b", "cw.events.c"])
    'cw.events.>'
    >>> covering(["cw.events", "cw.events.a"])
    'cw.>'
    """
    split = [s.split(".") for s in dict.fromkeys(subjects)]
    if not split:
        raise ValueError("no subject to cover")
    if len({len(tokens) for tokens in split}) == 1:
        return ".".join(t[0] if len(set(t)) == 1 else "*" for t in zip(*split, strict=True))
    common: list[str] = []
    shortest = min(len(tokens) for tokens in split)
    for tokens in zip(*split, strict=False):
        if len(set(tokens)) > 1 or len(common) == shortest - 1:  # ">" stands for one token or more
            break
        common.append(tokens[0])
    return ".".join([*common, ">"])


def partition(value: str | None, partitions: int) -> int:
    """The partition of a key's value: the same on every machine and in every run.

    >>> partition("client-7", 4) == partition("client-7", 4) < 4
    True
    >>> partition(None, 4) == partition("", 4)
    True
    """
    digest = hashlib.blake2b((value or "").encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


@dataclass(frozen=True)
class Subjects:
    """The streams and subjects of one bus (one city on one NATS server)."""

    subject_prefix: str = "cw"
    stream_prefix: str = "CITYWATCH"
    partitions: int = 1

    @classmethod
    def of(cls, config: BusConfig) -> Subjects:
        """The names ``config`` asks for."""
        return cls(
            subject_prefix=config.subject_prefix,
            stream_prefix=config.stream_prefix,
            partitions=config.partitions,
        )

    @property
    def events_stream(self) -> str:
        """The stream of enriched events."""
        return f"{self.stream_prefix}_EVENTS"

    @property
    def detections_stream(self) -> str:
        """The stream of detections."""
        return f"{self.stream_prefix}_DETECTIONS"

    @property
    def dead_stream(self) -> str:
        """The stream of dead letters."""
        return f"{self.stream_prefix}_DEAD"

    @property
    def all_events(self) -> str:
        """The filter of every event subject."""
        return f"{self.subject_prefix}.events.>"

    def events(self, dataset: str, part: int = 0) -> str:
        """The subject of the events of ``dataset`` (in partition ``part``, if partitioned).

        >>> Subjects().events("iot.telemetry")
        'cw.events.iot.telemetry'
        >>> Subjects(partitions=4).events("portal.access", 3)
        'cw.events.portal.access.3'
        """
        subject = f"{self.subject_prefix}.events.{dataset}"
        return subject if self.partitions == 1 else f"{subject}.{part}"

    def dataset(self, subject: str) -> str:
        """The dataset an event subject carries.

        >>> Subjects().dataset("cw.events.iot.telemetry")
        'iot.telemetry'
        >>> Subjects(partitions=4).dataset("cw.events.portal.access.3")
        'portal.access'
        """
        dataset = subject.removeprefix(f"{self.subject_prefix}.events.")
        return dataset if self.partitions == 1 else dataset.rpartition(".")[0]

    def partition_of(self, subject: str) -> int:
        """The partition an event subject is in (0 on a bus of one).

        >>> Subjects().partition_of("cw.events.iot.telemetry")
        0
        >>> Subjects(partitions=4).partition_of("cw.events.portal.access.3")
        3
        """
        return 0 if self.partitions == 1 else int(subject.rpartition(".")[2])

    def events_filter(self, datasets: frozenset[str], part: int | None = None) -> str:
        """The one filter covering the subjects of ``datasets`` (empty: all), in partition ``part``.

        Without ``part``, every partition.

        >>> Subjects().events_filter(frozenset({"crowd.zone", "crowd.gate"}))
        'cw.events.crowd.*'
        >>> Subjects(partitions=2).events_filter(frozenset({"portal.access", "portal.http"}), 1)
        'cw.events.portal.*.1'
        """
        if part is not None and not datasets:
            raise ValueError("a partition of every dataset has no one filter")
        if not datasets:
            return self.all_events
        if self.partitions == 1:
            return covering(self.events(d) for d in sorted(datasets))
        tail = "*" if part is None else str(part)
        return covering(f"{self.subject_prefix}.events.{d}.{tail}" for d in sorted(datasets))

    @property
    def detections(self) -> str:
        """The subject of detections."""
        return f"{self.subject_prefix}.detections"

    @property
    def dead_letters(self) -> str:
        """The subject of dead letters."""
        return f"{self.subject_prefix}.dead-letters"

    def live(self, kind: str) -> str:
        """The subject of the notices of what the correlator stored, of ``kind``.

        >>> Subjects().live("incident")
        'cw.live.incident'
        """
        return f"{self.subject_prefix}.live.{kind}"

    @property
    def all_live(self) -> str:
        """The filter of every notice subject."""
        return f"{self.subject_prefix}.live.*"
