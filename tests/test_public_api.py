"""The public API of each stage package, pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "citywatch.model": [
        "Connection",
        "DeadLetter",
        "Detection",
        "Event",
        "GeoPoint",
        "HttpRequest",
        "Incident",
        "IncidentStatus",
        "Payload",
        "StatusChange",
        "from_epoch",
        "to_epoch",
    ],
    "citywatch.ingest": [
        "ADAPTERS",
        "MAX_RECORD_BYTES",
        "AccessLogAdapter",
        "Adapter",
        "HttpJsonlAdapter",
        "NoConfig",
        "ZeekConnAdapter",
    ],
    "citywatch.enrich": [
        "EnrichConfig",
        "Enricher",
        "Pseudonymiser",
        "load_or_create_key",
        "login_account",
        "request_path",
    ],
    "citywatch.detect": [
        "DETECTORS",
        "Detector",
        "DetectorRunner",
        "Episode",
        "ErrorHandler",
        "detection_id",
    ],
    "citywatch.correlate": ["CorrelatorConfig", "EntityTimeCorrelator"],
    "citywatch.bus": ["DEAD_LETTERS", "DETECTIONS", "INCIDENTS", "Handler", "LocalBus", "Topic"],
    "citywatch.pipeline": ["InputSpec", "Job", "RunStats", "read_lines"],
    "citywatch.store": [
        "DEFAULT_URL",
        "STORES",
        "DeadLetterCount",
        "RunInfo",
        "SqliteStore",
        "Store",
        "open_store",
    ],
    "citywatch.simulate": [
        "DEFAULT_START",
        "Campaign",
        "City",
        "District",
        "Manifest",
        "ManifestFile",
        "Phase",
        "Resident",
        "Site",
        "Situation",
        "TruthRecord",
        "build_campaign",
        "build_city",
        "geojson",
        "load_situations",
        "read_truth",
        "simulate",
        "write_access_log",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned_and_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__ == PUBLIC[module]
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name
