"""The portal benchmark's inputs: a learning file and a labelled test file of full requests.

Benign traffic is the synthetic city's (``citywatch.simulate``): the requests
its ground truth labels benign, split in time into a first half that
detectors may learn from and a second half that is tested. Into the test
half go the hand-written benign look-alikes, the hand-written attacks, their
generated evasive variants and the red team's requests, at evenly spread
times (in a seeded order), each attack from its own client address so that
every request is judged on its own content.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from citywatch.bench.corpus import (
    ATTACK_LABELS,
    ATTACKS,
    BENIGN,
    LOOKALIKE_LABELS,
    LOOKALIKES,
    REDTEAM,
    REDTEAM_LABELS,
    HttpRecord,
    Label,
    encode_line,
    read_labels,
    read_records,
)
from citywatch.bench.corpus.evasions import generate
from citywatch.simulate import Manifest, read_truth, simulate
from citywatch.simulate.generate import HTTP_JSONL

SIM: Final = "sim"
LOOKALIKE: Final = "lookalike"
HAND: Final = "hand-written"
VARIANT: Final = "variant"
REDTEAM_ORIGIN: Final = "red-team"


class _Stamp(msgspec.Struct):
    id: str
    timestamp: str = msgspec.field(name="@timestamp")
    source_ip: str = msgspec.field(default="", name="source.ip")


_stamp = msgspec.json.Decoder(_Stamp).decode


@dataclass
class BenchCorpus:
    """The files of one benchmark run and what each test request is."""

    learn: Path
    test: Path
    labels: dict[str, str] = field(default_factory=dict)
    """Test request id → class (``benign`` or an attack class)."""
    origin: dict[str, str] = field(default_factory=dict)
    """Test request id → ``sim``, ``lookalike``, ``hand-written``, ``variant`` or ``red-team``."""
    evasion: dict[str, str] = field(default_factory=dict)
    """Variant id → the evasion it uses."""
    learned: int = 0
    address_clashes: int = 0
    """Attack client addresses that also send benign requests (should be 0)."""

    def count(self, origin: str) -> int:
        """How many test requests come from ``origin``."""
        return sum(1 for o in self.origin.values() if o == origin)


def build(
    work: Path, *, seed: int = 7, hours: float = 6.0, residents: int = 4000, evasion_seed: int = 0
) -> BenchCorpus:
    """Simulate the city and write ``learn.http.jsonl`` and ``test.http.jsonl`` under ``work``."""
    city = work / "city"
    manifest = simulate(seed, city, hours=hours, residents=residents)
    (spec,) = [i for i in manifest.inputs if i.path == HTTP_JSONL]  # the portal's own traffic
    benign = _benign_lines(city, manifest, city / spec.path)
    half = len(benign) // 2
    learn, tested = benign[:half], benign[half:]
    corpus = BenchCorpus(learn=work / "learn.http.jsonl", test=work / "test.http.jsonl")
    with corpus.learn.open("wb") as fh:
        for _, line in learn:
            fh.write(line)
    corpus.learned = len(learn)

    extra = _extra_records(corpus, evasion_seed)
    start, end = tested[0][0], tested[-1][0]
    random.Random(seed).shuffle(extra)
    step = (end - start) / (len(extra) + 1)
    stamped: list[tuple[datetime, bytes]] = []
    for n, record in enumerate(extra, 1):
        when = start + n * step
        record.timestamp = when.isoformat(timespec="milliseconds")
        stamped.append((when, encode_line(record) + b"\n"))
    benign_ips = {_stamp(line).source_ip for _, line in benign}
    corpus.address_clashes = sum(
        1 for r in extra if r.source_ip in benign_ips and corpus.labels[r.id] != BENIGN
    )
    for _, line in tested:
        rid = _stamp(line).id
        corpus.labels[rid] = BENIGN
        corpus.origin[rid] = SIM
    merged = sorted([*tested, *stamped], key=lambda item: item[0])
    with corpus.test.open("wb") as fh:
        for _, line in merged:
            fh.write(line)
    return corpus


def _benign_lines(city: Path, manifest: Manifest, path: Path) -> list[tuple[datetime, bytes]]:
    benign = {t.id for t in read_truth(city / manifest.truth) if t.label == BENIGN}
    out = []
    with path.open("rb") as fh:
        for line in fh:
            head = _stamp(line)
            if head.id in benign:
                out.append((datetime.fromisoformat(head.timestamp), line))
    out.sort(key=lambda item: item[0])
    return out


def _extra_records(corpus: BenchCorpus, evasion_seed: int) -> list[HttpRecord]:
    """The corpus's own requests, registered in ``corpus``'s label maps."""
    out: list[HttpRecord] = []

    def add(records: list[HttpRecord], labels: list[Label], origin: str) -> None:
        by_id = {label.id: label for label in labels}
        for record in records:
            label = by_id[record.id]
            corpus.labels[record.id] = label.cls
            corpus.origin[record.id] = origin
            if label.evasion:
                corpus.evasion[record.id] = label.evasion
            out.append(record)

    attacks, attack_labels = read_records(ATTACKS), read_labels(ATTACK_LABELS)
    add(read_records(LOOKALIKES), read_labels(LOOKALIKE_LABELS), LOOKALIKE)
    add(attacks, attack_labels, HAND)
    variants = generate(attacks, attack_labels, seed=evasion_seed)
    add([v for v, _ in variants], [label for _, label in variants], VARIANT)
    add(read_records(REDTEAM), read_labels(REDTEAM_LABELS), REDTEAM_ORIGIN)
    return out
