"""The explicit, bounded state of :mod:`.behaviour`: event-time windows per key.

Every window is a queue of the events in it (parallel lists with a head
index, compacted now and then) plus the aggregates a rule reads, kept up to
date as events enter and leave, so a request costs O(1) amortised and no
rule ever scans its window. Each queue is capped: past the cap the oldest
entries leave early, which bounds the memory of a key whatever it sends.
"""

from __future__ import annotations

import math
from typing import Final, TypeVar

import msgspec

from citywatch.detect.base import Episode
from citywatch.detect.portal.behaviour_crowd import Tally
from citywatch.detect.portal.behaviour_habits import Habits

RING = 10
"""Slots of a request-count ring per window."""


Entry = tuple[float, str, int, str]
"""One event in a window: its time, a key, a number, its event id."""


class Queue(msgspec.Struct, kw_only=True, gc=False):
    """The events in a window, oldest first, behind a head index."""

    items: list[Entry] = msgspec.field(default_factory=list)
    head: int = 0

    def push(self, t: float, k: str, n: int, e: str) -> None:
        self.items.append((t, k, n, e))

    def __len__(self) -> int:
        return len(self.items) - self.head

    def oldest(self) -> float:
        """The time of the oldest event in the window (-inf when empty: let it go)."""
        items = self.items
        return items[self.head][0] if self.head < len(items) else -math.inf

    def newest(self) -> float:
        """The time of the newest event in the window (-inf when empty)."""
        items = self.items
        return items[-1][0] if self.head < len(items) else -math.inf

    def leaving(self, before: float, cap: int) -> list[Entry]:
        """Move the head past entries older than ``before`` (or beyond ``cap``); those entries."""
        start = head = self.head
        items = self.items
        end = len(items)
        while head < end and (items[head][0] < before or end - head > cap):
            head += 1
        if head == start:
            return []
        self.head = head
        return items[start:head]

    def compact(self) -> int:
        """Drop the entries behind the head once they are most of the list; how many."""
        head = self.head
        if head > 64 and head * 2 > len(self.items):
            del self.items[:head]
            self.head = 0
            return head
        return 0

    def ids(self) -> list[str]:
        """The event ids in the window, oldest first."""
        return [item[3] for item in self.items[self.head :]]


K = TypeVar("K", str, int)


def bump(counts: dict[K, int], key: K, by: int) -> None:
    """Add ``by`` to ``counts[key]``; a count that reaches zero is removed."""
    left = counts.get(key, 0) + by
    if left:
        counts[key] = left
    else:
        del counts[key]


BASELINE_LAG_MIN: Final = 5
"""Minutes before a completed minute's rate joins a client's (or the portal's) baseline."""


