"""The IoT fleet's detector: per-device and per-class baselines, attack rules, posture."""

from citywatch.detect.iot.detector import IotFleet

__all__ = ["IotFleet"]
