"""Portal attack detection side by side: citywatch, OWASP CRS (PL1) and libinjection.

One labelled test file (:mod:`citywatch.bench.portal_corpus`) is inspected by
every tool. Figures per tool: detection rate per attack class (hand-written
and evasive variants), false-positive rate on benign requests (the city's and
the hand-written look-alikes), and requests per CPU-second over the same
parsed requests, the tools taking turns so that the machine's load falls on
all alike (:mod:`citywatch.bench.portal_pace`; the ratios compare these), the
same over the benign requests and over the attacks apart (clean traffic and an
attack cost every tool differently), and each timed alone (what the speed
target judges).

The peers are given the requests already parsed from the test file, so
citywatch is timed twice: from the file (parse, enrich, detect, correlate)
and, in the peers' scope, from the same parsed requests (enrich, detect,
correlate); the speed ratios compare like with like, the second way.

citywatch runs every registered detector that reads ``portal.http`` (or every
dataset), through :func:`citywatch.app.build_job`: first learning from the
held-out benign half, then analysing the test file end to end (parse,
enrich, detect, correlate); a request is flagged when its id is in the
evidence of any detection. The peers get the same requests already parsed.
A peer that cannot be installed or run is reported with its error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, Protocol

import msgspec
from pydantic import SecretStr

from citywatch import __version__
from citywatch.app import build_job
from citywatch.bench.corpus import BENIGN, CLASSES, SIGNATURE_CLASSES
from citywatch.bench.portal_abuse import AbuseFigures, score_abuse
from citywatch.bench.portal_corpus import (
    HAND,
    LOOKALIKE,
    REDTEAM_ORIGIN,
    SIM,
    VARIANT,
    BenchCorpus,
    build,
)
from citywatch.bench.portal_pace import paced
from citywatch.bench.portal_peers import (
    CrsPeer,
    LibinjectionPeer,
    PeerUnavailableError,
    captured_stderr,
)
from citywatch.bus import LocalBus
from citywatch.config import Settings
from citywatch.ingest.httpjsonl import DATASET, HttpJsonlAdapter
from citywatch.model import Event, HttpRequest
from citywatch.pipeline import InputSpec, Job
from citywatch.pipeline.inputs import read_lines
from citywatch.plugins import detector_classes

CITYWATCH: Final = "citywatch"
TARGET_DETECTION: Final = 0.95
TARGET_FP_RATE: Final = 0.001
TARGET_RATE: Final = 20_000.0
TARGET_RATIO: Final = 40.0
"""citywatch's speed over CRS PL1's on the same parsed requests, in turns."""
SAMPLES: Final = 50


class Peer(Protocol):
    """What the benchmark needs from a peer."""

    version: str

    def flags(self, ip: str, request: HttpRequest) -> bool: ...

    def close(self) -> None: ...


class Rate(msgspec.Struct):
    """``flagged`` of ``total`` requests, and the share."""

    total: int = 0
    flagged: int = 0
    rate: float | None = None


class ClassFigures(msgspec.Struct, kw_only=True):
    """One attack class for one tool: all its requests, hand-written ones, variants, the red
    team's."""

    all: Rate
    hand_written: Rate
    variants: Rate
    red_team: Rate