class Rate(msgspec.Struct, kw_only=True, gc=False):
    """Requests per event-time minute, and a decaying peak of past minutes (the baseline)."""

    minute: int = -1
    count: int = 0
    prev: int = 0
    peak: float = 0.0
    history: int = 0
    """Completed minutes seen (the baseline's warm-up)."""
    agents: list[int] = msgspec.field(default_factory=list)
    """Distinct user agents this minute (tracked only when the rate is high)."""
    agents_before: list[int] = msgspec.field(default_factory=list)
    """Those of the minute before, if it was the last one: a minute just begun has seen few."""
    held: int = 0
    """Requests this minute that teach the baseline nothing: a client's that its own rule
    takes as a flood (counted in the rate all the same)."""
    unbounded: float = 0.0
    """The peak as the minutes would have lifted it without a rise bound: how busy the
    portal has been lately, which ends a flood (by the bounded peak, which lags a busy
    morning, a flood went on through hours of the day's traffic after it)."""
    rise_from: float = 0.0
    rise_minute: int = -1
    """The peak at the start of the hour it may rise in (:meth:`_teach`), and that minute."""
    recent: list[tuple[int, int]] = msgspec.field(default_factory=list)
    """(minute, requests) of the completed minutes not yet in ``peak``: a minute teaches the
    baseline only :data:`BASELINE_LAG_MIN` minutes later, so the first, partial minute of a
    flood is not the peak the flood is compared with."""

    def add(
        self,
        ts: float,
        half_life_s: float,
        flooding: bool,
        teaches: bool = True,
        rise: float = 0.0,
    ) -> float:
        """Count one request at ``ts`` (one that ``teaches`` the baseline nothing is held
        apart); the sliding one-minute rate. With a ``rise``, a minute lifts the peak by at
        most that factor per hour (:meth:`_teach`)."""
        minute = int(ts // 60)
        if minute != self.minute:
            if minute > self.minute:
                self._roll(minute, half_life_s, flooding, rise)
            else:  # a late request in an earlier minute: count it in this one
                minute = self.minute
        self.count += 1
        if not teaches:
            self.held += 1
        return self.count + self.prev * (1.0 - (ts - minute * 60) / 60.0)

    def _roll(self, minute: int, half_life_s: float, flooding: bool, rise: float) -> None:
        gap = minute - self.minute if self.minute >= 0 else 1
        if self.minute >= 0:
            decay = math.pow(0.5, gap * 60.0 / half_life_s)
            self.peak *= decay
            self.unbounded *= decay
            recent = self.recent
            if not flooding:  # a flood must not teach the baseline that floods are normal
                recent.append((self.minute, self.count - self.held))
            while recent and recent[0][0] <= minute - BASELINE_LAG_MIN:
                self._teach(*recent.pop(0), rise)
            self.history += gap
        self.prev = self.count if gap == 1 else 0
        self.count = self.held = 0
        self.minute = minute
        self.agents_before = self.agents if gap == 1 else []
        self.agents = []

    def _teach(self, minute: int, count: int, rise: float) -> None:
        """Let a completed ``minute`` of ``count`` requests lift the peak: to it, or with a
        ``rise`` (a factor per hour, 0: none) to ``rise`` times the peak at the start of the
        hour at most, so that each hour of busier minutes lifts it that factor at most (a
        bound on each minute instead would hold it back further on a noisy ramp, whose
        minutes only now and then top the peak). A peak of nothing yet learns as it is."""
        lifted = float(count)
        self.unbounded = max(self.unbounded, lifted)
        if rise > 0.0 and self.peak > 0.0:
            if self.rise_minute < 0 or minute - self.rise_minute >= 60:
                self.rise_from, self.rise_minute = self.peak, minute
            lifted = min(lifted, rise * self.rise_from)
        self.peak = max(self.peak, lifted)


class Scan(msgspec.Struct, kw_only=True, gc=False):
    """Missed requests (403/404...) in the window and their distinct paths; all requests too."""

    misses: Queue = msgspec.field(default_factory=Queue)
    paths: dict[str, int] = msgspec.field(default_factory=dict)
    ring_slot: list[int] = msgspec.field(default_factory=lambda: [-1] * RING)
    ring_count: list[int] = msgspec.field(default_factory=lambda: [0] * RING)
    """All requests per tenth of the window (a ring of slots)."""

    long_misses: Queue = msgspec.field(default_factory=Queue)
    long_paths: dict[str, int] = msgspec.field(default_factory=dict)
    """The same over the long window (a slow scan, or one interleaved with normal pages)."""
    long_slot: list[int] = msgspec.field(default_factory=lambda: [-1] * RING)
    long_count: list[int] = msgspec.field(default_factory=lambda: [0] * RING)

    def count(self, ts: float, window_s: float, long_s: float = 0.0) -> None:
        """Count one request of any kind (in the long window's ring too, if one is given)."""
        _ring_add(self.ring_slot, self.ring_count, ts, window_s)
        if long_s > 0:
            _ring_add(self.long_slot, self.long_count, ts, long_s)

    def requests(self, ts: float, window_s: float) -> int:
        """Requests of any kind in the window ending at ``ts``."""
        return _ring_sum(self.ring_slot, self.ring_count, ts, window_s)

    def long_requests(self, ts: float, long_s: float) -> int:
        """Requests of any kind in the long window ending at ``ts``."""
        return _ring_sum(self.long_slot, self.long_count, ts, long_s)


def _ring_add(slots: list[int], counts: list[int], ts: float, window_s: float) -> None:
    slot = int(ts * RING // window_s)
    i = slot % RING
    if slots[i] != slot:
        slots[i] = slot
        counts[i] = 0
    counts[i] += 1


def _ring_sum(slots: list[int], counts: list[int], ts: float, window_s: float) -> int:
    now = int(ts * RING // window_s)
    return sum(c for s, c in zip(slots, counts, strict=True) if now - s < RING)


class Objects(msgspec.Struct, kw_only=True, gc=False):
    """Citizen-record requests in the window: distinct ids, denials, sequential steps."""

    q: Queue = msgspec.field(default_factory=Queue)
    """k: ``prefix id``; n: bit 1 denied, bit 2 one step after the previous id, rest identity."""
    ids: dict[str, int] = msgspec.field(default_factory=dict)
    identities: dict[int, int] = msgspec.field(default_factory=dict)
    denied: int = 0
    steps: int = 0
    last_prefix: str = ""
    last_number: int = -1


class Logins(msgspec.Struct, kw_only=True, gc=False):
    """Login attempts in the long window: per account, per password bucket, and how fast."""

    q: Queue = msgspec.field(default_factory=Queue)
    """k: account; n: outcome (0 failed, 1 succeeded, 2 unknown) + 4 × (password bucket + 1)."""
    short_head: int = 0
    short_suspect: int = 0
    fast_until: float = -math.inf
    """The time the attempts were last fast enough for the login-abuse detector's window."""
    accounts: dict[str, int] = msgspec.field(default_factory=dict)
    failed: dict[str, int] = msgspec.field(default_factory=dict)
    succeeded: dict[str, int] = msgspec.field(default_factory=dict)
    unresolved: int = 0
    """Accounts with failed attempts and no success in the window."""
    passwords: dict[int, int] = msgspec.field(default_factory=dict)
    known_outcomes: int = 0
    with_password: int = 0


class Actions(msgspec.Struct, kw_only=True, gc=False):
    """Business actions in the window: per kind, and per kind and identity."""

    q: Queue = msgspec.field(default_factory=Queue)
    """k: kind; n: identity + 2**32 × user agent (32-bit hashes)."""
    kinds: dict[str, int] = msgspec.field(default_factory=dict)
    pairs: dict[str, int] = msgspec.field(default_factory=dict)
    """Actions per ``kind identity`` and per ``kind aAGENT``."""
    identities: dict[str, int] = msgspec.field(default_factory=dict)
    """Distinct identities (sessions, else user agents) per kind."""
    agents: dict[str, int] = msgspec.field(default_factory=dict)
    """Distinct user agents per kind."""


class RuleEpisode(msgspec.Struct, kw_only=True, gc=False):
    """One open detection of a rule on a key, with the figures of its last emission."""

    episode: Episode
    total: int = 0
    """Events of the episode, beyond the evidence cap too."""
    stats: dict[str, object] = msgspec.field(default_factory=dict)
    floor: float = 0.0
    """A flood's: the rate (requests per minute) below which a request is no longer part of
    it, so that the episode ends when the rate falls back."""
    peak: float = 0.0
    """A flood's: its highest rate so far, beyond the evidence cap too."""
    baseline: float = -1.0
    """A flood's: the usual rate it was compared with when it fired (-1: not kept, an older
    checkpoint's), so that what it says is usual is not what the flood itself taught."""
    tally: Tally | None = None
    """A portal-wide flood's: who sent its requests (crowd or DoS, :mod:`.behaviour_crowd`)."""
    dos: bool = False
    """A portal-wide flood's: once it showed a DoS sign it stays a DoS."""
    botnet: bool = False
    """A portal-wide flood's: once its browsers lacked a browser's habits it stays a botnet."""


class BehaviourState(msgspec.Struct, kw_only=True, gc=False):
    """The state of one key (a client, a session, an account, or the whole portal)."""

    rate: Rate | None = None
    scan: Scan | None = None
    objects: Objects | None = None
    logins: Logins | None = None
    actions: Actions | None = None
    sources: list[str] = msgspec.field(default_factory=list)
    """Distinct clients of a session or account key (a few)."""
    open: dict[str, RuleEpisode] = msgspec.field(default_factory=dict)
    address: str | None = None
    """The client's raw address, kept only while one of its episodes is open."""
    top: dict[str, int] = msgspec.field(default_factory=dict)
    """Heavy hitters during a portal-wide flood (:mod:`.behaviour_heavy`, lower bounds of
    their requests)."""
    top_addresses: dict[str, str] = msgspec.field(default_factory=dict)
    """The raw addresses of those heavy hitters, kept only while the flood is open: the
    measure against a denial of service's heaviest sources names them."""
    tally: Tally | None = None
    """The portal's: who sent this minute's requests, kept only near flood rates."""
    tally_before: Tally | None = None
    """The portal's: the same of the minute before."""
    habits: Habits | None = None
    """The portal's: what its browser requests usually carry, learned outside floods."""
    due: float = -math.inf
    """Before this watermark a sweep has nothing to do on the key (see ``_due``)."""
