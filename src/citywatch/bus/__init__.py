"""Buses between stages: in-process for the embedded mode, NATS JetStream for scale-out.

The JetStream modules (:mod:`citywatch.bus.jetstream`, ``subjects``, ``seal``)
are imported by name where the bus is used, so the NATS client loads only
then.
"""

from citywatch.bus.local import Handler, LocalBus, Topic
from citywatch.bus.topics import DEAD_LETTERS, DETECTIONS, INCIDENTS

__all__ = ["DEAD_LETTERS", "DETECTIONS", "INCIDENTS", "Handler", "LocalBus", "Topic"]
