"""The IoT simulator's records before they are written: one small tuple per line.

Each record knows its time, which file it goes to and its ground truth; the
writer (:mod:`citywatch.simulate.iot.write`) sorts them by time and renders
them as Zeek TSV, ``mqtt-jsonl`` or ``http-jsonl``.
"""

from __future__ import annotations

from random import Random
from typing import NamedTuple

from citywatch.simulate.records import BENIGN, Label

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Conn(NamedTuple):
    """One Zeek conn.log record (the fields the simulator varies)."""

    uid: str
    src: str
    sport: int
    dst: str
    dport: int
    proto: str
    service: str
    duration: float
    orig_bytes: int
    resp_bytes: int
    state: str
    history: str


class Dns(NamedTuple):
    """One Zeek dns.log record: an A query and its answers."""

    uid: str
    src: str
    sport: int
    dst: str
    query: str
    answers: tuple[str, ...]


class Rec(NamedTuple):
    """A record of any kind: ``conn``, ``dns``, ``mqtt`` (a telemetry dict) or ``http``."""

    ms: int
    kind: str
    row: object
    label: Label = BENIGN


def uid(rng: Random, prefix: str = "C") -> str:
    """A Zeek-style connection uid (a letter and 17 base-62 characters)."""
    bits = rng.getrandbits(102)
    chars = []
    for _ in range(17):
        bits, digit = divmod(bits, 62)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)


def conn(
    rng: Random,
    ms: int,
    src: str,
    dst: str,
    dport: int,
    *,
    proto: str = "tcp",
    service: str = "-",
    orig: int = 0,
    resp: int = 0,
    state: str = "SF",
    label: Label = BENIGN,
) -> Rec:
    """A conn record from ``src`` to ``dst:dport``; S0 and REJ carry no payload."""
    done = state == "SF"
    history = {"SF": "ShADadFf", "S0": "S", "REJ": "Sr"}.get(state, "S")
    if proto == "udp":
        history = "Dd"
    duration = rng.uniform(0.01, 2.0) if done else 0.0
    return Rec(
        ms,
        "conn",
        Conn(
            uid(rng),
            src,
            32768 + int(rng.random() * 28000),
            dst,
            dport,
            proto,
            service,
            duration,
            orig if done else 0,
            resp if done else 0,
            state,
            history,
        ),
        label,
    )
