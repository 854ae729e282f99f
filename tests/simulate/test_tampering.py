"""The ``portal-tampering`` scenario: what no signature flags, a model of the day before does."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from citywatch.app import build_job
from citywatch.bus import LocalBus
from citywatch.config import Settings
from citywatch.pipeline import InputSpec
from citywatch.simulate.generate import HTTP_JSONL, LEARN_JSONL

from .conftest import Run


def test_no_signature_flags_the_tamperer_and_the_learned_model_explains_each_edit(
    run: Run, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, pseudonym_key=SecretStr("5a" * 32))
    job = build_job(settings, LocalBus())
    job.run(
        [
            InputSpec("http-jsonl", run.out / LEARN_JSONL, learn=True),
            InputSpec("http-jsonl", run.out / HTTP_JSONL),
        ]
    )
    tampered = run.malicious("parameter-tampering")
    ids = {r["id"] for r in tampered}
    assert len({r["source.ip"] for r in tampered}) == 1, "one resident, from home"
    by_detector: dict[str, set[str]] = {}
    for detection in job.detections():
        by_detector.setdefault(detection.detector, set()).update(detection.evidence)
    for detector in ("web-attacks", "sigma", "portal-behaviour", "login-abuse"):
        assert not ids & by_detector.get(detector, set()), detector
    (found,) = [d for d in job.detections() if ids & set(d.evidence)]
    assert found.detector == "portal-profile"
    # the seven edits: amount, year, is_admin=1, district=0, district twice, a record number of
    # another shape, a session cookie of its own making (not its login, pages or assets)
    assert set(found.evidence) <= ids and len(found.evidence) == 7
    assert set(found.attributes["portal"]["rules"]) == {  # type: ignore[call-overload]
        "portal.profile.range",
        "portal.profile.unknown-param",
        "portal.profile.repeated",
        "portal.profile.type",
        "portal.profile.cookie",
    }
    explained = found.attributes["portal"]["explanation"]  # type: ignore[index]
    assert "normally" in explained and "got" in explained
    benign = {r["id"] for r in run.benign()}
    assert not benign & by_detector.get("portal-profile", set()), "no resident's request"