class ToolResult(msgspec.Struct, kw_only=True):
    """One tool's figures, or why it could not run."""

    name: str
    version: str = ""
    status: str = "ok"
    """``ok``, ``unavailable`` (not installed) or ``failed`` (raised while running)."""
    error: str | None = None
    requests: int = 0
    cpu_s: float = 0.0
    requests_per_cpu_s: float | None = None
    """In the peers' scope: from requests already parsed (a peer is only ever timed so), the
    tools taking turns (what the speed ratios compare)."""
    alone_requests_per_cpu_s: float | None = None
    """The same, timed alone (a tool as it runs in production: what the speed target judges;
    in turns, each tool also meets the others' footprint in the caches)."""
    file_requests_per_cpu_s: float | None = None
    """citywatch only: end to end from the http-jsonl file, its own parsing included."""
    part_requests_per_cpu_s: dict[str, float] = msgspec.field(default_factory=dict)
    """In turns as :attr:`requests_per_cpu_s`, over one part of the test file on its own
    (:data:`PARTS`: its benign requests, its attacks): the speed on clean traffic and under
    attack."""
    classes: dict[str, ClassFigures] = msgspec.field(default_factory=dict)
    detection: Rate = msgspec.field(default_factory=Rate)
    """Every attack request (hand-written and variants)."""
    detection_macro: float | None = None
    """Mean of the per-class detection rates."""
    detection_signature_classes: Rate = msgspec.field(default_factory=Rate)
    false_positives: Rate = msgspec.field(default_factory=Rate)
    false_positives_sim: Rate = msgspec.field(default_factory=Rate)
    false_positives_lookalikes: Rate = msgspec.field(default_factory=Rate)
    false_positives_red_team: Rate = msgspec.field(default_factory=Rate)
    missed: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Per class, the first :data:`SAMPLES` attack ids not flagged (to find what to improve)."""
    false_positive_ids: list[str] = msgspec.field(default_factory=list)
    """The first :data:`SAMPLES` benign ids flagged."""
    details: dict[str, object] = msgspec.field(default_factory=dict)


def _rate(ids: Iterable[str], flagged: set[str]) -> Rate:
    ids = list(ids)
    hit = sum(1 for i in ids if i in flagged)
    return Rate(total=len(ids), flagged=hit, rate=round(hit / len(ids), 4) if ids else None)


def score(result: ToolResult, corpus: BenchCorpus, flagged: set[str]) -> None:
    """Fill ``result``'s detection and false-positive figures from the flagged ids."""
    by_class: dict[str, list[str]] = {}
    for rid, cls in corpus.labels.items():
        by_class.setdefault(cls, []).append(rid)
    origin = corpus.origin
    for cls in CLASSES:
        ids = by_class.get(cls, [])
        result.classes[cls] = ClassFigures(
            all=_rate(ids, flagged),
            hand_written=_rate((i for i in ids if origin[i] == HAND), flagged),
            variants=_rate((i for i in ids if origin[i] == VARIANT), flagged),
            red_team=_rate((i for i in ids if origin[i] == REDTEAM_ORIGIN), flagged),
        )
    attacks = [i for cls in CLASSES for i in by_class.get(cls, [])]
    result.detection = _rate(attacks, flagged)
    rates = [f.all.rate for f in result.classes.values() if f.all.rate is not None]
    result.detection_macro = round(sum(rates) / len(rates), 4) if rates else None
    signature = [i for cls in SIGNATURE_CLASSES for i in by_class.get(cls, [])]
    result.detection_signature_classes = _rate(signature, flagged)
    result.missed = {
        cls: missed[:SAMPLES]
        for cls in CLASSES
        if (missed := sorted(i for i in by_class.get(cls, []) if i not in flagged))
    }
    benign = by_class.get(BENIGN, [])
    result.false_positive_ids = sorted(i for i in benign if i in flagged)[:SAMPLES]
    result.false_positives = _rate(benign, flagged)
    result.false_positives_sim = _rate((i for i in benign if origin[i] == SIM), flagged)
    result.false_positives_lookalikes = _rate(
        (i for i in benign if origin[i] == LOOKALIKE), flagged
    )
    result.false_positives_red_team = _rate(
        (i for i in benign if origin[i] == REDTEAM_ORIGIN), flagged
    )


def portal_detectors() -> tuple[list[str], list[str]]:
    """(detectors that read portal requests, the other registered detectors)."""
    mine: list[str] = []
    others: list[str] = []
    for name, cls in sorted(detector_classes().items()):
        (mine if not cls.datasets or DATASET in cls.datasets else others).append(name)
    return mine, others


