"""The portal's abuse that no single request shows, scored against the synthetic city's truth.

The city the portal benchmark simulates carries three scenarios on its portal
(``web-campaign``: scanning, SQL injection, credential stuffing;
``portal-abuse``: password guessing and spraying, record enumeration, a
request flood, mass address changes; ``portal-tampering``: requests no
signature flags). Its whole portal file (benign traffic and the scenarios, as
a proxy would mirror it) goes through the portal detectors once, after they
learned from the portal's day before (benign); per technique the figures are whether any
detection's evidence holds its requests, by which rules, how long after the
technique began the first of them fired, and what share of its requests the
evidence holds. Benign requests in any evidence, and their client addresses,
are the false positives.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec
from pydantic import SecretStr

from citywatch.app import build_job
from citywatch.bus import LocalBus
from citywatch.config import Settings
from citywatch.pipeline import InputSpec
from citywatch.simulate import load_situations, read_truth
from citywatch.simulate.generate import HTTP_JSONL, LEARN_JSONL, TRUTH


class Technique(msgspec.Struct, kw_only=True):
    """One technique of a scenario and what the detectors made of it."""

    scenario: str
    technique: str
    requests: int
    found: bool
    rules: list[str]
    """Rules of the detections whose evidence holds its requests."""
    detectors: list[str]
    """Their detectors."""
    first_after_s: float | None
    """Seconds from the technique's first request to the first of those detections (0 when
    a detection already open, of the same client, took its requests in)."""
    evidence_share: float
    """Share of its requests in some detection's evidence."""


class AbuseFigures(msgspec.Struct, kw_only=True):
    """Every portal technique of the city, and the benign traffic flagged beside them."""

    techniques: list[Technique]
    detections: int
    benign_requests: int
    benign_flagged: int
    benign_sources_flagged: int


class _Line(msgspec.Struct):
    id: str
    source_ip: str = msgspec.field(default="", name="source.ip")


def score_abuse(city: Path, work: Path, disabled: list[str]) -> AbuseFigures:
    """Run the portal detectors (all but ``disabled``) over ``city``'s portal file and score
    them against its truth."""
    settings = Settings(
        data_dir=work / "citywatch-data-abuse",
        pseudonym_key=SecretStr("5a" * 32),
        disabled=disabled,
    )
    job = build_job(settings, LocalBus())
    job.run(
        [
            InputSpec("http-jsonl", city / LEARN_JSONL, learn=True),
            InputSpec("http-jsonl", city / HTTP_JSONL),
        ]
    )
    detections = job.detections()
    truth = list(read_truth(city / TRUTH))
    by_technique: dict[tuple[str, str], set[str]] = {}
    benign: set[str] = set()
    for record in truth:
        if record.label == "malicious":
            key = (record.scenario or "", record.technique or "")
            by_technique.setdefault(key, set()).add(record.id)
        else:
            benign.add(record.id)
    starts = {
        (situation.id, phase.technique): datetime.fromisoformat(phase.start)
        for situation in load_situations(city)
        for phase in situation.phases
    }
    evidence = {i for d in detections for i in d.evidence}
    techniques = []
    for (scenario, technique), ids in by_technique.items():
        found = [d for d in detections if ids.intersection(d.evidence)]
        start = starts.get((scenario, technique))
        first = min((d.timestamp for d in found), default=None)
        techniques.append(
            Technique(
                scenario=scenario,
                technique=technique,
                requests=len(ids),
                found=bool(found),
                rules=sorted({d.rule_id for d in found}),
                detectors=sorted({d.detector for d in found}),
                first_after_s=None
                if first is None or start is None
                else max(0.0, round((first - start).total_seconds(), 1)),
                evidence_share=round(len(ids & evidence) / len(ids), 4),
            )
        )
    flagged = benign & evidence
    decode = msgspec.json.Decoder(_Line).decode
    with (city / HTTP_JSONL).open("rb") as lines:
        sources = {line.source_ip for raw in lines if (line := decode(raw)).id in flagged}
    return AbuseFigures(
        techniques=sorted(techniques, key=lambda t: (t.scenario, t.technique)),
        detections=len(detections),
        benign_requests=len(benign),
        benign_flagged=len(flagged),
        benign_sources_flagged=len(sources),
    )
