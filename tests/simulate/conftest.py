"""One small simulation shared by the suite (session-scoped: it is read, never changed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from citywatch.simulate import Manifest, simulate

SEED = 7
HOURS = 3.0
RESIDENTS = 1500


@dataclass(frozen=True)
class Run:
    """A simulation's directory, its manifest, and its files parsed."""

    out: Path
    manifest: Manifest
    records: list[dict[str, Any]]
    log: list[str]
    truth: list[dict[str, Any]]
    situations: list[dict[str, Any]]
    city: dict[str, Any]

    def malicious(
        self, technique: str | None = None, *, scenario: str | None = None
    ) -> list[dict[str, Any]]:
        """The records whose truth is malicious (of ``technique`` and ``scenario``, if given)."""
        return [
            rec
            for rec, t in zip(self.records, self.truth, strict=True)
            if t["label"] == "malicious"
            and technique in (None, t["technique"])
            and scenario in (None, t["scenario"])
        ]

    def benign(self) -> list[dict[str, Any]]:
        return [r for r, t in zip(self.records, self.truth, strict=True) if t["label"] == "benign"]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("aldmere")
    manifest = simulate(SEED, out, hours=HOURS, residents=RESIDENTS)
    return Run(
        out=out,
        manifest=manifest,
        records=_jsonl(out / "portal.http.jsonl"),
        log=(out / "portal-access.log").read_text(encoding="utf-8").splitlines(),
        truth=_jsonl(out / "truth.jsonl"),
        situations=json.loads((out / "situations.json").read_text(encoding="utf-8")),
        city=json.loads((out / "city.geojson").read_text(encoding="utf-8")),
    )
