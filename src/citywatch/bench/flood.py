"""A flood of attack requests from a few clients: a handful of detections, not one per request.

Writes a combined access log of ``requests`` attack requests (SQL injection,
XSS and path traversal payloads, rotating) from three clients over two hours,
runs the real ``citywatch analyse`` on it, and counts what came out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from citywatch.bench.runner import run_cli

CLIENTS = ("198.51.100.23", "203.0.113.77", "192.0.2.199")
PAYLOADS = (
    "/traffic/incidents?district=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/alerts?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
    "/documents/..%2f..%2f..%2fetc%2fpasswd/download",
    "/traffic/incidents?district=1%20AND%20SLEEP(5)--",
)
START = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


class FloodResult(msgspec.Struct, kw_only=True):
    """What the flood gave: requests in, detections and incidents out."""

    requests: int
    clients: int
    detections: int
    detections_by_detector: dict[str, int]
    evidence: int
    """Evidence ids over all detections (a request may support several)."""
    requests_in_evidence: int
    incidents: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


TARGET_PER_CLIENT = 10
"""At most this many detections per flooding client: a handful, whatever the requests."""


def meets(result: FloodResult) -> bool:
    """A handful of detections per client, and every request in the evidence of one."""
    return (
        result.detections <= TARGET_PER_CLIENT * result.clients
        and result.requests_in_evidence == result.requests
    )


def write_flood(path: Path, requests: int) -> None:
    """The flood as a combined access log, time-ordered, two hours long."""
    step = 7200.0 / max(requests, 1)
    with path.open("w") as fh:
        for n in range(requests):
            when = START + timedelta(seconds=n * step)
            client = CLIENTS[n % len(CLIENTS)]
            uri = PAYLOADS[(n // len(CLIENTS)) % len(PAYLOADS)]
            fh.write(
                f'{client} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "GET {uri} HTTP/1.1" 403 162 '
                f'"-" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"\n'
            )


def run(work: Path, *, requests: int = 1_000_000) -> FloodResult:
    """Write the flood (once), analyse it with every detector, and count the output."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / f"flood-{requests}.log"
    if not log.exists():
        partial = log.with_suffix(".partial")
        write_flood(partial, requests)
        partial.rename(log)
    detections, incidents = work / "flood.detections.jsonl", work / "flood.incidents.jsonl"
    m = run_cli(
        [
            "analyse",
            "--in",
            f"access-log:{log}",
            "--no-store",
            "-o",
            str(detections),
            "--incidents",
            str(incidents),
            "--data-dir",
            str(work / "data-flood"),
        ],
        cwd=work,
    )
    by_detector: dict[str, int] = {}
    evidence = 0
    supported: set[str] = set()
    with detections.open() as fh:
        for line in fh:
            det = json.loads(line)
            by_detector[det["detector"]] = by_detector.get(det["detector"], 0) + 1
            evidence += len(det["evidence"])
            supported.update(det["evidence"])
    with incidents.open() as fh:
        n_incidents = sum(1 for _ in fh)
    return FloodResult(
        requests=requests,
        clients=len(CLIENTS),
        detections=sum(by_detector.values()),
        detections_by_detector=by_detector,
        evidence=evidence,
        requests_in_evidence=len(supported),
        incidents=n_incidents,
        wall_s=round(m.wall_s, 2),
        cpu_s=round(m.cpu_s, 2),
        peak_rss_mb=round(m.peak_rss_mb, 1),
    )
