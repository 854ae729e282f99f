"""The earthquake silo: phone triggers, felt reports and exposure into located quakes."""

from citywatch.detect.quake.detector import QuakeDetector
from citywatch.detect.quake.state import QuakeConfig

__all__ = ["QuakeConfig", "QuakeDetector"]
