"""Scoring one record against its device's baseline and its class's, in O(1).

A connection's features (each 0..1; :data:`FEATURES` names them):

- ``new_peer``: the peer is new to the device (0.5 if its class knows it);
- ``new_service``: the port, in that direction, is new to the device (0.5 if its class knows it);
- ``failed``: the connection was not answered or was refused (S0, REJ, …);
- ``fanout``: new addresses in the scan window, relative to the scan threshold;
- ``burst``: connections to one peer in 10 s, relative to the flood threshold;
- ``remote_access``: telnet, SSH or a port bots use for C2 or spreading;
- ``lateral``: a device of a class this device's class never talks to.

The score is their weighted sum, capped at 1; the same features feed the
River and PyOD baselines in the benchmark.

>>> round(score((1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)), 2)
0.55
>>> entropy("aaaa"), round(entropy("ab"), 1)
(0.0, 1.0)
"""

from __future__ import annotations

import math
from typing import Final

FEATURES: Final = (
    "new_peer", "new_service", "failed", "fanout", "burst", "remote_access", "lateral",
)  # fmt: skip
WEIGHTS: Final = (0.35, 0.2, 0.1, 0.15, 0.15, 0.1, 0.2)
FAILED: Final = frozenset(("S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH", "S1"))
REMOTE_ACCESS: Final = frozenset((22, 23, 2323, 5555, 6667, 7547, 37215, 52869))
"""Telnet, SSH, ADB, IRC, TR-069 and the router ports Mirai and its kin use."""
LOGIN_PORTS: Final = frozenset((22, 23, 2323))

Features = tuple[float, float, float, float, float, float, float]


def score(features: Features) -> float:
    """The record's anomaly score, 0 (normal) to 1."""
    total = 0.0
    for weight, value in zip(WEIGHTS, features, strict=True):
        total += weight * value
    return min(1.0, total)


def novelty(item: str, own: set[str], group: set[str]) -> float:
    """0 if the device knows ``item``, 0.5 if only its class does, 1 if neither."""
    if item in own:
        return 0.0
    return 0.5 if item in group else 1.0


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) + 0.0


def generated_name(query: str, threshold: float) -> tuple[bool, float]:
    """Whether a domain's longest label looks machine-generated, and that label's entropy."""
    label = max(query.rstrip(".").split("."), key=len, default="")
    bits = entropy(label)
    return len(label) >= 10 and bits >= threshold, bits
