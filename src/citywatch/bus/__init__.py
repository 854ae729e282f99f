"""Buses between stages: in-process for the embedded mode."""

from citywatch.bus.local import Handler, LocalBus, Topic
from citywatch.bus.topics import DEAD_LETTERS, DETECTIONS, INCIDENTS

__all__ = ["DEAD_LETTERS", "DETECTIONS", "INCIDENTS", "Handler", "LocalBus", "Topic"]