def learned_job(corpus: BenchCorpus, work: Path, others: list[str], name: str) -> Job:
    """A job of the portal detectors that has learned from the benign half."""
    settings = Settings(data_dir=work / name, pseudonym_key=SecretStr("5a" * 32), disabled=others)
    job = build_job(settings, LocalBus())
    empty = work / "empty.http.jsonl"
    empty.write_bytes(b"")
    job.run([InputSpec("http-jsonl", corpus.learn, learn=True), InputSpec("http-jsonl", empty)])
    return job


def run_citywatch(corpus: BenchCorpus, work: Path, events: list[Event]) -> ToolResult:
    """citywatch's portal detectors over the test file, after learning from the benign half;
    then over ``events`` (the test file already parsed, as the peers get it), timed alone."""
    mine, others = portal_detectors()
    job = learned_job(corpus, work, others, "citywatch-data")
    start = time.process_time()
    stats = job.run([InputSpec("http-jsonl", corpus.test)])
    cpu = time.process_time() - start
    parsed_job = learned_job(corpus, work, others, "citywatch-data-parsed")
    start = time.process_time()
    parsed_job.process(events)
    parsed_job.flush()
    parsed_cpu = time.process_time() - start
    flagged: set[str] = set()
    by_detector: dict[str, set[str]] = {}
    for detection in job.detections():
        flagged.update(detection.evidence)
        by_detector.setdefault(detection.detector, set()).update(detection.evidence)
    parsed_flagged = {i for d in parsed_job.detections() for i in d.evidence}
    n = stats.events[str(corpus.test)]
    result = ToolResult(
        name=CITYWATCH,
        version=f"citywatch {__version__}",
        requests=len(events),
        cpu_s=round(parsed_cpu, 3),
    )
    result.requests_per_cpu_s = round(len(events) / parsed_cpu) if parsed_cpu > 0 else None
    result.file_requests_per_cpu_s = round(n / cpu) if cpu > 0 else None
    score(result, corpus, flagged)
    result.details = {
        "detectors": mine,
        "measured": "enrich + detect + correlate from the parsed requests (the peers' scope); "
        "file_requests_per_cpu_s adds parsing the http-jsonl file",
        "file_cpu_s": round(cpu, 3),
        "same_requests_flagged_both_ways": parsed_flagged == flagged,
        "learned_requests": stats.learned[str(corpus.learn)],
        "dead_letters": dict(stats.dead_letters),
        "plugin_errors": dict(stats.plugin_errors),
        "detections": {k: v for k, v in stats.detections.items()},
        "flagged_by_detector": {
            name: _split(ids, corpus) for name, ids in sorted(by_detector.items())
        },
    }
    return result


def _split(ids: set[str], corpus: BenchCorpus) -> dict[str, object]:
    """What one detector flagged: attacks by class, and benign requests."""
    classes: dict[str, int] = {}
    for rid in ids:
        cls = corpus.labels.get(rid)
        if cls is not None:
            classes[cls] = classes.get(cls, 0) + 1
    benign = classes.pop(BENIGN, 0)
    return {"attacks": sum(classes.values()), "benign": benign, "by_class": classes}


def parse(path: Path) -> tuple[list[Event], int]:
    """The test file's events (as every tool sees them) and its dead-letter count."""
    events, dead = [], 0
    for item in HttpJsonlAdapter().parse(str(path), read_lines(path)):
        if isinstance(item, Event):
            events.append(item)
        else:
            dead += 1
    return events, dead


