"""Runs one detector: owns its keyed states, sweeps them as the watermark moves,
checkpoints and restores them, and isolates the detector's faults.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Generic

import msgspec

from citywatch.detect.base import Detector, S
from citywatch.model import Detection, Event

ErrorHandler = Callable[[str, Event | None, Exception], None]
"""Called with (detector name, event or None, exception) when a detector call fails."""


class _Checkpoint(msgspec.Struct, Generic[S]):
    states: dict[str, S]


class DetectorRunner(Generic[S]):
    """Drives a :class:`Detector` over an event stream in event time.

    A failing detector call is reported to ``on_error`` and the stream goes
    on: one bad plug-in never stops the pipeline.
    """

    def __init__(self, detector: Detector[S], on_error: ErrorHandler) -> None:
        self.detector = detector
        self.name = detector.name
        self.states: dict[str, S] = {}
        self._on_error = on_error
        self._codec_type = _Checkpoint[detector.state_type]  # type: ignore[name-defined]
        self._follows = type(detector).follow_keys is not Detector.follow_keys
        """Whether the detector follows keys at all: most do not, and are not asked per event."""

    def process(self, event: Event, out: list[Detection]) -> None:
        """Fold one event into the states of every key it touches (if the detector reads it)."""
        if self.detector.reads(event.dataset):
            self.fold(event, out)

    def fold(self, event: Event, out: list[Detection]) -> None:
        """Fold one event the detector reads (the caller routed it) into its keys' states."""
        detector = self.detector
        try:
            for key in detector.keys(event):
                state = self.states.get(key)
                if state is None:
                    state = self.states[key] = detector.new_state(key)
                detector.update(key, state, event, out)
            if self._follows:
                for key in detector.follow_keys(event):
                    if (state := self.states.get(key)) is not None:
                        detector.update(key, state, event, out)
        except Exception as exc:
            self._on_error(self.name, event, exc)

    def learn(self, event: Event) -> None:
        """Let the detector learn from a trusted record."""
        if not self.detector.reads(event.dataset):
            return
        try:
            self.detector.learn(event)
        except Exception as exc:
            self._on_error(self.name, event, exc)

    def advance(self, watermark: float, out: list[Detection]) -> None:
        """Let every state close what the watermark has passed; drop idle states."""
        self._sweep(watermark, out)

    def flush(self, out: list[Detection]) -> None:
        """End of stream: close everything still open."""
        self._sweep(math.inf, out)

    def _sweep(self, watermark: float, out: list[Detection]) -> None:
        detector = self.detector
        idle: list[str] = []
        for key, state in self.states.items():
            try:
                if detector.expire(key, state, watermark, out):
                    idle.append(key)
            except Exception as exc:
                self._on_error(self.name, None, exc)
                idle.append(key)
        for key in idle:
            del self.states[key]

    def snapshot(self) -> bytes:
        """The states as MessagePack, for a checkpoint."""
        return msgspec.msgpack.encode(_Checkpoint(states=self.states))

    def restore(self, blob: bytes) -> None:
        """Replace the states with a checkpoint taken by :meth:`snapshot`."""
        checkpoint = msgspec.msgpack.decode(blob, type=self._codec_type)
        self.states = checkpoint.states
        self.detector.restored(self.states)
