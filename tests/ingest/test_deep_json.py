"""A JSON line nested too deep for the decoder is a dead letter, for every JSON-lines adapter."""

from __future__ import annotations

import pytest

from citywatch.ingest import ADAPTERS
from citywatch.model import DeadLetter

DEEP = b'{"a":' + b"[" * 400_000 + b"]" * 400_000 + b"}"
"""Valid JSON, under the line limit, deeper than the decoder recurses."""
JSON_LINES = ["http-jsonl", "mqtt-jsonl", "phone-triggers", "felt-reports", "posts-jsonl"]


@pytest.mark.parametrize("fmt", JSON_LINES)
def test_a_line_nested_too_deep_is_a_dead_letter(fmt: str) -> None:
    items = list(ADAPTERS[fmt]().parse("deep.jsonl", [DEEP]))
    assert len(items) == 1 and isinstance(items[0], DeadLetter)
    assert items[0].code == "bad-json" and "recursion" in items[0].reason
