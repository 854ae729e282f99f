"""What a simulation run wrote: the manifest, the ground-truth situations, reading them back.

``manifest.json`` lists the inputs the demo analyses (``inputs``), the normal
traffic it learns from first (``learn``), the same traffic in other formats
(``also``), and where the ground truth is: one
``truth.jsonl`` line per record, and ``situations.json`` with what a defender
should find.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import msgspec

from citywatch.simulate.writers import TruthRecord

MANIFEST = "manifest.json"


class ManifestFile(msgspec.Struct, frozen=True):
    format: str
    path: str


class Phase(msgspec.Struct, frozen=True, kw_only=True):
    """One technique of a situation: who, from where, when, how many records."""

    technique: str
    actor: str
    start: str
    end: str
    records: int
    source_ips: list[str] = msgspec.field(name="source.ip")


class Situation(msgspec.Struct, frozen=True, kw_only=True):
    """A ground-truth situation: what a detector (or the correlator) should find."""

    id: str
    title: str
    silo: str
    start: str
    end: str
    entities: dict[str, list[str]]
    techniques: list[str]
    records: int
    phases: list[Phase] = []


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """The index of one simulation run's directory."""

    seed: int
    city: str  # the districts, GeoJSON; the city's name and centre are its top-level properties
    start: datetime
    end: datetime
    inputs: list[ManifestFile]
    also: list[ManifestFile]
    truth: str
    situations: str
    learn: list[ManifestFile] = []
    """Normal traffic to learn from before the inputs (the portal's day before: all benign)."""

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """The manifest of the run written into ``directory``."""
        return msgspec.json.decode((directory / MANIFEST).read_bytes(), type=cls)


def merge_situations(situations: list[Situation]) -> list[Situation]:
    """One situation per id: the silos that see part of a shared story add up to one.

    Entities and techniques are united, phases and records added up, the span
    widened; ``silo`` lists every silo that saw it (``crowd+social``), in order.

    >>> a = Situation(id="s", title="Stadium emergency", silo="crowd", start="2026-03-14T09:00Z",
    ...               end="2026-03-14T09:09Z", entities={"venue.id": ["arena"]}, techniques=[],
    ...               records=3)
    >>> b = Situation(id="s", title="Posts", silo="social", start="2026-03-14T10:01+01:00",
    ...               end="2026-03-14T10:20+01:00",
    ...               entities={"venue.id": ["arena"], "place": ["Aldmere Arena"]},
    ...               techniques=["crowd-danger"], records=9)
    >>> (m,) = merge_situations([a, b])
    >>> m.silo, m.title, m.start, m.end, m.records
    ('crowd+social', 'Stadium emergency', '2026-03-14T09:00Z', '2026-03-14T10:20+01:00', 12)
    >>> sorted(m.entities)
    ['place', 'venue.id']
    """
    merged: dict[str, Situation] = {}
    for s in situations:
        seen = merged.get(s.id)
        if seen is None:
            merged[s.id] = s
            continue
        entities = {k: list(v) for k, v in seen.entities.items()}
        for key, values in s.entities.items():
            entities.setdefault(key, []).extend(v for v in values if v not in entities[key])
        merged[s.id] = Situation(
            id=s.id,
            title=seen.title,
            silo="+".join(dict.fromkeys([*seen.silo.split("+"), s.silo])),
            start=min(seen.start, s.start, key=_instant),
            end=max(seen.end, s.end, key=_instant),
            entities=entities,
            techniques=list(dict.fromkeys([*seen.techniques, *s.techniques])),
            records=seen.records + s.records,
            phases=[*seen.phases, *s.phases],
        )
    return list(merged.values())


def _instant(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def load_situations(directory: Path) -> list[Situation]:
    """The ground-truth situations of the run in ``directory``."""
    manifest = Manifest.load(directory)
    raw = (directory / manifest.situations).read_bytes()
    return msgspec.json.decode(raw, type=list[Situation])


def read_truth(path: Path) -> Iterator[TruthRecord]:
    """The records of a ``truth.jsonl`` file, one by one."""
    decoder = msgspec.json.Decoder(TruthRecord)
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield decoder.decode(line)
