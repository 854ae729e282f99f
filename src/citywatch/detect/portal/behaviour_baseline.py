"""The portal's learned request rate by hour of the day, the baseline of portal-wide floods,
and what its browsers' requests carry (:class:`~.behaviour_habits.Habits`).

Learned from trusted records (``--learn``): requests per minute, kept per
UTC hour of the day. The busy rate of an hour is the 95th percentile of the
minutes within an hour either side, so a flood of a few minutes in the
learned days does not raise it, and the normal daily peak is known from the
first minute of a stream. The browsers' habits learned with them start the
live ones as a settled day (the live traffic moves them by days only), so that
bots feeding the first live day habit-less requests do not bend them.

>>> baseline, request = HourlyBaseline(), HttpRequest(method="GET", uri="/")
>>> for second in range(0, 3 * 3600, 2):  # 30 requests a minute from midnight to 03:00
...     baseline.learn(float(second), request)
>>> baseline.peak(3600.0), baseline.peak(12 * 3600.0)
(30.0, None)
"""

from __future__ import annotations

import msgspec

from citywatch.detect.portal import behaviour_habits as browsers
from citywatch.model import HttpRequest

_KEEP = 2048
"""Minutes kept per hour of the day (older ones thinned out)."""


class BaselineModel(msgspec.Struct, kw_only=True):
    """Requests per minute by hour of the day (UTC), and the minute being counted."""

    hours: dict[int, list[int]] = msgspec.field(default_factory=dict)
    minute: int = -1
    count: int = 0
    habits: browsers.Habits | None = None
    """What the browser requests carried (one in :data:`~.behaviour_habits.SAMPLE`)."""


class HourlyBaseline:
    """Learns the per-minute request rate by hour of the day; says how busy an hour gets."""

    def __init__(self) -> None:
        self.model = BaselineModel()
        self._peaks: list[float | None] | None = None

    def learn(self, ts: float, request: HttpRequest) -> None:
        """Count one ``request`` at ``ts`` (a record out of order counts in the current
        minute), and what it carries if it is a sampled one."""
        model = self.model
        minute = int(ts // 60)
        if minute > model.minute:
            if model.minute >= 0:
                counts = model.hours.setdefault(model.minute // 60 % 24, [])
                counts.append(model.count)
                if len(counts) > _KEEP:
                    del counts[::2]
            model.minute, model.count = minute, 0
        model.count += 1
        if browsers.sampled(model.count, minute):
            model.habits = browsers.learn(model.habits, browsers.habits_of(request), minute // 1440)
        self._peaks = None

    def peak(self, ts: float) -> float | None:
        """The learned busy rate per minute around the hour of ``ts`` (None: not learned)."""
        peaks = self._peaks
        if peaks is None:
            hours = self.model.hours
            peaks = []
            for hour in range(24):
                near = sorted(c for h in (hour - 1, hour, hour + 1) for c in hours.get(h % 24, []))
                peaks.append(float(near[int(0.95 * (len(near) - 1))]) if near else None)
            self._peaks = peaks
        return peaks[int(ts // 3600) % 24]

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.model)

    def restore(self, blob: bytes) -> None:
        self.model = msgspec.msgpack.decode(blob, type=BaselineModel)
        self._peaks = None
