"""Wiring the stages into a run (embedded mode: one process, in-process bus)."""

from citywatch.pipeline.inputs import InputSpec, read_lines
from citywatch.pipeline.job import Job
from citywatch.pipeline.stats import RunStats

__all__ = ["InputSpec", "Job", "RunStats", "read_lines"]
