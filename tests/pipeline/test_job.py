from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import ClassVar

import pytest

from citywatch.app import analyse, build_job
from citywatch.bus import DEAD_LETTERS, LocalBus
from citywatch.config import load_settings
from citywatch.correlate import Correlator
from citywatch.detect.portal import LoginAbuse
from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.errors import InputError
from citywatch.model import DeadLetter, Event, HttpRequest
from citywatch.pipeline import InputSpec, Job, inputs, read_lines
from citywatch.plugins import build_adapters
from citywatch.store import open_store

LINE = '{ip} - - [14/Mar/2026:08:{m:02d}:{s:02d} +0100] "{req} HTTP/1.1" {st} 10 "-" "ua"\n'


def _log(path: Path, rows: list[tuple[int, int, str, str, int]]) -> Path:
    path.write_text(
        "".join(LINE.format(m=m, s=s, ip=ip, req=req, st=st) for m, s, ip, req, st in rows)
    )
    return path


def _stuffing(ip: str, minute: int) -> list[tuple[int, int, str, str, int]]:
    return [(minute, s, ip, "POST /login", 401) for s in range(0, 48, 4)]


_GET = HttpRequest(method="GET", uri="/")


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(data_dir=tmp_path / "data")


def test_inputs_merge_by_event_time_and_fuse(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = _log(tmp_path / "a.log", [*_stuffing("198.51.100.1", 1), (50, 0, "10.0.0.1", "GET /", 200)])
    b = _log(tmp_path / "b.log", _stuffing("198.51.100.2", 3))
    result = analyse(
        settings,
        [InputSpec.parse(f"access-log:{a}"), InputSpec.parse(f"access-log:{b}")],
        None,
        command="t",
    )
    assert result.stats.late == 0, "the later file is merged by time, not read after the first"
    assert result.stats.events == {str(a): 13, str(b): 12}
    (incident,) = result.job.correlator.incidents()
    assert len(incident.detections) == 2
    assert sorted(incident.entities["source.ip"]) == ["198.51.100.1", "198.51.100.2"]
    evidence = {e for d in result.job.detections() for e in d.evidence}
    assert f"{a}:1" in evidence and f"{b}:12" in evidence


def test_late_events_become_dead_letters(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    on_time = [(30, s, "10.0.0.1", "GET /", 200) for s in range(3)]  # the watermark's quorum
    log = _log(tmp_path / "late.log", [*on_time, (1, 0, "10.0.0.2", "GET /late", 200)])
    bus = LocalBus()
    dead: list[str] = []
    bus.subscribe(DEAD_LETTERS, lambda items: dead.extend(d.code for d in items))
    job = build_job(settings, bus)
    stats = job.run([InputSpec.parse(f"access-log:{log}")])
    assert stats.late == 1 and dead == ["late"]
    assert stats.dead_letters == {f"{log} late": 1}


def test_a_late_post_is_a_dead_letter_that_names_nobody(settings) -> None:  # type: ignore[no-untyped-def]
    bus = LocalBus()
    dead: list[DeadLetter] = []
    bus.subscribe(DEAD_LETTERS, dead.extend)
    job = build_job(settings, bus)
    first = [
        b'{"id": "p%d", "created_at": "2026-03-14T12:00:00Z", "text": "sunny", "author": "bob"}' % i
        for i in range(3)
    ]
    late = (
        b'{"id": "p9", "created_at": "2026-03-14T10:00:00Z", "author": "alice_w",'
        b' "text": "fire near the cathedral, ask @carol_k", "url": "https://m.example/@alice_w/2"}'
    )
    job.feed("posts-jsonl", "batch-1", first)
    job.feed("posts-jsonl", "batch-2", [late])
    (letter,) = dead
    assert letter.code == "late" and b"fire near the cathedral" in letter.raw
    for handle in (b"alice_w", b"carol_k"):
        assert handle not in letter.raw.lower() and handle.decode() not in letter.reason
    assert json.loads(letter.raw)["@timestamp"], "a field name is no handle: the time is kept"


def test_a_record_from_a_wrong_clock_cannot_blind_the_stream(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # One phone's clock a year ahead: before, it moved the watermark and every record after it
    # was late, so the earthquake those records showed went unseen.
    rows = [(1, s, "10.0.0.1", "GET /", 200) for s in range(0, 40, 4)]
    log = _log(tmp_path / "a.log", rows)
    lines = log.read_text().splitlines(keepends=True)
    lines.insert(2, lines[0].replace("2026", "2027"))  # far ahead of this machine's clock
    lines.insert(5, lines[0].replace("08:01", "09:30"))  # ahead of the stream, not of the clock
    log.write_text("".join(lines))
    bus = LocalBus()
    dead: list[DeadLetter] = []
    bus.subscribe(DEAD_LETTERS, dead.extend)
    stats = build_job(settings, bus).run([InputSpec.parse(f"access-log:{log}")])
    (letter,) = dead
    assert letter.code == "future" and "ahead of this machine's clock" in letter.reason
    assert stats.future == 1 and stats.late == 0, "the rest of the stream is on time"


def test_a_live_batch_counts_what_the_pipeline_turned_back(settings) -> None:  # type: ignore[no-untyped-def]
    # The ingest API answered "accepted" for records the pipeline then dropped as late.
    job = build_job(settings, LocalBus())
    line = '{"id": "r%d", "method": "GET", "uri": "/", "@timestamp": "%s"}'
    now = [(line % (i, "2026-03-14T12:00:00Z")).encode() for i in range(3)]
    assert job.feed("http-jsonl", "b1", now).events == 3
    fed = job.feed(
        "http-jsonl",
        "b2",
        [
            (line % (9, "2026-03-14T10:00:00Z")).encode(),
            (line % (8, "2099-01-01T00:00:00Z")).encode(),
        ],
    )
    assert fed.events == 0 and sorted(d.code for d in fed.dead_letters) == ["future", "late"]


def test_the_watermark_follows_what_a_quorum_of_records_reached(settings) -> None:  # type: ignore[no-untyped-def]
    job = build_job(settings, LocalBus(), None)
    events = [
        Event(id=f"e{i}", timestamp=ts, dataset="portal.http", observer="t", payload=_GET)
        for i, ts in enumerate([1000.0, 5000.0, 1001.0, 5001.0, 5002.0, 1002.0, 4800.0])
    ]
    job.process(events[:2])
    assert job.watermark == -math.inf, "until three records have a time, there is none"
    job.process(events[2:3])
    assert job.watermark == 1000.0 - job.lateness_s, "one record ahead is not the stream's time"
    job.process(events[3:5])
    assert job.watermark == 5000.0 - job.lateness_s
    job.process(events[5:])
    assert job.stats.late == 1, "1002 is behind; 4800 is within the lateness"


def test_a_rotated_gzip_log_is_read_as_it_is(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A gzip log gave 583 dead letters (bad-line) and no hint; logs are rotated as .gz.
    plain = _log(tmp_path / "a.log", _stuffing("198.51.100.5", 1))
    zipped = tmp_path / "a.log.1.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    read: list[int] = []
    assert list(read_lines(zipped, read.append)) == plain.read_bytes().splitlines(keepends=True)
    assert sum(read) == zipped.stat().st_size, "progress in the file's own bytes"
    result = analyse(settings, [InputSpec.parse(f"access-log:{zipped}")], None, command="t")
    assert result.stats.events[str(zipped)] == 12 and not result.stats.dead_letters
    zipped.write_bytes(zipped.read_bytes()[:-12])  # cut short, as one still being written
    with pytest.raises(InputError, match="broken gzip data"):
        list(read_lines(zipped))


def test_a_gzip_log_cut_short_keeps_its_lines_and_the_run_goes_on(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A rotated log copied mid-write stopped the whole run (exit 2): no output, the other
    # files' results lost, a run left unfinished in the store.
    whole = _log(tmp_path / "b.log", _stuffing("198.51.100.7", 1))
    rows = [row for minute in range(2, 60) for row in _stuffing(f"198.51.100.{minute}", minute)]
    plain = _log(tmp_path / "a.log", rows)
    cut = tmp_path / "a.log.1.gz"
    packed = gzip.compress(plain.read_bytes())
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    broken: list[tuple[int, str]] = []
    lines = list(read_lines(cut, on_break=lambda at, why: broken.append((at, why))))
    assert 0 < len(lines) < len(plain.read_bytes().splitlines())
    assert lines == plain.read_bytes().splitlines(keepends=True)[: len(lines)]
    assert broken and broken[0][0] == len(lines) + 1
    specs = [InputSpec.parse(f"access-log:{whole}"), InputSpec.parse(f"access-log:{cut}")]
    result = analyse(settings, specs, None, command="t")
    stats = result.stats
    assert stats.events[str(whole)] == 12
    assert stats.events[str(cut)] == len(lines) - stats.dead_letters.get(f"{cut} bad-line", 0)
    assert stats.dead_letters[f"{cut} truncated"] == 1
    assert stats.records[str(cut)] == stats.events[str(cut)] + sum(
        n for k, n in stats.dead_letters.items() if k.startswith(f"{cut} ")
    )


def test_a_line_without_end_is_cut_not_held_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 100 MB file with no line break was read as one line: 290 MB of memory, and a file
    # of gigabytes would have filled it.
    monkeypatch.setattr(inputs, "LINE_CAP", 16)
    path = tmp_path / "x.log"
    path.write_bytes(b"a" * 100 + b"\nshort\n" + b"b" * 40)
    assert list(read_lines(path)) == [b"a" * 16, b"short\n", b"b" * 16]


def test_learn_inputs_are_not_analysed(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    learn = _log(tmp_path / "learn.log", _stuffing("198.51.100.3", 1))
    clean = _log(tmp_path / "clean.log", [(5, 0, "10.0.0.1", "GET /", 200)])
    result = analyse(
        settings,
        [
            InputSpec.parse(f"access-log:{learn}", learn=True),
            InputSpec.parse(f"access-log:{clean}"),
        ],
        None,
        command="t",
    )
    assert result.job.detections() == []
    assert result.stats.learned == {str(learn): 12}


def test_bad_inputs_fail_fast(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="unknown format"):
        analyse(settings, [InputSpec.parse(f"nope:{tmp_path}")], None, command="t")
    with pytest.raises(InputError, match="no such file"):
        analyse(settings, [InputSpec.parse(f"access-log:{tmp_path}/missing")], None, command="t")
    with pytest.raises(InputError, match="FORMAT:PATH"):
        InputSpec.parse("just-a-path")
    with pytest.raises(InputError, match="a directory: name the files in it"):  # was "no such"
        analyse(settings, [InputSpec.parse(f"access-log:{tmp_path}")], None, command="t")
    log = _log(tmp_path / "a.log", [(1, 0, "10.0.0.1", "GET /", 200)])
    twice = [
        InputSpec.parse(f"access-log:{log}"),
        InputSpec.parse(f"access-log:{tmp_path}/./a.log"),
    ]
    with pytest.raises(InputError, match="given twice"):  # its records counted twice
        analyse(settings, twice, None, command="t")
    job = build_job(settings, LocalBus())
    assert job.learns("http-jsonl") and job.learns("zeek-conn") and not job.learns("news-feed")


def test_results_and_dead_letters_reach_the_store(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = _log(tmp_path / "s.log", _stuffing("198.51.100.4", 1))
    with log.open("a") as fh:
        fh.write("this is not a log line\n")
    store = open_store(settings.store)
    try:
        result = analyse(settings, [InputSpec.parse(f"access-log:{log}")], store, command="t")
        assert [d.id for d in store.detections()] == [d.id for d in result.job.detections()]
        assert [i.id for i in store.incidents()] == [
            i.id for i in result.job.correlator.incidents()
        ]
        (letter,) = store.dead_letters()
        assert letter.code == "bad-line" and letter.position == 13
        assert letter.raw == b"this is not a log line\n"
        (run,) = store.runs()
        assert run.finished is not None and run.stats[f"records.{log}"] == 13
        assert store.load_state("detector/login-abuse") is not None
    finally:
        store.close()


def test_checkpoint_resume_gives_the_same_incident(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = _log(tmp_path / "1.log", _stuffing("198.51.100.5", 1))
    second = _log(tmp_path / "2.log", _stuffing("198.51.100.6", 3))
    store = open_store(settings.store)
    try:
        job = build_job(settings, LocalBus())
        job.run([InputSpec.parse(f"access-log:{first}")])
        job.save(store)
        resumed = build_job(settings, LocalBus())
        assert resumed.restore(store)
        resumed.run([InputSpec.parse(f"access-log:{second}")])
        (incident,) = resumed.correlator.incidents()
        assert len(incident.entities["source.ip"]) == 2
        whole = build_job(settings, LocalBus())
        whole.run([InputSpec.parse(f"access-log:{first}"), InputSpec.parse(f"access-log:{second}")])
        assert [i.id for i in whole.correlator.incidents()] == [incident.id]
    finally:
        store.close()


class _Learner(LoginAbuse):
    """login-abuse plus a learned counter, to test that learned models are checkpointed."""

    name: ClassVar[str] = "learner"

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def learn(self, event: Event) -> None:
        self.seen += 1

    def snapshot_model(self) -> bytes | None:
        return str(self.seen).encode()

    def restore_model(self, blob: bytes) -> None:
        self.seen = int(blob)


def test_learned_models_survive_a_restart(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    learn = _log(tmp_path / "learn.log", [(1, s, "10.0.0.1", "GET /", 200) for s in range(7)])

    def job() -> Job:
        return Job(
            adapters=build_adapters(),
            enricher=Enricher(Pseudonymiser(b"k" * 32)),
            detectors=[_Learner()],
            correlator=Correlator(),
            bus=LocalBus(),
        )

    store = open_store(settings.store)
    try:
        first = job()
        first.run([InputSpec.parse(f"access-log:{learn}", learn=True)])
        first.save(store)
        second = job()
        assert second.restore(store)
        assert second.runners[0].detector.seen == 7  # type: ignore[attr-defined]
    finally:
        store.close()


def test_a_detector_failing_on_text_no_encoder_takes_leaves_a_dead_letter_not_a_crash(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # A plug-in adapter may hand over text with a lone surrogate (decoded with surrogateescape,
    # say); the built-in ones cannot (msgspec refuses it, logs are decoded with replacements).
    # A detector that trips on it is isolated, and its dead letter keeps the event as JSON.
    bus = LocalBus()
    letters: list[DeadLetter] = []
    bus.subscribe(DEAD_LETTERS, letters.extend)
    job = build_job(settings, bus)
    request = HttpRequest(method="GET", uri="/tax/file/\udeff\u5b57", version="HTTP/1.1")
    job.process([Event(id="odd", timestamp=1.7e9, dataset="portal.http", payload=request)])
    job.process([Event(id="next", timestamp=1.7e9 + 1, dataset="portal.http",
                       payload=HttpRequest(method="GET", uri="/alerts"))])  # fmt: skip
    job.flush()
    assert job.stats.plugin_errors, "the surrogate trips a detector (else this test is moot)"
    assert {letter.code for letter in letters} == {"plugin-error"}
    raw = json.loads(letters[0].raw)
    assert raw["id"] == "odd" and raw["payload"]["url.original"] == "/tax/file/?\u5b57"
