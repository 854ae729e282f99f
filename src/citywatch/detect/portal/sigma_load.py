"""Loading Sigma rule files: parse with pySigma, compile, and report what was kept and why not.

Every ``*.yml``/``*.yaml`` under each configured path (a file or a directory,
recursively, in sorted order) is parsed with ``SigmaCollection.from_yaml(...,
collect_errors=True)``. A rule ends in exactly one list of the
:class:`LoadReport`:

- ``loaded``: compiled and evaluated on every request;
- ``skipped``: valid Sigma that this detector does not evaluate, with the
  reason (a logsource category not included, an unmapped field such as
  ``Image``, a modifier not supported, a correlation rule, a deprecated rule);
- ``errors``: a file or rule that is not valid Sigma (bad YAML, unknown
  modifier, a condition naming a missing selection, a duplicate id), with
  the file and rule id.

Errors are *collected* by default, so one bad file in a rule folder costs
that file only and the detector runs with the valid rules; with ``strict``
the first error raises a :class:`~citywatch.errors.ConfigError` located by
file and rule id. A configured path that does not exist always raises.

Hit metadata comes from the rule: severity from ``level`` (informational 10,
low 30, medium 50, high 70, critical 90), confidence from ``status``
(stable 0.8, test 0.7, else 0.6), the technique from the first ATT&CK
technique tag (``attack.t1190`` → ``T1190``; none: T1190, since every request
seen here goes to the public-facing portal), and the attack class from, in
order: a ``citywatch.class.<name>`` tag; the first technique with a known
class (T1505.003 ``webshell``, T1595.x ``scan``, T1059.x ``cmdi``,
T1110.x ``bruteforce``, T1071.x/T1102 ``c2``, T1189 ``xss``, T1190 ``exploit``); a ``cve.*``
tag (``exploit``); else ``sigma:<level>``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Final

import msgspec
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from citywatch.detect.portal.sigma_eval import (
    Needs,
    Predicate,
    Unsupported,
    any_of,
    compile_condition,
)
from citywatch.detect.portal.sigma_fields import field_key
from citywatch.errors import ConfigError
from citywatch.yamlspecs import load_yaml_all

SEVERITY: Final = {"informational": 10, "low": 30, "medium": 50, "high": 70, "critical": 90}
CONFIDENCE: Final = {"stable": 0.8, "test": 0.7}
DEFAULT_TECHNIQUE: Final = "T1190"
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")
_CLASSES: Final = (
    ("t1505.003", "webshell"),
    ("t1595", "scan"),
    ("t1059", "cmdi"),
    ("t1110", "bruteforce"),
    ("t1071", "c2"),
    ("t1102", "c2"),
    ("t1189", "xss"),
    ("t1190", "exploit"),
)
_CLASS_TAG: Final = "citywatch.class."


class LoadedRule(msgspec.Struct, frozen=True, kw_only=True):
    """A rule that is evaluated; ``prefiltered`` is False when it runs on every request."""

    id: str
    title: str
    file: str
    level: str
    attack_class: str
    technique: str
    prefiltered: bool


class SkippedRule(msgspec.Struct, frozen=True, kw_only=True):
    """A valid rule this detector does not evaluate, and why."""

    id: str
    title: str
    file: str
    reason: str


class RuleError(msgspec.Struct, frozen=True, kw_only=True):
    """A file or rule that is not valid Sigma (``id`` None when the file itself is bad)."""

    file: str
    id: str | None
    message: str


class LoadReport(msgspec.Struct, kw_only=True):
    """What loading the rule paths gave: evaluated, skipped with a reason, broken."""

    loaded: list[LoadedRule] = msgspec.field(default_factory=list)
    skipped: list[SkippedRule] = msgspec.field(default_factory=list)
    errors: list[RuleError] = msgspec.field(default_factory=list)


class CompiledRule:
    """One evaluable rule: its predicate, prefilter needs and hit metadata."""

    __slots__ = ("confidence", "description", "info", "needs", "predicate", "severity")

    def __init__(
        self, info: LoadedRule, predicate: Predicate, needs: Needs, severity: int, confidence: float
    ) -> None:
        self.info = info
        self.predicate = predicate
        self.needs = needs
        self.severity = severity
        self.confidence = confidence
        self.description = ""


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """The rule files under ``paths``, each once however often the paths name it (a folder
    and a file in it, the shipped rules and a copy of their folder's path); a path that does
    not exist is a ConfigError."""
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        elif path.is_file():
            found = [path]
        else:
            raise ConfigError("no such rule file or directory", where=f"rule_dirs: {path}")
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


def attack_meta(tags: Sequence[str], level: str) -> tuple[str, str]:
    """(attack class, technique) from a rule's tags (see the module docstring).

    >>> attack_meta(["attack.initial-access", "attack.t1190"], "high")
    ('exploit', 'T1190')
    >>> attack_meta(["citywatch.class.sqli", "attack.t1190"], "high")
    ('sqli', 'T1190')
    >>> attack_meta([], "low")
    ('sigma:low', 'T1190')
    """
    lowered = [t.lower() for t in tags]
    techniques = [t[7:] for t in lowered if t.startswith("attack.") and _TECHNIQUE.fullmatch(t[7:])]
    technique = techniques[0].upper() if techniques else DEFAULT_TECHNIQUE
    for tag in lowered:
        if tag.startswith(_CLASS_TAG) and len(tag) > len(_CLASS_TAG):
            return tag[len(_CLASS_TAG) :], technique
    for t in techniques:
        for prefix, cls in _CLASSES:
            if t == prefix or t.startswith(prefix + "."):
                return cls, technique
    if any(t.startswith("cve.") for t in lowered):
        return "exploit", technique
    return f"sigma:{level}", technique


class _Loader:
    def __init__(self, categories: Collection[str], strict: bool) -> None:
        self.categories = {c.lower() for c in categories}
        self.strict = strict
        self.report = LoadReport()
        self.rules: list[CompiledRule] = []
        self.seen: dict[str, str] = {}

    def error(self, file: str, rule_id: str | None, message: str, exc: Exception | None) -> None:
        if self.strict:
            where = f"{file}: rule {rule_id}" if rule_id else file
            raise ConfigError(message, where=where) from exc
        self.report.errors.append(RuleError(file=file, id=rule_id, message=message))

    def skip(self, file: str, rule_id: str, title: str, reason: str) -> None:
        self.report.skipped.append(SkippedRule(id=rule_id, title=title, file=file, reason=reason))

    def load_file(self, path: Path) -> None:
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            collection = SigmaCollection.from_dicts(  # pySigma's from_yaml, on libyaml
                load_yaml_all(text),
                collect_errors=True,
                source=SigmaRuleLocation(path),
                resolve_references=False,  # correlations are skipped; their rules may be elsewhere
            )
        except Exception as exc:  # any parser failure is this file's error, not a crash
            self.error(file, None, f"cannot parse: {type(exc).__name__}: {exc}", exc)
            return
        in_rules = {id(e) for r in collection.rules for e in r.errors}
        for err in collection.errors:
            if id(err) not in in_rules:
                self.error(file, None, str(err), err)
        for index, rule in enumerate(collection.rules, 1):
            rule_id = str(rule.id) if rule.id is not None else f"{path.stem}#{index}"
            if rule.errors:
                self.error(file, rule_id, "; ".join(str(e) for e in rule.errors), rule.errors[0])
            elif not isinstance(rule, SigmaRule):
                kind = "correlation" if isinstance(rule, SigmaCorrelationRule) else "filter"
                self.skip(file, rule_id, rule.title, f"{kind} rules are not evaluated per request")
            elif rule_id in self.seen:
                self.error(file, rule_id, f"duplicate rule id (also in {self.seen[rule_id]})", None)
            else:
                self.seen[rule_id] = file
                self.add(file, rule_id, rule)

    def add(self, file: str, rule_id: str, rule: SigmaRule) -> None:
        status = str(rule.status) if rule.status is not None else "experimental"
        category = (rule.logsource.category or "").lower()
        if status in ("deprecated", "unsupported"):
            return self.skip(file, rule_id, rule.title, f"status is {status}")
        if category not in self.categories:
            reason = f"logsource category {category or '(none)'!r} is not included"
            return self.skip(file, rule_id, rule.title, reason)
        try:
            compiled = [
                compile_condition(c.parsed, _resolve) for c in rule.detection.parsed_condition
            ]
        except Unsupported as exc:
            return self.skip(file, rule_id, rule.title, exc.reason)
        except SigmaError as exc:
            return self.error(file, rule_id, str(exc), exc)
        except Exception as exc:  # a rule this compiler cannot handle is its error, not a crash
            return self.error(file, rule_id, f"cannot compile: {type(exc).__name__}: {exc}", exc)
        predicate, needs = compiled[0] if len(compiled) == 1 else any_of(compiled)
        level = str(rule.level) if rule.level is not None else "medium"
        attack_class, technique = attack_meta([str(t) for t in rule.tags], level)
        info = LoadedRule(
            id=rule_id,
            title=rule.title,
            file=file,
            level=level,
            attack_class=attack_class,
            technique=technique,
            prefiltered=needs is not None,
        )
        out = CompiledRule(
            info, predicate, needs, SEVERITY.get(level, 50), CONFIDENCE.get(status, 0.6)
        )
        out.description = _clip(" ".join((rule.description or "").split()), 160)
        self.rules.append(out)
        self.report.loaded.append(info)
        return None


def _resolve(name: str) -> str:
    key = field_key(name)
    if key is None:
        raise Unsupported(f"field {name!r} is not mapped to portal requests")
    return key


def load_rules(
    paths: Sequence[Path], *, categories: Collection[str], strict: bool = False
) -> tuple[list[CompiledRule], LoadReport]:
    """Parse, check and compile every rule under ``paths`` (see the module docstring)."""
    loader = _Loader(categories, strict)
    for path in rule_files(paths):
        loader.load_file(path)
    return loader.rules, loader.report


__all__ = [
    "CompiledRule",
    "LoadReport",
    "LoadedRule",
    "RuleError",
    "SkippedRule",
    "attack_meta",
    "load_rules",
    "rule_files",
]


def _clip(text: str, most: int) -> str:
    """``text`` in at most ``most`` characters, cut at a word with an ellipsis (not mid-word).

    >>> _clip("Detects SQL injection in the traffic incident search", 40)
    'Detects SQL injection in the traffic…'
    """
    if len(text) <= most:
        return text
    cut = text[: most - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"
