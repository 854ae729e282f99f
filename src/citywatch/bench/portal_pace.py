"""Speed side by side: every tool over the same parsed requests, taking turns.

This machine is shared and its load drifts: a tool timed alone for ten
seconds, then another for ten seconds, may meet different loads, and the
ratio of their speeds then says more about the machine than about them.
Here the tools take turns of :data:`TURN` requests (citywatch first, then
each peer, then the next turn), each turn timed with ``time.process_time``,
so a load that comes and goes falls on all of them alike; the ratio of the
summed CPU seconds is what the benchmark reports.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol

from citywatch.bench.portal_peers import captured_stderr
from citywatch.model import Event, HttpRequest

if TYPE_CHECKING:
    from citywatch.pipeline import Job

TURN: Final = 256
"""Requests per turn: long enough to time, short against the load's drift."""


class Inspector(Protocol):
    """A peer as the pace needs it."""

    def flags(self, ip: str, request: HttpRequest) -> bool: ...


def paced(
    job: Job, name: str, peers: Mapping[str, Inspector], events: list[Event]
) -> dict[str, float]:
    """CPU seconds of ``job`` (as ``name``: process the events, then flush) and of each
    peer (flag each request; one that raises is counted, not stopped) over ``events``."""
    cpu = dict.fromkeys([name, *peers], 0.0)
    clock = time.process_time
    stderr: list[str] = []
    with captured_stderr(stderr):
        for start in range(0, len(events), TURN):
            turn = events[start : start + TURN]
            began = clock()
            job.process(turn)
            cpu[name] += clock() - began
            requests = [
                (e.source_ip or "0.0.0.0", e.payload)  # noqa: S104
                for e in turn
                if isinstance(e.payload, HttpRequest)
            ]
            for peer_name, peer in peers.items():
                began = clock()
                _flag_all(peer, requests)
                cpu[peer_name] += clock() - began
        began = clock()
        job.flush()
        cpu[name] += clock() - began
    return cpu


def _flag_all(peer: Inspector, requests: list[tuple[str, HttpRequest]]) -> None:
    flags = peer.flags
    for ip, request in requests:
        try:
            flags(ip, request)
        except Exception:  # noqa: S112 - counted by the peer's own run, timed here alike
            continue
