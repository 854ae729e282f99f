"""Correlation: detections fused into incidents."""

from citywatch.correlate.grouping import CorrelatorConfig, EntityTimeCorrelator

__all__ = ["CorrelatorConfig", "EntityTimeCorrelator"]
