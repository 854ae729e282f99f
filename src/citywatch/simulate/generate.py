"""Running the simulation: a directory of inputs with ground truth, or one big access log."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Final, NamedTuple

import msgspec

from citywatch.errors import ConfigError
from citywatch.simulate.abuse import build_abuse
from citywatch.simulate.campaign import Campaign, build_campaign
from citywatch.simulate.city import City, build_city, geojson
from citywatch.simulate.crowd.writer import stadium_situation, write_match_day
from citywatch.simulate.iot.write import write_iot
from citywatch.simulate.manifest import (
    MANIFEST,
    Manifest,
    ManifestFile,
    Phase,
    Situation,
    merge_situations,
)
from citywatch.simulate.quake import write_quake
from citywatch.simulate.rand import substream
from citywatch.simulate.records import Hit
from citywatch.simulate.schedule import MATCH_KICKOFF, at, stadium_alarm
from citywatch.simulate.social.writer import write_social
from citywatch.simulate.stream import requests
from citywatch.simulate.tampering import build_tampering
from citywatch.simulate.writers import (
    AccessLog,
    Clock,
    TruthLines,
    http_record,
    request_id,
)

ALDMERE_TZ: Final = timezone(timedelta(hours=1))
DEFAULT_START: Final = datetime(2026, 3, 14, 8, 0, 0, tzinfo=ALDMERE_TZ)
HTTP_JSONL: Final = "portal.http.jsonl"
LEARN_JSONL: Final = "portal-learn.http.jsonl"
"""The portal's day before, benign only: what the demo learns the portal's normal from."""
ACCESS_LOG: Final = "portal-access.log"
TRUTH: Final = "truth.jsonl"
SITUATIONS: Final = "situations.json"
CITY: Final = "city.geojson"
# Requests per resident per six daytime hours, a little over what is measured (about 6.1):
# a benchmark log's nominal span comes out shorter than the time its lines really cover,
# so the campaign, placed inside the nominal span, is always written.
_LINES_PER_RESIDENT: Final = 6.5
_MAX_RESIDENTS: Final = 10_000
_CHUNK: Final = 4096
_DAY_MS: Final = 86_400_000
_pretty = msgspec.json.Encoder()


def _dump(path: Path, value: object) -> None:
    path.write_bytes(msgspec.json.format(_pretty.encode(value), indent=2) + b"\n")


class _Phases:
    """Tallies malicious records by (scenario, technique, actor) as they are written."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], list[int]] = {}  # first ms, last ms, count
        self.ips: dict[tuple[str, str, str], dict[str, None]] = {}

    def add(self, hit: Hit) -> None:
        label = hit.label
        key = (label.scenario or "", label.technique or "", label.actor or "")
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = [hit.ms, hit.ms, 1]
            self.ips[key] = {hit.ip: None}
        else:
            row[1] = hit.ms
            row[2] += 1
            self.ips[key][hit.ip] = None

    def situations(self, campaigns: Sequence[Campaign], clock: Clock) -> list[Situation]:
        """One situation per campaign that has records in what was written."""
        return [
            self._situation(campaign, clock)
            for campaign in campaigns
            if any(key[0] == campaign.scenario for key in self.rows)
        ]

    def _situation(self, campaign: Campaign, clock: Clock) -> Situation:
        rows = {key: row for key, row in self.rows.items() if key[0] == campaign.scenario}
        phases = [
            Phase(
                technique=technique,
                actor=actor,
                start=clock.iso(first),
                end=clock.iso(last),
                records=count,
                source_ips=list(self.ips[(scenario, technique, actor)]),
            )
            for (scenario, technique, actor), (first, last, count) in rows.items()
        ]
        ips = list(dict.fromkeys(ip for phase in phases for ip in phase.source_ips))
        return Situation(
            id=campaign.scenario,
            title=campaign.title,
            silo="portal",
            start=clock.iso(min(row[0] for row in rows.values())),
            end=clock.iso(max(row[1] for row in rows.values())),
            entities={"source.ip": ips, "user.name": list(campaign.compromised)},
            techniques=[t for t in campaign.techniques if any(p.technique == t for p in phases)],
            records=sum(p.records for p in phases),
            phases=phases,
        )


class _Setup(NamedTuple):
    city: City
    clock: Clock
    start_ms: int
    span_ms: int
    campaigns: tuple[Campaign, ...]

    def time(self, ms: int) -> datetime:
        return datetime.fromtimestamp(
            ms / 1000, tz=timezone(timedelta(seconds=self.clock.offset_s))
        )


