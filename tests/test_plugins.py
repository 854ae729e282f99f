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
    # an action lists the parameters a step gives it (it said none)
    block = infos[("actions", "block")].config_schema
    assert set(block["properties"]) == {"ttl_min", "allow"} and not block["additionalProperties"]


def test_detector_config_is_validated_and_applied() -> None:
    built = {d.name: d for d in build_detectors({"login-abuse": {"failures": 3}})}
    assert built["login-abuse"].config.failures == 3  # type: ignore[attr-defined]
    names = {d.name for d in build_detectors({}, disabled=["login-abuse"])}
    assert "login-abuse" not in names and names
    with pytest.raises(ConfigError, match=r"detectors\.login-abuse"):
        build_detectors({"login-abuse": {"failures": "many"}})
    with pytest.raises(ConfigError, match=r"detectors\.nope: unknown detector"):
        build_detectors({"nope": {}})
    # a misspelt name in `disabled` was blamed on a [detectors.web-atacks] section
    with pytest.raises(ConfigError, match="disabled: 'web-atacks': unknown detector"):
        build_detectors({}, disabled=["web-atacks"])
