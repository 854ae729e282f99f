"""Fuzz every input adapter: any bytes give events or dead letters, never an exception.

Each input picks an adapter and splits the rest into lines, as a file would
be read; an adapter that raises stops the run (libFuzzer writes the input
under ``fuzz/crashes/``).

Run with ``make fuzz`` (``FUZZ_SECONDS`` per harness).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["citywatch.ingest"]):
    from citywatch.model import DeadLetter, Event
    from citywatch.plugins import build_adapters

ADAPTERS = build_adapters()
NAMES = sorted(ADAPTERS)


def one(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    name = fdp.PickValueInList(NAMES)
    lines = [line + b"\n" for line in fdp.ConsumeBytes(fdp.remaining_bytes()).split(b"\n")]
    for item in ADAPTERS[name].parse("fuzz", lines):
        if not isinstance(item, Event | DeadLetter):
            raise TypeError(f"{name} gave {item!r:.200}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