def run_peer(
    make: Callable[[], Peer], name: str, events: list[Event], corpus: BenchCorpus
) -> ToolResult:
    """One peer over the parsed test requests; unavailable or failing peers are reported.

    A request the peer raises on counts as not flagged and is reported in
    ``details.request_errors``; a peer that raises on every request failed.
    """
    try:
        peer = make()
    except PeerUnavailableError as exc:
        return ToolResult(name=name, status="unavailable", error=str(exc))
    except Exception as exc:
        return ToolResult(name=name, status="unavailable", error=f"{type(exc).__name__}: {exc}")
    inspected = [e for e in events if isinstance(e.payload, HttpRequest)]
    requests = [(e.source_ip or "0.0.0.0", e.payload) for e in inspected]  # noqa: S104
    stderr: list[str] = []
    errors: list[str] = []
    hits: list[bool] = []
    flags, hit, failed = peer.flags, hits.append, errors.append
    try:
        with captured_stderr(stderr):
            start = time.process_time()
            for ip, request in requests:
                try:
                    hit(flags(ip, request))  # type: ignore[arg-type]
                except Exception as exc:
                    hit(False)
                    failed(f"{type(exc).__name__}: {exc}")
            cpu = time.process_time() - start
    finally:
        peer.close()
    if requests and len(errors) == len(requests):
        return ToolResult(name=name, version=peer.version, status="failed", error=errors[0])
    flagged = {e.id for e, flag in zip(inspected, hits, strict=True) if flag}
    result = ToolResult(
        name=name, version=peer.version, requests=len(requests), cpu_s=round(cpu, 3)
    )
    result.requests_per_cpu_s = round(len(requests) / cpu) if cpu > 0 else None
    score(result, corpus, flagged)
    result.details = {
        **_peer_details(peer),
        "stderr_lines": len(stderr),
        "request_errors": len(errors),
        "first_request_error": errors[0] if errors else None,
    }
    return result


def _peer_details(peer: Peer) -> dict[str, object]:
    if isinstance(peer, CrsPeer):
        return {
            "rules": str(peer.rules_dir),
            "crs_version": peer.crs_version,
            "paranoia_level": peer.paranoia,
            "inbound_threshold": peer.threshold,
            "rule_files": peer.loaded,
            "excluded": peer.excluded,
            "measured": "ModSecurity transaction phases 1-2 per request, already parsed",
        }
    return {
        "measured": "SQLi and XSS on every parameter name and value (query, form or JSON body, "
        "cookies); a body that is neither form nor JSON counts as one parameter"
    }


def _ratios(tools: list[ToolResult], part: str | None) -> dict[str, float | None]:
    """citywatch's speed in turns over each peer's (``citywatch/PEER``), over the whole test
    file or one ``part`` of it; None where either is missing."""

    def speed(tool: ToolResult) -> float | None:
        return tool.requests_per_cpu_s if part is None else tool.part_requests_per_cpu_s.get(part)

    mine = speed(tools[0])
    return {
        f"{CITYWATCH}/{t.name}": round(mine / theirs, 2) if mine and (theirs := speed(t)) else None
        for t in tools[1:]
    }


class PortalReport(msgspec.Struct, kw_only=True):
    """Everything the portal benchmark measured."""

    corpus: dict[str, object]
    tools: list[ToolResult]
    ratios: dict[str, float | None]
    targets: dict[str, float]
    citywatch_meets: dict[str, bool]
    abuse: AbuseFigures
    """The city's portal scenarios (behaviour that no single request shows), per technique."""


PARTS: Final = ("benign", "attacks")
"""The parts of the test file also timed on their own
(:attr:`ToolResult.part_requests_per_cpu_s`)."""


def targets_met(tools: list[ToolResult], ratios: dict[str, float | None]) -> dict[str, bool]:
    """Whether citywatch meets each target, those against CRS PL1 too (not met when CRS did
    not run: nothing to compare with)."""
    mine = tools[0]
    crs = next((t for t in tools if t.name == CrsPeer.name and t.status == "ok"), None)
    detection = mine.detection.rate or 0.0
    fp_rate = mine.false_positives.rate or 0.0
    return {
        "detection": detection >= TARGET_DETECTION,
        "detection_above_crs_pl1": crs is not None and detection > (crs.detection.rate or 0.0),
        "false_positive_rate": fp_rate <= TARGET_FP_RATE,
        "false_positives_below_crs_pl1": crs is not None
        and fp_rate < (crs.false_positives.rate or 0.0),
        "requests_per_cpu_s": (mine.alone_requests_per_cpu_s or 0) >= TARGET_RATE,
        "speed_over_crs_pl1": (ratios.get(f"{CITYWATCH}/{CrsPeer.name}") or 0.0) >= TARGET_RATIO,
    }


