"""Venue crowd safety from aggregated counts: density, flow, time-to-critical, measures."""

from citywatch.detect.crowd.config import CrowdConfig
from citywatch.detect.crowd.detector import CrowdSafety

__all__ = ["CrowdConfig", "CrowdSafety"]
