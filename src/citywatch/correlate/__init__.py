"""Correlation: detections fused into incidents by declarative rules, with suppressions."""

from citywatch.correlate.engine import Correlator, CorrelatorConfig
from citywatch.correlate.rules import (
    AnyRule,
    PlaceTimeRule,
    SameEntityRule,
    Selector,
    SequenceRule,
    load_rules,
    parse_rules,
)
from citywatch.correlate.suppress import propose
from citywatch.model import Suppression

__all__ = [
    "AnyRule",
    "Correlator",
    "CorrelatorConfig",
    "PlaceTimeRule",
    "SameEntityRule",
    "Selector",
    "SequenceRule",
    "Suppression",
    "load_rules",
    "parse_rules",
    "propose",
]
