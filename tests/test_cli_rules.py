"""``citywatch rules``: list what is in force, fail clearly on a bad file, print schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywatch.cli import app
from citywatch.errors import ConfigError
from citywatch.respond.actions import ACTIONS
from citywatch.respond.playbook import ACTION_PARAMS

runner = CliRunner()


def test_check_lists_the_rules_and_playbooks_in_force(tmp_path: Path) -> None:
    extra = tmp_path / "city.yaml"
    extra.write_text(
        "- {id: scan-then-flood, kind: sequence, title: Scan then flood, keys: [source.ip],"
        " within: 30m, steps: [{rule: [scan]}, {rule: [flood]}]}\n"
    )
    result = runner.invoke(app, ["rules", "check", str(extra)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "scan-then-flood" in result.output and "in order within 30m" in result.output
    assert "same-source-ip" in result.output and "contain-web-attack" in result.output


def test_a_bad_file_fails_with_where_and_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: x, kind: same-entity, match: [{}], window: 1h}\n")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert isinstance(result.exception, ConfigError)  # main() prints it and exits 2
    assert "bad.yaml: rule x: keys: Field required" in str(result.exception)
    bad.write_text("- {id: p, name: P, trigger: {}, steps: [{id: a, action: launch}]}\n")
    with pytest.raises(ConfigError, match="unknown action 'launch'"):
        runner.invoke(app, ["rules", "check", "--playbooks", str(bad)], catch_exceptions=False)


def test_a_rule_reading_no_detector_and_a_webhook_to_nowhere_are_refused(tmp_path: Path) -> None:
    # Both passed the check: a typo in a detector's name made a rule that never reads a
    # detection; a webhook to ftp:// failed only when an incident first ran it.
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        "- {id: cams, kind: same-entity, keys: [device.id], window: 1h,"
        " match: [{detector: [iot-flet]}, {detector: ['iot-*']}]}\n"
    )
    with pytest.raises(ConfigError, match="rule cams: detector 'iot-flet' names no detector"):
        runner.invoke(app, ["rules", "check", str(typo)], catch_exceptions=False)
    hook = tmp_path / "hook.yaml"
    hook.write_text(
        "- {id: p, name: P, trigger: {}, steps: [{id: a, action: webhook, with: {url: 'ftp://x'}}]}\n"
    )
    with pytest.raises(ConfigError, match="a webhook's url must be http"):
        runner.invoke(app, ["rules", "check", "--playbooks", str(hook)], catch_exceptions=False)
    # a misspelt parameter was ignored: the block went out with the default hour
    hook.write_text(
        "- {id: p, name: P, trigger: {}, steps: [{id: b, action: block, with: {ttl_mins: 5}}]}\n"
    )
    with pytest.raises(ConfigError, match=r"block takes no ttl_mins \(it takes ttl_min, allow\)"):
        runner.invoke(app, ["rules", "check", "--playbooks", str(hook)], catch_exceptions=False)


def test_every_action_says_which_parameters_it_takes() -> None:
    assert set(ACTION_PARAMS) == set(ACTIONS)


def test_schemas_are_json_schema() -> None:
    for kind, name in (("rules", "SequenceRule"), ("playbooks", "Step")):
        result = runner.invoke(app, ["rules", "schema", kind])
        assert result.exit_code == 0
        assert name in json.loads(result.output)["$defs"]
    assert runner.invoke(app, ["rules", "schema", "nope"]).exit_code != 0
