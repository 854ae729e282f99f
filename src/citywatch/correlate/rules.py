"""Declarative correlation rules (YAML), in the three kinds of Sigma's correlation rules.

A rule file holds one rule or a list of them (``rules: [...]`` or a YAML
list). Every rule has an ``id``, a ``kind`` and selectors saying which
detections it reads:

- ``same-entity``: detections sharing a value of any of ``keys`` (one
  namespace: ``[source.ip, device.ip]`` links a portal attacker's address to
  the device that has it) within ``window`` are one incident; with
  ``split-by: [technique]`` only those that also share an ATT&CK technique
  (a weak key, such as the attacked service, then links one campaign, not
  every actor that touched the service that day);
- ``place-time``: detections whose places lie within ``rings`` H3 cells of
  each other at ``resolution``, within ``window``, are one incident; with
  several selectors, only detections of different selectors link (a crowd
  sensor and the posts at its venue; two posts near each other do not, unless
  through a detection of another selector);
- ``sequence``: a detection matching ``steps[i]`` joins the incident of one
  matching ``steps[i-1]`` that shares a value of ``keys`` and started at most
  ``within`` before it (A then B within T).

A detection matching one of a rule's ``exclude`` selectors is not read by it
(a flood is not part of an intrusion campaign on the same service). A rule
with a ``title`` tells a story: when an incident holds a detection
for every one of its selectors (in order, for a sequence) it takes the
rule's title, category and severity floor. Durations are ``90s``, ``30m``,
``6h``, ``2d`` or seconds.

>>> rules = parse_rules('''
... - id: ip
...   kind: same-entity
...   match: [{}]
...   keys: [source.ip]
...   window: 6h
... ''', "example.yaml")
>>> rules[0].window
21600.0
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from citywatch.yamlspecs import SpecKind

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def _seconds(value: object) -> object:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise ValueError(f"not a duration: {value!r} (use 90s, 30m, 6h, 2d)")
        return float(found.group(1)) * _UNITS[found.group(2) or "s"]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
"""Seconds, written as a number or ``90s``/``30m``/``6h``/``2d``."""


class Labelled(Protocol):
    """What a selector reads: a detection, or the correlator's summary of one."""

    @property
    def detector(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def entity(self) -> Mapping[str, str]: ...


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Selector(_Strict):
    """Which detections a rule reads: every field given must match (globs, any of a list)."""

    detector: tuple[str, ...] = ()
    rule: tuple[str, ...] = Field((), description="rule.id patterns")
    category: tuple[str, ...] = ()
    tags: tuple[str, ...] = Field((), description="matches when any tag matches any pattern")
    entity: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="entity key → patterns its value must match"
    )

    def matches(self, d: Labelled) -> bool:
        """True when ``d`` passes every field given."""
        return (
            _any(self.detector, (d.detector,))
            and _any(self.rule, (d.rule_id,))
            and _any(self.category, (d.category,))
            and _any(self.tags, d.tags)
            and all(
                key in d.entity and _any(patterns, (d.entity[key],))
                for key, patterns in self.entity.items()
            )
        )


def _any(patterns: tuple[str, ...], values: Sequence[str]) -> bool:
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(v, p) for p in patterns for v in values)


class _Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str | None = Field(None, description="the incident's title when the story is complete")
    description: str = ""
    category: Literal["cyber", "public_safety", "hybrid"] | None = None
    severity: int | None = Field(None, ge=1, le=100, description="severity floor of the story")
    exclude: tuple[Selector, ...] = Field(
        (), description="detections matching any of these are not read by the rule"
    )

    def reads(self, d: Labelled) -> list[int]:
        """The indexes of the selectors ``d`` matches (none when an ``exclude`` matches it)."""
        if any(x.matches(d) for x in self.exclude):
            return []
        return [i for i, s in enumerate(self.selectors()) if s.matches(d)]

    def selectors(self) -> tuple[Selector, ...]:
        """The selectors whose detections this rule reads, in order."""
        raise NotImplementedError


