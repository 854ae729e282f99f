"""Fuzz the portal detectors: odd requests must never make one of them fail.

Every request the fuzzer makes goes through a job that has learned the
synthetic portal's normal traffic (the portal benchmark's corpus), as one
event. A detector that raises on it leaves a dead letter (the job goes on);
here that stops the run with the letter's reason and the request (libFuzzer
writes the input under ``fuzz/crashes/``). Text is valid Unicode, as every
adapter hands it over (see ``fuzz/pipeline.py``). The corpus and the job's
data live in ``fuzz/work/``, made again at each start.

Run with ``make fuzz`` (``FUZZ_SECONDS`` per harness).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["citywatch"]):
    import failures

    from citywatch.bench.portal import learned_job, portal_detectors
    from citywatch.bench.portal_corpus import build
    from citywatch.model import Event, HttpRequest
    from citywatch.pipeline import Job

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "get", "PROPFIND", ""]
PATHS = ["/tax/file", "/address/change", "/login", "/complaints", "/alerts", "/tax/returns/1"]
HEADERS = ["Host", "Cookie", "Content-Type", "Content-Length", "Transfer-Encoding", "User-Agent"]
TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data",
    "text/xml",
    "application/xml",
    "text/plain",
    "",
]
VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/2", "", "HTTP/9.9"]


def _job() -> Job:
    work = Path(__file__).parent / "work"
    corpus = build(work, seed=7, hours=2.0, residents=1000)
    job = learned_job(corpus, work, portal_detectors()[1], "data")
    return failures.watch(job)


JOB = _job()
START = 1.9e9
_n = 0


def one(data: bytes) -> None:
    global _n  # noqa: PLW0603 - each event a little later than the last
    fdp = atheris.FuzzedDataProvider(data)
    text = fdp.ConsumeUnicodeNoSurrogates
    method = fdp.PickValueInList(METHODS) if fdp.ConsumeBool() else text(8)
    uri = (fdp.PickValueInList(PATHS) if fdp.ConsumeBool() else "") + text(
        fdp.ConsumeIntInRange(0, 300)
    )
    headers = [
        (fdp.PickValueInList(HEADERS) if fdp.ConsumeBool() else text(12), text(120))
        for _ in range(fdp.ConsumeIntInRange(0, 6))
    ]
    if kind := fdp.PickValueInList(TYPES):
        headers.append(("Content-Type", kind))
    request = HttpRequest(
        method=method,
        uri=uri,
        version=fdp.PickValueInList(VERSIONS),
        headers=tuple(headers),
        body=text(fdp.ConsumeIntInRange(0, 600)),
        status=fdp.PickValueInList([200, 302, 401, 404, 500, None]),
        user_agent=text(40) or None,
        referrer=text(40) or None,
    )
    _n += 1
    ip = fdp.PickValueInList(["203.0.113.5", "198.51.100.7", "2001:db8::1"])
    JOB.process(
        [Event(id=f"fuzz-{_n}", timestamp=START + _n / 100, dataset="portal.http", observer="fuzz",
               source_ip=ip, payload=request)]
    )  # fmt: skip
    failures.check()


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
