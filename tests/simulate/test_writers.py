"""The writers: nginx escaping, local times, and the streaming benchmark log."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywatch.simulate import write_access_log
from citywatch.simulate.campaign import SQLI
from citywatch.simulate.records import BENIGN, Label
from citywatch.simulate.writers import Clock, TruthLines, TruthRecord, escape

from .test_outputs import CLF, unescape

MS_2000_2100 = st.integers(min_value=946_684_800_000, max_value=4_102_444_800_000)
OFFSETS = st.integers(min_value=-12 * 60, max_value=14 * 60)


@given(st.text(max_size=60))
def test_escape_is_safe_and_reversible(text: str) -> None:
    escaped = escape(text)
    assert '"' not in escaped
    assert escaped.isascii()
    assert escaped.isprintable()
    assert unescape(escaped) == text


@given(MS_2000_2100, OFFSETS)
def test_clock_agrees_with_datetime(ms: int, offset_min: int) -> None:
    tz = timezone(timedelta(minutes=offset_min))
    expected = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    clock = Clock(offset_min)
    assert datetime.fromisoformat(clock.iso(ms)) == expected.replace(microsecond=(ms % 1000) * 1000)
    assert clock.iso(ms)[-6:] == expected.isoformat()[-6:]
    assert datetime.strptime(clock.clf(ms), "%d/%b/%Y:%H:%M:%S %z") == expected.replace(
        microsecond=0
    )


@given(st.integers(min_value=1, max_value=10**8), st.sampled_from([BENIGN, SQLI]))
def test_truth_lines_are_what_msgspec_writes(n: int, label: Label) -> None:
    line = TruthLines('a "b".log').line(label, n)
    record = msgspec.json.decode(line, type=TruthRecord)
    assert record.id == f"req-{n:06d}"
    assert record.line == n
    assert record.file == 'a "b".log'
    assert msgspec.json.encode(record).decode() + "\n" == line


@pytest.mark.parametrize("lines", [0, 1, 7, 4096, 4097])
def test_write_access_log_writes_exactly_n_lines(tmp_path: Path, lines: int) -> None:
    path, truth = tmp_path / "access.log", tmp_path / "truth.jsonl"
    assert write_access_log(path, lines, seed=2, truth_path=truth) == lines
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") == lines
    assert all(CLF.match(line) for line in text.splitlines())
    labels = [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines()]
    assert [t["line"] for t in labels] == list(range(1, lines + 1))
    assert all(t["file"] == "access.log" for t in labels)


def test_write_access_log_includes_the_campaign_and_is_deterministic(tmp_path: Path) -> None:
    n = 30_000
    write_access_log(tmp_path / "a.log", n, seed=5, truth_path=tmp_path / "a.truth")
    write_access_log(tmp_path / "b.log", n, seed=5)
    assert (tmp_path / "a.log").read_bytes() == (tmp_path / "b.log").read_bytes()
    labels = [json.loads(line) for line in (tmp_path / "a.truth").read_text().splitlines()]
    techniques = Counter(t["technique"] for t in labels if t["label"] == "malicious")
    assert techniques["scanner"] >= 150
    assert techniques["sqli"] >= 50
    assert techniques["credential-stuffing"] >= 240  # 12 proxies x 20+ accounts
    assert techniques["request-flood"] >= 2000 and techniques["record-enumeration"] >= 120
    # lines are time-ordered
    times = [
        datetime.strptime(m.group(2), "%d/%b/%Y:%H:%M:%S %z")
        for m in map(CLF.match, (tmp_path / "a.log").read_text().splitlines())
        if m is not None
    ]
    assert len(times) == n
    assert times == sorted(times)
