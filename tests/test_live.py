from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from citywatch.config import load_settings
from citywatch.errors import InputError
from citywatch.live import LivePipeline, LiveUpdate
from citywatch.model import Suppression
from citywatch.store import open_store

LINE = (
    '198.51.100.{n} - - [14/Mar/2026:08:{m:02d}:{s:02d} +0100] "POST /login HTTP/1.1" 401 9 "-" "u"'
)


def _batch(n: int, minute: int) -> list[bytes]:
    return [LINE.format(n=n, m=minute, s=s).encode() for s in range(0, 48, 4)]


def test_batches_flow_to_store_and_subscribers_and_survive_restart(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    store = open_store(settings.store)
    try:
        live = LivePipeline(settings, store)
        seen: list[LiveUpdate] = []
        live.subscribe(seen.append)
        result = live.ingest("access-log", "api/1", [*_batch(1, 1), b"garbage"])
        assert (result.accepted, result.dead_letters) == (12, 1)
        assert result.reasons and result.reasons[0].startswith("13: not a combined")
        kinds = {u.kind for u in seen}
        assert kinds == {"detection", "incident", "dead_letter"}
        assert all("raw" not in u.data for u in seen if u.kind == "dead_letter")
        assert len(store.detections()) == 1
        live.close()

        restarted = LivePipeline(settings, store)
        assert restarted.resumed
        restarted.ingest("access-log", "api/2", _batch(2, 3))
        (incident,) = store.incidents()
        assert len(incident.detections) == 2, "the restart joined the same incident"
        with pytest.raises(InputError, match="unknown format"):
            restarted.ingest("nope", "api/3", [b"x"])
        restarted.close()
        assert len(store.runs()) == 2
    finally:
        store.close()


def test_a_suppression_made_or_ended_while_serving_holds_at_once(tmp_path: Path) -> None:
    # The correlator read the suppressions once, at start: one an analyst made while the
    # server ran held nothing until a restart, and one ended kept holding.
    settings = load_settings(data_dir=tmp_path)
    store = open_store(settings.store)
    try:
        live = LivePipeline(settings, store)
        live.ingest("access-log", "api/1", _batch(1, 1))
        assert [len(i.detections) for i in store.incidents()] == [1]
        now = datetime.now(tz=UTC)
        hold = Suppression(
            id="sup-1",
            owner="ana",
            reason="the city's own load test",
            created=now,
            expires=now + timedelta(days=1),
            entity={"source.ip": "198.51.100.2"},
        )
        store.save_suppression(hold)
        live.ingest("access-log", "api/2", _batch(2, 3))
        assert [len(i.detections) for i in store.incidents()] == [1], "held back"
        store.save_suppression(msgspec.structs.replace(hold, expires=now + timedelta(seconds=1)))
        time.sleep(1.1)  # the suppression ends
        live.ingest("access-log", "api/3", _batch(2, 6))
        assert [len(i.detections) for i in store.incidents()] == [2], "no longer held back"
        live.close()
    finally:
        store.close()


def test_a_long_running_server_forgets_incidents_quiet_for_a_week_but_the_store_keeps_them(
    tmp_path: Path,
) -> None:
    # The pipeline of `citywatch serve` kept every detection and incident it ever made in
    # memory (and in each checkpoint): months of running grew without bound.
    settings = load_settings(data_dir=tmp_path)
    store = open_store(settings.store)
    try:
        live = LivePipeline(settings, store)
        live.ingest("access-log", "api/1", _batch(1, 1))
        (first,) = live.job.latest
        live.ingest("access-log", "api/2", [x.replace(b"14/Mar", b"22/Mar") for x in _batch(2, 1)])
        assert first not in live.job.latest, "a week and a day later, forgotten in memory"
        assert len(live.job.latest) == 1
        assert live.job.correlator is not None and len(live.job.correlator) == 1
        assert first in {d.id for d in store.detections()}, "the store keeps it"
        assert len(store.incidents()) == 2
        live.close()
    finally:
        store.close()
