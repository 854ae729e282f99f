"""Dead letters: input that could not become an event, kept with the reason."""

from __future__ import annotations

import msgspec


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record that a stage could not process.

    ``source`` names the input (a path, an MQTT topic...), ``position`` where
    in it (line number, offset), ``reason`` says what was wrong in words a
    person can act on and ``code`` is its stable short form for counting
    (``bad-json``, ``missing-field``...). ``raw`` keeps the bytes as they arrived (capped at
    :data:`RAW_LIMIT`). ``received`` is wall-clock epoch seconds.
    """

    source: str
    position: int
    stage: str
    format: str
    code: str
    reason: str
    raw: bytes
    received: float


RAW_LIMIT = 65536
"""Bytes of a bad record kept in its dead letter."""
