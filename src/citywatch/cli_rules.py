"""``citywatch rules``: check the correlation rules and playbooks in force, print their schema."""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter
from rich.table import Table

from citywatch.cli_console import console
from citywatch.config import load_settings
from citywatch.correlate.rules import RULE_FILES, AnyRule, Selector, load_rules
from citywatch.errors import ConfigError
from citywatch.plugins import detector_classes
from citywatch.respond.playbook import PLAYBOOK_FILES, load_playbooks

rules_app = typer.Typer(
    name="rules",
    help="Correlation rules and playbooks: check them, print their schema.",
    no_args_is_help=True,
)


def _span(seconds: float) -> str:
    """``6h``, ``30m``, ``90s``: the way rule files write durations."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:g}s"


def _selectors(selectors: tuple[Selector, ...]) -> str:
    parts = []
    for s in selectors:
        fields = {k: ",".join(v) for k, v in s.model_dump(exclude={"entity"}).items() if v}
        fields |= {k: ",".join(v) for k, v in s.entity.items()}
        parts.append(" ".join(f"{k}={v}" for k, v in fields.items()) or "any")
    return " | ".join(parts)


def _detectors_named(rules: list[AnyRule]) -> None:
    """Raise :class:`ConfigError` for a selector's detector pattern that names no detector
    (a typo: the rule would never read a detection, and nothing would say so)."""
    known = sorted(detector_classes())
    unknown = [
        f"rule {rule.id}: detector {pattern!r} names no detector"
        for rule in rules
        for selector in (*rule.selectors(), *rule.exclude)
        for pattern in selector.detector
        if not fnmatch.filter(known, pattern)
    ]
    if unknown:
        raise ConfigError(f"{'; '.join(unknown)} (detectors: {', '.join(known)})", where="rules")


@rules_app.command("check")
def check_cmd(
    files: Annotated[list[Path] | None, typer.Argument(help="more rule or playbook files")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML settings file")] = None,
    playbooks: Annotated[
        bool, typer.Option("--playbooks", help="the files are playbooks, not correlation rules")
    ] = False,
) -> None:
    """Load the rules and playbooks in force (and FILES); list them, or fail on the first error."""
    settings = load_settings(config)
    extra = list(files or [])
    rule_files = [*settings.correlate.rules, *([] if playbooks else extra)]
    book_files = [*settings.respond.playbooks, *(extra if playbooks else [])]
    rules = load_rules(rule_files, builtin=settings.correlate.builtin_rules)
    books = load_playbooks(book_files, builtin=settings.respond.builtin_playbooks)
    _detectors_named(rules)
    table = Table(title=f"correlation rules ({len(rules)})")
    for column in ("id", "kind", "story", "reads", "links"):
        table.add_column(column)
    for rule in rules:
        if rule.kind == "place-time":
            links = f"H3 res {rule.resolution} ±{rule.rings} ring(s) within {_span(rule.window)}"
        elif rule.kind == "sequence":
            links = f"{','.join(rule.keys)}, in order within {_span(rule.within)}"
        else:
            links = f"{','.join(rule.keys)} within {_span(rule.window)}"
        table.add_row(rule.id, rule.kind, rule.title or "-", _selectors(rule.selectors()), links)
    console.print(table)
    table = Table(title=f"playbooks ({len(books)})")
    for column in ("id", "trigger", "steps"):
        table.add_column(column)
    for book in books:
        trigger = {k: v for k, v in book.trigger.model_dump().items() if v not in ((), None)}
        steps = ", ".join(f"{s.id} ({s.action}, {s.approval or 'auto'})" for s in book.steps)
        table.add_row(book.id, json.dumps(trigger, default=str), steps)
    console.print(table)


@rules_app.command("schema")
def schema_cmd(
    kind: Annotated[str, typer.Argument(help="rules or playbooks")] = "rules",
) -> None:
    """Print the JSON Schema of a correlation-rule file or a playbook file."""
    schemas: dict[str, TypeAdapter[Any]] = {
        "rules": RULE_FILES.adapter,
        "playbooks": PLAYBOOK_FILES.adapter,
    }
    if kind not in schemas:
        raise typer.BadParameter("rules or playbooks", param_hint="KIND")
    sys.stdout.write(json.dumps(schemas[kind].json_schema(), indent=2) + "\n")
