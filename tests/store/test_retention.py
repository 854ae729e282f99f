"""The retention policy: ``citywatch prune`` and the pass ``citywatch serve`` runs each day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citywatch.cli import app
from citywatch.config import load_settings
from citywatch.errors import ConfigError
from citywatch.model import DeadLetter
from citywatch.store import open_store
from citywatch.store.retention import Pruner, RetentionConfig, prune

NOW = datetime.now(tz=UTC)


def _letter(position: int, days_ago: float) -> DeadLetter:
    return DeadLetter(
        source="api/1",
        position=position,
        stage="ingest",
        format="access-log",
        code="bad-line",
        reason="not a combined log line",
        raw=b"203.0.113.9 maria.ounapuu@example.org",
        received=(NOW - timedelta(days=days_ago)).timestamp(),
    )


def _store_with_letters(data: Path) -> str:
    url = load_settings(data_dir=data).store
    store = open_store(url)
    try:
        store.add_dead_letters("run-1", [_letter(1, 45), _letter(2, 10)])
    finally:
        store.close()
    return url


def test_prune_on_the_command_line_counts_first_then_deletes(tmp_path: Path) -> None:
    url = _store_with_letters(tmp_path)
    dry = CliRunner().invoke(app, ["prune", "--dry-run", "--data-dir", str(tmp_path)])
    assert dry.exit_code == 0, dry.output
    assert "would be deleted" in dry.output
    assert "dead letters" in dry.output and "30 days" in dry.output
    store = open_store(url)
    assert len(store.dead_letters()) == 2, "a dry run deletes nothing"
    store.close()
    done = CliRunner().invoke(app, ["prune", "--data-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    store = open_store(url)
    try:
        assert [x.position for x in store.dead_letters()] == [2], "the 45-day-old one went"
    finally:
        store.close()


def test_zero_days_keeps_for_ever(tmp_path: Path) -> None:
    store = open_store(_store_with_letters(tmp_path))
    try:
        forever = RetentionConfig(dead_letters_days=0, closed_incidents_days=0)
        assert prune(store, forever, NOW).dead_letters == 0
        assert len(store.dead_letters()) == 2
        assert prune(store, RetentionConfig(dead_letters_days=5), NOW).dead_letters == 2
    finally:
        store.close()


def test_the_policy_is_a_setting_checked_at_load(tmp_path: Path) -> None:
    toml = tmp_path / "citywatch.toml"
    toml.write_text("[retention]\ndead_letters_days = 7\n")
    assert load_settings(toml).retention.dead_letters_days == 7
    toml.write_text("[retention]\ndead_letters_days = -1\n")
    with pytest.raises(ConfigError, match="dead_letters_days"):
        load_settings(toml)


def test_the_server_prunes_at_start_in_the_background(tmp_path: Path) -> None:
    store = open_store(_store_with_letters(tmp_path))
    pruner = Pruner(store, RetentionConfig())
    try:
        pruner.start()
        deadline = time.monotonic() + 10
        while len(store.dead_letters()) == 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [x.position for x in store.dead_letters()] == [2]
    finally:
        pruner.stop()
        store.close()
