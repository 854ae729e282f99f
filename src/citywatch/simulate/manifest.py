"""What a simulation run wrote: the manifest, the ground-truth situations, reading them back.

``manifest.json`` lists the inputs the demo analyses (``inputs``), the same
traffic in other formats (``also``), and where the ground truth is: one
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

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        """The manifest of the run written into ``directory``."""
        return msgspec.json.decode((directory / MANIFEST).read_bytes(), type=cls)


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