Split = Literal["technique", "rule", "detector"]
"""What else two detections must share for a same-entity rule to link them."""


class SameEntityRule(_Rule):
    """Detections that share a value of any of ``keys`` within ``window``; with ``split-by``,
    only those that also share the ATT&CK technique, rule or detector."""

    kind: Literal["same-entity"]
    match: tuple[Selector, ...] = Field(min_length=1)
    keys: tuple[str, ...] = Field(min_length=1)
    window: Duration
    split_by: tuple[Split, ...] = Field(
        (),
        alias="split-by",
        description="link only detections that also share these: technique (the most specific "
        "ATT&CK ids in their tags; the rule id without one), rule, detector",
    )

    def selectors(self) -> tuple[Selector, ...]:
        """The selectors whose detections this rule reads."""
        return self.match

    def splits(self, d: Labelled) -> tuple[str, ...]:
        """What ``d`` adds to its link tokens (``""`` without ``split-by``): one suffix per
        combination of its values, so two detections link when they share one.

        >>> rule = SameEntityRule(id="t", kind="same-entity", match=[Selector()], keys=["target"],
        ...                       window=60, split_by=["technique"])
        >>> class D:
        ...     detector, rule_id, category, entity = "web", "web.scan", "cyber", {}
        ...     tags = ["attack.T1595.002", "attack.T1595", "attack.T1190"]
        >>> rule.splits(D())
        ('|T1190', '|T1595.002')
        """
        suffixes = [""]
        for by in self.split_by:
            values = (
                _techniques(d.tags) or (d.rule_id,)
                if by == "technique"
                else (d.rule_id,)
                if by == "rule"
                else (d.detector,)
            )
            suffixes = [f"{s}|{v}" for s in suffixes for v in values]
        return tuple(suffixes)


def _techniques(tags: Sequence[str]) -> tuple[str, ...]:
    """The most specific ATT&CK technique ids in ``tags`` (T1595.002, not also T1595)."""
    ids = {t[len("attack.") :] for t in tags if t.startswith("attack.T")}
    return tuple(sorted(i for i in ids if not any(o.startswith(f"{i}.") for o in ids)))


class PlaceTimeRule(_Rule):
    """Detections within ``rings`` H3 cells of each other at ``resolution``, within ``window``."""

    kind: Literal["place-time"]
    match: tuple[Selector, ...] = Field(min_length=1)
    resolution: int = Field(8, ge=0, le=15)
    rings: int = Field(1, ge=0, le=10)
    window: Duration

    def selectors(self) -> tuple[Selector, ...]:
        """The selectors whose detections this rule reads."""
        return self.match


class SequenceRule(_Rule):
    """A detection of ``steps[i]`` after one of ``steps[i-1]`` sharing a key, within ``within``."""

    kind: Literal["sequence"]
    steps: tuple[Selector, ...] = Field(min_length=2)
    keys: tuple[str, ...] = Field(min_length=1)
    within: Duration

    def selectors(self) -> tuple[Selector, ...]:
        """The steps, in order."""
        return self.steps


AnyRule = SameEntityRule | PlaceTimeRule | SequenceRule
"""One correlation rule, of any kind."""

_KINDS = ("same-entity", "place-time", "sequence")


RULE_FILES = SpecKind(
    "rule",
    "rules",
    TypeAdapter(list[Annotated[AnyRule, Field(discriminator="kind")]]),
    tags=_KINDS,
)
"""Correlation-rule files: how they are read, and their schema (``RULE_FILES.adapter``)."""


def parse_rules(text: str, where: str) -> list[AnyRule]:
    """The rules in one YAML document; :class:`ConfigError` naming the file and rule on error."""
    return RULE_FILES.parse(text, where)


def load_rules(paths: list[Path], *, builtin: bool = True) -> list[AnyRule]:
    """The built-in rules (unless ``builtin`` is False) and those in ``paths``; unique ids."""
    return RULE_FILES.load("citywatch.correlate", "rulesets", paths, builtin=builtin)