def _setup(seed: int, start: datetime | None, hours: float, residents: int) -> _Setup:
    if not 0 < hours < math.inf:
        raise ConfigError(f"hours must be positive and finite, got {hours}", where="simulate")
    if residents < 50:
        raise ConfigError(f"need at least 50 residents, got {residents}", where="simulate")
    when = start or DEFAULT_START
    if when.tzinfo is None:
        when = when.replace(tzinfo=ALDMERE_TZ)
    offset = when.utcoffset() or timedelta(0)
    city = build_city(seed, residents)
    start_ms = int(when.timestamp() * 1000)
    span_ms = int(hours * 3_600_000)
    campaigns = (
        build_campaign(city, substream(seed, "campaign"), start_ms, span_ms),
        build_abuse(city, substream(seed, "abuse"), start_ms, span_ms),
        build_tampering(city, substream(seed, "tampering"), start_ms, span_ms),
    )
    return _Setup(city, Clock(int(offset.total_seconds()) // 60), start_ms, span_ms, campaigns)


def simulate(
    seed: int,
    out: Path,
    *,
    start: datetime | None = None,
    hours: float = 6.0,
    residents: int = 4000,
) -> Manifest:
    """Write Aldmere's portal traffic with its campaigns and their ground truth into ``out``.

    The same seed gives byte-identical files. A naive ``start`` is taken as
    Aldmere local time (UTC+01:00); the default is 2026-03-14 08:00.
    """
    run = _setup(seed, start, hours, residents)
    clock, end_ms = run.clock, run.start_ms + run.span_ms
    if out.exists() and not out.is_dir():
        raise ConfigError("not a directory: the city's files go in one", where=str(out))
    out.mkdir(parents=True, exist_ok=True)
    _dump(out / CITY, geojson(run.city))
    phases = _Phases()
    access, truths = AccessLog(clock), TruthLines(ACCESS_LOG)
    encode = msgspec.json.Encoder().encode_lines
    stream = requests(run.city, seed, run.start_ms, end_ms, campaigns=run.campaigns)
    with (
        (out / HTTP_JSONL).open("wb") as jsonl,
        (out / ACCESS_LOG).open("w", encoding="utf-8", newline="\n") as log,
        (out / TRUTH).open("w", encoding="utf-8", newline="\n") as truth,
    ):
        n = 0
        while chunk := list(islice(stream, _CHUNK)):
            records, lines, labels = [], [], []
            for hit in chunk:
                n += 1
                records.append(http_record(hit, request_id(n), clock))
                lines.append(access.line(hit))
                labels.append(truths.line(hit.label, n))
                if hit.label.scenario is not None:
                    phases.add(hit)
            jsonl.write(encode(records))
            log.write("".join(lines))
            truth.write("".join(labels))
    _write_day_before(run, seed, out / LEARN_JSONL)
    situations = phases.situations(run.campaigns, clock)
    arena = write_match_day(
        out, seed, kickoff_s=at(run.start_ms, run.span_ms, MATCH_KICKOFF) / 1000,
        start_s=run.start_ms / 1000, end_s=end_ms / 1000, scenario="evacuation",
        alarm_s=at(run.start_ms, run.span_ms, stadium_alarm(run.span_ms)) / 1000,
    )  # fmt: skip
    situations += [s for s in [stadium_situation(arena)] if s is not None]
    quake_inputs, quake_situations = write_quake(
        run.city, seed, out, run.start_ms, run.span_ms, clock
    )
    situations += quake_situations
    iot = write_iot(seed, out, run.start_ms, run.span_ms, clock)
    situations += iot.situations
    social_inputs, social_situations = write_social(out, seed, run.start_ms, run.span_ms, clock)
    situations += social_situations
    _dump(out / SITUATIONS, merge_situations(situations))
    manifest = Manifest(
        seed=seed,
        city=CITY,
        start=run.time(run.start_ms),
        end=run.time(end_ms),
        inputs=[
            ManifestFile("http-jsonl", HTTP_JSONL),
            *arena.inputs,
            *quake_inputs,
            *iot.inputs,
            *social_inputs,
        ],
        also=[ManifestFile("access-log", ACCESS_LOG)],
        truth=TRUTH,
        situations=SITUATIONS,
        learn=[ManifestFile("http-jsonl", LEARN_JSONL)],
    )
    _dump(out / MANIFEST, manifest)
    return manifest


def _write_day_before(run: _Setup, seed: int, path: Path) -> None:
    """The portal's traffic of the same hours a day earlier: the same residents on other
    errands, no campaign (ids ``learn-...``)."""
    start = run.start_ms - _DAY_MS
    stream = requests(run.city, seed, start, start + run.span_ms, day="portal-day-before")
    encode = msgspec.json.Encoder().encode_lines
    with path.open("wb") as jsonl:
        n = 0
        while chunk := list(islice(stream, _CHUNK)):
            records = []
            for hit in chunk:
                n += 1
                records.append(http_record(hit, request_id(n, "learn"), run.clock))
            jsonl.write(encode(records))


def write_access_log(
    path: Path, lines: int, *, seed: int = 1, truth_path: Path | None = None
) -> int:
    """Stream exactly ``lines`` lines of combined access log (the campaign included) to ``path``.

    For benchmarks: the city grows with ``lines`` (4,000 to 10,000 residents)
    and the time span with it (a million lines cover about six days); the
    campaigns sit inside the first part; memory stays flat.
    ``truth_path``, if given, gets one ``truth.jsonl`` line per log line.
    Returns the number of lines written.
    """
    if lines <= 0:
        path.write_bytes(b"")
        if truth_path is not None:
            truth_path.write_bytes(b"")
        return 0
    residents = min(_MAX_RESIDENTS, max(4000, lines // 100))
    hours = max(0.05, 6.0 * lines / (residents * _LINES_PER_RESIDENT))
    run = _setup(seed, None, hours, residents)
    stream = islice(requests(run.city, seed, run.start_ms, None, campaigns=run.campaigns), lines)
    line, truths = AccessLog(run.clock).line, TruthLines(path.name)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as log:
        truth = truth_path.open("w", encoding="utf-8", newline="\n") if truth_path else None
        try:
            while chunk := list(islice(stream, _CHUNK)):
                log.write("".join(map(line, chunk)))
                if truth is not None:
                    first = written + 1
                    truth.write(
                        "".join(truths.line(h.label, n) for n, h in enumerate(chunk, first))
                    )
                written += len(chunk)
        finally:
            if truth is not None:
                truth.close()
    return written
