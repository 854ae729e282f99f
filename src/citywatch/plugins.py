"""The plug-in registry: built-ins from each stage's explicit dict, plus entry points.

Third-party packages add plug-ins under the entry-point groups
``citywatch.adapters``, ``citywatch.detectors`` and ``citywatch.actions``;
a built-in name cannot be overridden.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import msgspec
import structlog
from pydantic import BaseModel, ValidationError

from citywatch.detect import DETECTORS, Detector
from citywatch.errors import ConfigError, PluginError
from citywatch.ingest import ADAPTERS, Adapter, NoConfig
from citywatch.respond.actions import ACTIONS
from citywatch.respond.playbook import ACTION_PARAMS

_log = structlog.get_logger(__name__)

KINDS = ("adapters", "detectors", "actions")


class PluginInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What ``citywatch plugins`` shows for one plug-in."""

    kind: str
    name: str
    description: str
    origin: str
    config_schema: dict[str, Any]


def _discover(kind: str, builtins: dict[str, Any], base: type[Any]) -> dict[str, Any]:
    found = dict(builtins)
    for ep in entry_points(group=f"citywatch.{kind}"):
        if ep.name in found:
            raise PluginError("name already taken by a built-in", kind=kind, name=ep.name)
        try:
            cls = ep.load()
        except Exception as exc:
            raise PluginError(f"cannot load {ep.value}: {exc}", kind=kind, name=ep.name) from exc
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(f"{ep.value} is not a {base.__name__}", kind=kind, name=ep.name)
        found[ep.name] = cls
    return found


def adapter_classes() -> dict[str, type[Adapter]]:
    """Every adapter by format name."""
    return _discover("adapters", ADAPTERS, Adapter)


def detector_classes() -> dict[str, type[Detector]]:  # type: ignore[type-arg]
    """Every detector by name."""
    return _discover("detectors", DETECTORS, Detector)


def action_classes() -> dict[str, Any]:
    """Every response action by name: the playbook steps' built-ins, then entry points."""
    return _discover("actions", dict(ACTIONS), object)


def build_adapters() -> dict[str, Adapter]:
    """One instance of every adapter, with its default config."""
    return {name: cls() for name, cls in adapter_classes().items()}


def build_detectors(
    configs: dict[str, dict[str, Any]],
    disabled: list[str] | None = None,
    classes: dict[str, type[Detector]] | None = None,  # type: ignore[type-arg]
) -> list[Detector]:  # type: ignore[type-arg]
    """Every enabled detector of ``classes`` (:func:`detector_classes` unless given), built from
    its validated config; fails fast on bad config."""
    classes = detector_classes() if classes is None else classes
    named = [(name, f"detectors.{name}") for name in configs]
    named += [(name, f"disabled: {name!r}") for name in disabled or []]
    for name, where in named:
        if name not in classes:
            raise ConfigError(
                f"unknown detector (known: {', '.join(sorted(classes))})", where=where
            )
    built = []
    for name, cls in classes.items():
        if name in (disabled or []):
            continue
        try:
            config = cls.config_model.model_validate(configs.get(name, {}))
        except ValidationError as exc:
            raise ConfigError(str(exc), where=f"detectors.{name}") from exc
        detector = cls(config)
        for notice in detector.notices():  # every command that runs detectors says it, once
            _log.warning("detector_config_notice", detector=name, notice=notice)
        built.append(detector)
    return built


def describe() -> list[PluginInfo]:
    """Every registered plug-in with its config schema."""
    out: list[PluginInfo] = []
    for kind, classes, builtins in (
        ("adapters", adapter_classes(), ADAPTERS),
        ("detectors", detector_classes(), DETECTORS),
        ("actions", action_classes(), ACTIONS),
    ):
        for name, cls in sorted(classes.items()):
            model: type[BaseModel] = getattr(cls, "config_model", NoConfig)
            schema = model.model_json_schema()
            if kind == "actions" and name in ACTION_PARAMS:  # a step's with: parameters
                params: dict[str, object] = {key: {} for key in ACTION_PARAMS[name]}
                schema = {"type": "object", "properties": params, "additionalProperties": False}
            out.append(
                PluginInfo(
                    kind=kind,
                    name=name,
                    description=getattr(cls, "description", (cls.__doc__ or "").split("\n")[0]),
                    origin="built-in" if name in builtins else cls.__module__,
                    config_schema=schema,
                )
            )
    return out
