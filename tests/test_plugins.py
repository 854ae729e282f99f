from __future__ import annotations

import pytest

from citywatch.errors import ConfigError
from citywatch.plugins import build_detectors, describe


def test_describe_lists_builtins_with_schemas() -> None:
    infos = {(i.kind, i.name): i for i in describe()}
    for key in [
        ("adapters", "access-log"),
        ("adapters", "http-jsonl"),
        ("adapters", "zeek-conn"),
        ("detectors", "login-abuse"),
    ]:
        assert key in infos
        assert infos[key].origin == "built-in"
    schema = infos[("detectors", "login-abuse")].config_schema
    assert {"window_s", "failures", "stuffing_accounts"} <= set(schema["properties"])


def test_detector_config_is_validated_and_applied() -> None:
    (det,) = build_detectors({"login-abuse": {"failures": 3}})
    assert det.config.failures == 3  # type: ignore[attr-defined]
    assert build_detectors({}, disabled=["login-abuse"]) == []
    with pytest.raises(ConfigError, match=r"detectors\.login-abuse"):
        build_detectors({"login-abuse": {"failures": "many"}})
    with pytest.raises(ConfigError, match="unknown detector"):
        build_detectors({"nope": {}})
