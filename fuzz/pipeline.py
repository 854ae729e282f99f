"""Fuzz the adapters and every detector: any bytes, in any input format, through the pipeline.

An input's first byte picks an adapter and the rest are its lines, as a file
would be read. Every item the adapter yields must be an event or a dead letter
(never an exception); the events, moved in time to follow the last input's, go
through a job of every detector (default configurations) and the correlator.
No detector may fail on one: a failed detector leaves a dead letter and the job
goes on, and here that stops the run with the letter's reason. libFuzzer writes
the input under ``fuzz/crashes/``.

The fuzzer starts from the synthetic city's files, the first lines of each
(``fuzz/work/``, made again at each start): random bytes seldom make a valid
record of a JSON or CSV format.

Run with ``make fuzz`` (``FUZZ_SECONDS`` per harness).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import atheris
from msgspec.structs import replace
from pydantic import SecretStr

with atheris.instrument_imports(include=["citywatch"]):
    import failures

    from citywatch.app import build_job
    from citywatch.bus import LocalBus
    from citywatch.config import Settings
    from citywatch.model import DeadLetter, Event
    from citywatch.pipeline import Job
    from citywatch.simulate import simulate

WORK = Path(__file__).parent / "work" / "pipeline"
SEED_BYTES = 4096
"""How much of each of the city's files starts the fuzzer off."""
SPAN_S = 3600.0
"""How long one input may last once moved (see :func:`_after_the_last`)."""


def _job() -> Job:
    settings = Settings(data_dir=WORK / "data", pseudonym_key=SecretStr("5a" * 32))
    job = build_job(settings, LocalBus())
    return failures.watch(job)


def _seeds(names: list[str]) -> Path:
    """A folder of starting inputs: the first bytes of each of the synthetic city's files."""
    city, seeds = WORK / "city", WORK / "seeds"
    for old in (city, seeds):
        shutil.rmtree(old, ignore_errors=True)
    seeds.mkdir(parents=True)
    manifest = simulate(1, city, hours=1.0, residents=500)
    for item in [*manifest.inputs, *manifest.also, *manifest.learn]:
        if item.format in names:
            head = (city / item.path).read_bytes()[:SEED_BYTES]
            cut = head.rfind(b"\n") + 1 or len(head)
            (seeds / Path(item.path).name).write_bytes(
                bytes([names.index(item.format)]) + head[:cut]
            )
    return seeds


JOB = _job()
NAMES = sorted(JOB.adapters)
FRESH_EVERY = 2000
"""Inputs after which the job is built afresh: one job keeps every detection and incident it
made, and a fuzzer makes new ones at every input. Even so the process grows to about 2 GB
within minutes, far beyond what Python objects hold (tracemalloc: under 0.5 GB), hence
``-rss_limit_mb`` in the Makefile."""
_inputs = 0
_clock = 1.0e9


def _after_the_last(events: list[Event]) -> list[Event]:
    """The events moved in time to follow the previous input's (order kept, at most
    :data:`SPAN_S` long): else the watermark would turn most inputs away as late."""
    global _clock  # noqa: PLW0603 - each input a little later than the last
    if not events:
        return events
    first = events[0].timestamp
    moved = [replace(e, timestamp=_clock + min(e.timestamp - first, SPAN_S)) for e in events]
    _clock = moved[-1].timestamp + 1.0
    return moved


def one(data: bytes) -> None:
    global JOB, _inputs  # noqa: PLW0603 - see FRESH_EVERY
    if not data:
        return
    _inputs += 1
    if _inputs % FRESH_EVERY == 0:
        JOB = _job()
    name = NAMES[data[0] % len(NAMES)]
    lines = [line + b"\n" for line in data[1:].split(b"\n")]
    events: list[Event] = []
    for item in JOB.adapters[name].parse("fuzz", lines):
        if isinstance(item, Event):
            events.append(item)
        elif not isinstance(item, DeadLetter):
            raise TypeError(f"{name} gave {item!r:.200}")
    events.sort(key=lambda e: e.timestamp)
    JOB.process(_after_the_last(events))
    failures.check()


if __name__ == "__main__":
    corpus = [] if any(not a.startswith("-") for a in sys.argv[1:]) else [str(_seeds(NAMES))]
    atheris.Setup([*sys.argv, *corpus], one)
    atheris.Fuzz()
