from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.correlate import SameEntityRule, SequenceRule, load_rules, parse_rules
from citywatch.errors import ConfigError


def test_builtin_rules_load_with_unique_ids() -> None:
    rules = load_rules([])
    assert {"same-source-ip", "same-device", "same-target"} <= {r.id for r in rules}


def test_the_shared_target_links_one_technique_only() -> None:
    (rule,) = [r for r in load_rules([]) if r.id == "same-target"]
    assert isinstance(rule, SameEntityRule) and rule.split_by == ("technique",)
    (mine,) = parse_rules(
        "- {id: x, kind: same-entity, match: [{}], keys: [a], window: 1h,"
        " split-by: [rule, detector]}",
        "test",
    )
    assert isinstance(mine, SameEntityRule) and mine.split_by == ("rule", "detector")


def test_a_file_of_rules_adds_to_the_builtins(tmp_path: Path) -> None:
    path = tmp_path / "city.yaml"
    path.write_text(
        "- id: seq\n  kind: sequence\n  title: Scan then attack\n"
        "  steps: [{detector: [iot-*]}, {detector: [web-attacks]}]\n"
        "  keys: [source.ip]\n  within: 30m\n"
    )
    rules = load_rules([path])
    (seq,) = [r for r in rules if r.id == "seq"]
    assert isinstance(seq, SequenceRule) and seq.within == 1800.0
    assert [r.id for r in load_rules([path], builtin=False)] == ["seq"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- id: x\n  kind: same-entity\n  match: [{}]\n  window: 1h\n",
            "rule x: keys: Field required",
        ),
        ("- id: x\n  kind: nearby\n  match: [{}]\n", "rule x"),
        (
            "- id: x\n  kind: same-entity\n  match: [{}]\n  keys: [a]\n  window: soon\n",
            "not a duration",
        ),
        (
            "- id: x\n  kind: same-entity\n  match: [{colour: red}]\n  keys: [a]\n  window: 1h\n",
            "colour",
        ),
        (
            "- id: Bad Id\n  kind: same-entity\n  match: [{}]\n  keys: [a]\n  window: 1h\n",
            "rule Bad Id: id",
        ),
        ("- id: x\n  kind: sequence\n  steps: [{}]\n  keys: [a]\n  within: 1h\n", "rule x: steps"),
        (
            "- id: x\n  kind: same-entity\n  match: [{}]\n  keys: [a]\n  window: 1h\n"
            "  split-by: [colour]\n",
            "rule x: split-by",
        ),
        ("[unclosed", "not YAML"),
        ("42", "expected a rule"),
    ],
)
def test_bad_rules_name_the_file_the_rule_and_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"rules\.yaml") as info:
        parse_rules(text, "rules.yaml")
    assert message in str(info.value)


def test_duplicate_ids_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("{id: same-device, kind: same-entity, match: [{}], keys: [x], window: 1h}")
    with pytest.raises(ConfigError, match="same-device defined twice"):
        load_rules([path])
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules([tmp_path / "missing.yaml"])


def test_selectors_match_every_field_given_by_glob() -> None:
    (rule,) = parse_rules(
        "{id: r, kind: same-entity, keys: [k], window: 60,"
        " match: [{detector: [iot-*], tags: ['attack.t08*'], entity: {device.class: [cam*]}}]}",
        "x",
    )
    assert isinstance(rule, SameEntityRule)
    (sel,) = rule.match

    class D:
        def __init__(self, detector: str, tags: list[str], cls: str = "camera") -> None:
            self.detector, self.rule_id, self.category, self.tags = detector, "r", "cyber", tags
            self.entity = {"device.class": cls} if cls else {}

    assert sel.matches(D("iot-scan", ["attack.t0846"]))
    assert not sel.matches(D("iot-scan", ["attack.t1110"]))
    assert not sel.matches(D("web-attacks", ["attack.t0846"]))
    assert not sel.matches(D("iot-scan", ["attack.t0846"], "meter"))
    assert not sel.matches(D("iot-scan", ["attack.t0846"], ""))
