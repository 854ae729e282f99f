"""YAML files of named specs (correlation rules, playbooks): read, validate, locate errors.

A file holds one spec, a list of them, or ``{KEY: [...]}``. Each spec has an
``id``; a bad one is a :class:`~citywatch.errors.ConfigError` that names the
file, the spec and the field. The shipped specs live in a package folder and
come first; the city's own files follow; ids are unique across all of them.

>>> from pydantic import BaseModel, TypeAdapter
>>> class Spec(BaseModel):
...     id: str
...     n: int
>>> kind = SpecKind("spec", "specs", TypeAdapter(list[Spec]))
>>> [s.n for s in kind.parse("[{id: a, n: 1}, {id: b, n: 2}]", "x.yaml")]
[1, 2]
>>> try:
...     kind.parse("{specs: [{id: a, n: 1}, {id: b, n: two}]}", "x.yaml")
... except ConfigError as exc:
...     print(str(exc)[:40])
x.yaml: spec b: n: Input should be a val
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from citywatch.errors import ConfigError

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, on libyaml when PyYAML has it (the same documents, ten times faster)."""


def load_yaml(text: str) -> Any:
    """The one YAML document in ``text``, safely (plain data only); raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_SAFE)  # noqa: S506 - a safe loader


def load_yaml_all(text: str) -> list[Any]:
    """Every YAML document in ``text``, as :func:`load_yaml` reads one."""
    return list(yaml.load_all(text, Loader=_SAFE))


class _Named(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Named)


@dataclass(frozen=True)
class SpecKind(Generic[T]):
    """One kind of spec file: its name (in errors), its list key, how to validate a list of them.

    ``tags`` are discriminator values: a location starting with one skips it (it says nothing).
    """

    noun: str
    key: str
    adapter: TypeAdapter[list[T]]
    tags: tuple[str, ...] = ()

    def parse(self, text: str, where: str) -> list[T]:
        """The specs in one YAML document."""
        try:
            doc = load_yaml(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"not YAML: {exc}", where=where) from None
        if isinstance(doc, dict):
            doc = doc.get(self.key, [doc])
        if not isinstance(doc, list):
            raise ConfigError(
                f"expected a {self.noun}, a list or {{{self.key}: [...]}}", where=where
            )
        try:
            return self.adapter.validate_python(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            index = first["loc"][0] if first["loc"] else 0
            item = doc[index] if isinstance(index, int) and index < len(doc) else None
            name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
            inside = [str(p) for p in first["loc"][1:]]
            if inside and inside[0] in self.tags:
                inside = inside[1:]
            raise ConfigError(
                f"{self.noun} {name}: {'.'.join(inside)}: {first['msg']}", where=where
            ) from None

    def load(self, package: str, folder: str, paths: Iterable[Path], *, builtin: bool) -> list[T]:
        """The shipped specs in ``package/folder`` (unless not ``builtin``), then ``paths``'."""
        specs: list[T] = []
        if builtin:
            shipped = resources.files(package) / folder
            for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".yaml"):
                    text = entry.read_text(encoding="utf-8")
                    specs += self.parse(text, f"built-in {entry.name}")
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from None
            specs += self.parse(text, str(path))
        seen: set[str] = set()
        for spec in specs:
            if spec.id in seen:
                raise ConfigError(f"{self.noun} id {spec.id} defined twice", where=self.key)
            seen.add(spec.id)
        return specs