def _part(corpus: BenchCorpus, events: list[Event], part: str) -> list[Event]:
    """The test file's benign requests or its attacks, in file order."""
    benign = part == "benign"
    return [e for e in events if (corpus.labels.get(e.id) == BENIGN) is benign]


def _paced_speeds(
    corpus: BenchCorpus,
    work: Path,
    events: list[Event],
    makers: dict[str, Callable[[], Peer]],
    name: str = "paced",
) -> dict[str, float]:
    """Requests per CPU-second of citywatch (learned afresh) and of each peer, taking turns."""
    _, others = portal_detectors()
    job = learned_job(corpus, work, others, f"citywatch-data-{name}")
    peers = {name: make() for name, make in makers.items()}
    try:
        cpu = paced(job, CITYWATCH, peers, events)
    finally:
        for peer in peers.values():
            peer.close()
    requests = sum(1 for e in events if isinstance(e.payload, HttpRequest))
    return {name: requests / seconds for name, seconds in cpu.items() if seconds > 0}


def run(work: Path, *, seed: int = 7, hours: float = 6.0, residents: int = 4000) -> PortalReport:
    """Build the corpus under ``work`` and measure every tool on it."""
    work.mkdir(parents=True, exist_ok=True)
    corpus = build(work, seed=seed, hours=hours, residents=residents)
    events, dead = parse(corpus.test)
    makers: dict[str, Callable[[], Peer]] = {
        CrsPeer.name: CrsPeer,
        LibinjectionPeer.name: LibinjectionPeer,
    }
    tools = [
        run_citywatch(corpus, work, events),
        *(run_peer(make, name, events, corpus) for name, make in makers.items()),
    ]
    ok = {t.name: makers[t.name] for t in tools[1:] if t.status == "ok"}
    speeds = _paced_speeds(corpus, work, events, ok)
    by_part = {p: _paced_speeds(corpus, work, _part(corpus, events, p), ok, p) for p in PARTS}
    for tool in tools:
        if tool.name in speeds:
            tool.alone_requests_per_cpu_s = tool.requests_per_cpu_s
            tool.requests_per_cpu_s = round(speeds[tool.name])
            tool.part_requests_per_cpu_s = {p: round(s[tool.name]) for p, s in by_part.items()}
    ratios = _ratios(tools, None)
    for p in PARTS:
        ratios |= {f"{name}, {p}": ratio for name, ratio in _ratios(tools, p).items()}
    classes = {cls: sum(1 for c in corpus.labels.values() if c == cls) for cls in CLASSES}
    abuse = score_abuse(work / "city", work, portal_detectors()[1])
    return PortalReport(
        corpus={
            "seed": seed,
            "test_requests": len(corpus.labels),
            "learn_requests": corpus.learned,
            "dead_letters": dead,
            "by_origin": {
                o: corpus.count(o) for o in (SIM, LOOKALIKE, HAND, VARIANT, REDTEAM_ORIGIN)
            },
            "attacks_by_class": classes,
            "evasions": sorted(set(corpus.evasion.values())),
            "attack_addresses_shared_with_benign": corpus.address_clashes,
        },
        tools=tools,
        ratios=ratios,
        targets={
            "detection": TARGET_DETECTION,
            "false_positive_rate": TARGET_FP_RATE,
            "citywatch_requests_per_cpu_s": TARGET_RATE,
            "speed_over_crs_pl1": TARGET_RATIO,
        },
        citywatch_meets=targets_met(tools, ratios),
        abuse=abuse,
    )
