"""The contract every store implementation passes.

Each test runs once per entry of :data:`STORE_URLS`: the URL of an empty store
of the test's own, given the test's request (for its fixtures), which the
``store`` fixture opens (and migrates) with ``open_store`` and closes. The
PostgreSQL stores are fresh schemas in the session's database (``postgres`` in
``tests/conftest.py``): an unreachable server fails them, and only
``CITYWATCH_TEST_POSTGRES=off`` skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from citywatch.errors import StoreError
from citywatch.model import (
    Alert,
    DeadLetter,
    Detection,
    GeoPoint,
    Incident,
    IncidentStatus,
    PlaybookRun,
    StatusChange,
    StepRun,
    StepStatus,
    Suppression,
    from_epoch,
)
from citywatch.store import DeadLetterCount, RunInfo, Store, open_store
from citywatch.store.base import (
    ApiToken,
    AuditEntry,
    IncidentActivity,
    IncidentStatusConflictError,
    Session,
    StoredAlert,
    User,
)

STORE_URLS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite_file": lambda request: f"sqlite:///{request.getfixturevalue('tmp_path')}/contract.db",
    "sqlite_memory": lambda request: "sqlite:///:memory:",
    "postgresql": lambda request: str(request.getfixturevalue("postgres_url")),
}


@pytest.fixture(params=list(STORE_URLS))
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    opened = open_store(STORE_URLS[request.param](request))
    try:
        yield opened
    finally:
        opened.close()


T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CEST = timezone(timedelta(hours=2), "CEST")


def detection(
    detection_id: str = "det-1",
    *,
    at: datetime = T0,
    detector: str = "portal.bruteforce",
    **kw: object,
) -> Detection:
    base = Detection(
        id=detection_id,
        timestamp=at,
        detector=detector,
        rule_id="CW-P-0001",
        rule_name="Password spraying on the citizen portal",
        severity=60,
        confidence=0.8,
        category="cyber",
        summary="40 failed logins for 30 accounts from one address",
        entity={"source.ip": "203.0.113.7"},
        evidence=["ev-1"],
        first_seen=at,
        last_seen=at,
    )
    return msgspec.structs.replace(base, **kw)


def incident(
    incident_id: str,
    *,
    severity: int = 50,
    last_seen: datetime = T0,
    status: IncidentStatus = IncidentStatus.NEW,
    **kw: object,
) -> Incident:
    base = Incident(
        id=incident_id,
        title=f"incident {incident_id}",
        status=status,
        severity=severity,
        category="cyber",
        first_seen=T0 - timedelta(hours=1),
        last_seen=last_seen,
        detections=["det-1"],
    )
    return msgspec.structs.replace(base, **kw)


def letter(source: str, position: int, code: str = "bad-json", *, raw: bytes = b"{") -> DeadLetter:
    return DeadLetter(
        source=source,
        position=position,
        stage="ingest",
        format="jsonl",
        code=code,
        reason=f"{code} at {position}",
        raw=raw,
        received=1772359200.0 + position,
    )


def wire(value: object) -> bytes:
    """The exact JSON form: catches what ``==`` forgives (UTC offsets, 1 vs 1.0)."""
    return msgspec.json.encode(value)


def ids(items: list[Detection] | list[Incident]) -> list[str]:
    return [item.id for item in items]


# -- schema and protocol --------------------------------------------------------------------


def test_implements_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)
    assert isinstance(store.url, str)


def test_migrate_is_idempotent_and_keeps_data(store: Store) -> None:
    store.upsert_detections([detection("kept")])
    store.save_state("detector.x", b"state")
    store.migrate()
    store.migrate()
    assert ids(store.detections()) == ["kept"]
    assert store.load_state("detector.x") == b"state"


def test_a_new_store_is_empty(store: Store) -> None:
    assert store.runs() == []
    assert store.detections() == []
    assert store.incidents() == []
    assert store.dead_letters() == []
    assert store.dead_letter_counts() == []


# -- detections -----------------------------------------------------------------------------


def test_detection_round_trip_preserves_every_field(store: Store) -> None:
    original = detection(
        "det-ünïcödé",
        at=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=CEST),
        summary="Õun Müller Ñúñez — 東京 — 🚨 reported twice",
        entity={"user.id": "Õun Müller Ñúñez", "source.ip": "2001:db8::1"},
        evidence=[f"ev-{n:06d}" for n in range(100_000)],
        first_seen=datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
        last_seen=datetime(2026, 3, 1, 11, 0, 0, 1, tzinfo=UTC),
        geo=GeoPoint(lat=59.437, lon=24.7536, h3="891f1d48177ffff"),
        tags=["attack.T1110.003", "attack.t1078"],
        attributes={
            "ratio": 1.0,
            "count": 1,
            "none": None,
            "flags": [True, False],
            "nested": {"paths": {"/login": 40, "/reset": [1, 2.5, "x"]}, "empty": {}},
            "name": "Õun Müller Ñúñez",
        },
    )
    store.upsert_detections([original])
    loaded = store.detection(original.id)
    assert loaded == original
    assert wire(loaded) == wire(original)
    assert loaded is not None
    assert loaded.timestamp.utcoffset() == timedelta(hours=2)
    assert len(loaded.evidence) == 100_000
    assert wire(store.detections()) == wire([original])


def test_detection_minimal_defaults_round_trip(store: Store) -> None:
    original = detection("plain")
    store.upsert_detections([original])
    loaded = store.detection("plain")
    assert loaded is not None
    assert loaded.geo is None
    assert loaded.tags == []
    assert loaded.attributes == {}
    assert wire(loaded) == wire(original)


def test_upsert_replaces_by_id_as_evidence_grows(store: Store) -> None:
    store.upsert_detections([detection("d", evidence=["e1"]), detection("other")])
    grown = detection("d", evidence=["e1", "e2", "e3"], severity=80, last_seen=T0 + timedelta(1))
    store.upsert_detections([grown])
    assert store.detection("d") == grown
    assert sorted(ids(store.detections())) == ["d", "other"]


def test_upsert_moves_a_detection_in_time_and_between_detectors(store: Store) -> None:
    store.upsert_detections([detection("a", at=T0), detection("b", at=T0 + timedelta(minutes=5))])
    store.upsert_detections([detection("a", at=T0 + timedelta(minutes=10), detector="iot.telnet")])
    assert ids(store.detections()) == ["b", "a"]
    assert ids(store.detections(detector="iot.telnet")) == ["a"]
    assert ids(store.detections(detector="portal.bruteforce")) == ["b"]


def test_upsert_with_the_same_id_twice_in_one_batch_keeps_the_last(store: Store) -> None:
    store.upsert_detections([detection("d", severity=10), detection("d", severity=90)])
    loaded = store.detection("d")
    assert loaded is not None
    assert loaded.severity == 90
    assert len(store.detections()) == 1


def test_upsert_of_nothing_is_a_no_op(store: Store) -> None:
    store.upsert_detections([])
    store.upsert_incidents([])
    store.add_dead_letters("run-1", [])
    assert store.detections() == []


def test_detections_are_ordered_by_event_time_not_insertion(store: Store) -> None:
    minutes = [30, 5, 50, 0, 20]
    store.upsert_detections([detection(f"m{m}", at=T0 + timedelta(minutes=m)) for m in minutes])
    # 11:10+02:00 is 09:10 UTC: before every other one, though its wall-clock text sorts last.
    store.upsert_detections([detection("cest", at=datetime(2026, 3, 1, 11, 10, tzinfo=CEST))])
    assert ids(store.detections()) == ["cest", "m0", "m5", "m20", "m30", "m50"]


def test_detections_filters(store: Store) -> None:
    store.upsert_detections(
        [
            detection("p0", at=T0, detector="portal.bruteforce"),
            detection("i1", at=T0 + timedelta(minutes=1), detector="iot.telnet"),
            detection("p2", at=T0 + timedelta(minutes=2), detector="portal.bruteforce"),
            detection("i3", at=T0 + timedelta(minutes=3), detector="iot.telnet"),
            detection("p4", at=T0 + timedelta(minutes=4), detector="portal.bruteforce"),
        ]
    )
    assert ids(store.detections(detector="iot.telnet")) == ["i1", "i3"]
    assert ids(store.detections(detector="nobody")) == []
    # since is inclusive, and compares instants whatever the offset
    assert ids(store.detections(since=T0 + timedelta(minutes=2))) == ["p2", "i3", "p4"]
    assert ids(store.detections(since=datetime(2026, 3, 1, 12, 3, tzinfo=CEST))) == ["i3", "p4"]
    assert ids(store.detections(limit=2)) == ["p0", "i1"]
    assert ids(store.detections(limit=0)) == []
    assert ids(store.detections(limit=None)) == ["p0", "i1", "p2", "i3", "p4"]
    assert ids(store.detections(limit=2, offset=2)) == ["p2", "i3"], "the next page"
    assert ids(store.detections(offset=3)) == ["i3", "p4"]
    combined = store.detections(
        detector="portal.bruteforce", since=T0 + timedelta(seconds=1), limit=1
    )
    assert ids(combined) == ["p2"]


def test_unknown_detection_is_none(store: Store) -> None:
    store.upsert_detections([detection("known")])
    assert store.detection("unknown") is None
    assert store.detection("") is None


# -- incidents ------------------------------------------------------------------------------


def test_incidents_most_severe_first_then_most_recent(store: Store) -> None:
    store.upsert_incidents(
        [
            incident("low-new", severity=20, last_seen=T0 + timedelta(hours=5)),
            incident("high-old", severity=90, last_seen=T0),
            incident("mid-old", severity=50, last_seen=T0),
            incident("high-new", severity=90, last_seen=T0 + timedelta(hours=2)),
            # 13:00+02:00 is 11:00 UTC: older than high-new (12:00 UTC)
            incident("high-cest", severity=90, last_seen=datetime(2026, 3, 1, 13, 0, tzinfo=CEST)),
            incident("mid-new", severity=50, last_seen=T0 + timedelta(hours=1)),
        ]
    )
    expected = ["high-new", "high-cest", "high-old", "mid-new", "mid-old", "low-new"]
    assert ids(store.incidents()) == expected
    assert ids(store.incidents(limit=2)) == expected[:2]
    assert ids(store.incidents(limit=2, offset=2)) == expected[2:4], "the next page"


def test_incidents_status_filter(store: Store) -> None:
    store.upsert_incidents(
        [
            incident("a", severity=10, status=IncidentStatus.NEW),
            incident("b", severity=30, status=IncidentStatus.ACKNOWLEDGED),
            incident("c", severity=20, status=IncidentStatus.NEW),
            incident("d", severity=40, status=IncidentStatus.FALSE_POSITIVE),
        ]
    )
    assert ids(store.incidents(status=IncidentStatus.NEW)) == ["c", "a"]
    assert ids(store.incidents(status=IncidentStatus.FALSE_POSITIVE)) == ["d"]
    assert ids(store.incidents(status=IncidentStatus.RESOLVED)) == []
    assert ids(store.incidents(status=IncidentStatus.NEW, limit=1)) == ["c"]


def test_incident_history_round_trips_and_status_changes_are_upserted(store: Store) -> None:
    opened = incident(
        "inc-1",
        entities={"source.ip": ["203.0.113.7", "198.51.100.2"]},
        area={"type": "Polygon", "coordinates": [[[24.7, 59.4], [24.8, 59.4], [24.7, 59.5]]]},
        measures=["block 203.0.113.7 at the WAF"],
        history=[StatusChange(status=IncidentStatus.NEW, at=T0, by="correlator")],
    )
    store.upsert_incidents([opened])
    assert wire(store.incident("inc-1")) == wire(opened)

    acked = msgspec.structs.replace(
        opened,
        status=IncidentStatus.ACKNOWLEDGED,
        history=[
            *opened.history,
            StatusChange(
                status=IncidentStatus.ACKNOWLEDGED,
                at=datetime(2026, 3, 1, 12, 5, tzinfo=CEST),
                by="analyst Õun Müller Ñúñez",
                note="looking into it",
            ),
        ],
    )
    store.upsert_incidents([acked])
    loaded = store.incident("inc-1")
    assert loaded is not None
    assert wire(loaded) == wire(acked)
    assert [change.status for change in loaded.history] == ["new", "acknowledged"]
    assert ids(store.incidents(status=IncidentStatus.NEW)) == []
    assert ids(store.incidents(status=IncidentStatus.ACKNOWLEDGED)) == ["inc-1"]
    assert len(store.incidents()) == 1


def test_unknown_incident_is_none(store: Store) -> None:
    store.upsert_incidents([incident("known")])
    assert store.incident("unknown") is None


# -- dead letters ---------------------------------------------------------------------------

EVERY_BYTE = bytes(range(256)) * 256  # 65,536 bytes: every value, NULs, invalid UTF-8


def test_dead_letters_keep_raw_bytes_exactly(store: Store) -> None:
    raws = [b"\xff\xfe\x00\x80 caf\xe9\r\n", b"", EVERY_BYTE, "Õun Müller Ñúñez".encode()]
    store.add_dead_letters("run-1", [letter("in.log", n, raw=raw) for n, raw in enumerate(raws)])
    loaded = store.dead_letters()
    assert [dl.raw for dl in loaded] == raws
    assert all(type(dl.raw) is bytes for dl in loaded)
    assert loaded == [letter("in.log", n, raw=raw) for n, raw in enumerate(raws)]


def test_dead_letters_in_arrival_order_never_deduplicated(store: Store) -> None:
    store.add_dead_letters("run-1", [letter("b.log", 7), letter("a.log", 3)])
    store.add_dead_letters("run-2", [letter("a.log", 1), letter("b.log", 7)])  # same as the first
    store.add_dead_letters("run-2", [letter("a.log", 2**40)])  # a byte offset in a big file
    loaded = store.dead_letters()
    assert [(dl.source, dl.position) for dl in loaded] == [
        ("b.log", 7),
        ("a.log", 3),
        ("a.log", 1),
        ("b.log", 7),
        ("a.log", 2**40),
    ]
    assert loaded[0] == loaded[3]
    assert [dl.position for dl in store.dead_letters(source="a.log")] == [3, 1, 2**40]
    assert store.dead_letters(source="c.log") == []
    assert [dl.position for dl in store.dead_letters(limit=2)] == [7, 3]
    assert [dl.position for dl in store.dead_letters(source="a.log", limit=1)] == [3]


def test_dead_letters_default_limit_is_100(store: Store) -> None:
    store.add_dead_letters("run-1", [letter("in.log", n) for n in range(150)])
    assert [dl.position for dl in store.dead_letters()] == list(range(100))
    assert len(store.dead_letters(limit=1000)) == 150


def test_dead_letter_counts_grouped_largest_first(store: Store) -> None:
    store.add_dead_letters(
        "run-1",
        [letter("a.log", n, "bad-json") for n in range(4)]
        + [letter("b.log", n, "bad-json") for n in range(3)]
        + [letter("a.log", 10, "missing-field")],
    )
    normaliser = msgspec.structs.replace(letter("a.log", 11), stage="normalise")
    store.add_dead_letters("run-2", [letter("a.log", 5, "bad-json"), normaliser])
    counts = store.dead_letter_counts()
    assert counts[:2] == [
        DeadLetterCount(source="a.log", stage="ingest", code="bad-json", count=5),
        DeadLetterCount(source="b.log", stage="ingest", code="bad-json", count=3),
    ]
    # two groups of one each: their relative order is not part of the contract
    assert set(counts[2:]) == {
        DeadLetterCount(source="a.log", stage="ingest", code="missing-field", count=1),
        DeadLetterCount(source="a.log", stage="normalise", code="bad-json", count=1),
    }


# -- state ----------------------------------------------------------------------------------


def test_state_save_replaces_and_unknown_is_none(store: Store) -> None:
    assert store.load_state("detector.portal.bruteforce") is None
    store.save_state("detector.portal.bruteforce", b"\x00first\xff")
    store.save_state("correlator", EVERY_BYTE)
    store.save_state("detector.portal.bruteforce", b"\x00second\xff")
    assert store.load_state("detector.portal.bruteforce") == b"\x00second\xff"
    assert store.load_state("correlator") == EVERY_BYTE
    assert store.load_state("detector.portal") is None


def test_states_saved_together_are_all_saved_or_none(store: Store) -> None:
    store.save_states({"worker/a/detector/x": b"old", "worker/a/acking": b"old"})
    store.save_states({"worker/a/detector/x": b"new", "worker/a/acking": b"\x91\x07"})
    assert store.load_state("worker/a/detector/x") == b"new"
    assert store.load_state("worker/a/acking") == b"\x91\x07"
    with pytest.raises(StoreError):  # the second blob cannot be stored: neither is
        store.save_states({"worker/a/detector/x": b"newer", "worker/a/acking": None})  # type: ignore[dict-item]
    assert store.load_state("worker/a/detector/x") == b"new"
    assert store.load_state("worker/a/acking") == b"\x91\x07"


def test_dead_letters_saved_with_states_are_saved_with_them_or_not_at_all(store: Store) -> None:
    store.save_states({"worker/d/acking": b"\x91\x01"}, run_id="w-1", dead_letters=[letter("s", 1)])
    with pytest.raises(StoreError):  # the state cannot be stored: nor are its dead letters
        store.save_states(
            {"worker/d/acking": None},  # type: ignore[dict-item]
            run_id="w-1",
            dead_letters=[letter("s", 2), letter("s", 3)],
        )
    assert store.dead_letters() == [letter("s", 1)]
    assert store.load_state("worker/d/acking") == b"\x91\x01"
    store.save_states({"worker/d/acking": b"\x92\x02\x03"}, run_id="w-2", dead_letters=[])
    assert [dl.position for dl in store.dead_letters()] == [1]


def test_empty_state_is_not_none(store: Store) -> None:
    store.save_state("empty", b"")
    assert store.load_state("empty") == b""


# -- runs -----------------------------------------------------------------------------------


def run(run_id: str, started: datetime, **kw: object) -> RunInfo:
    return msgspec.structs.replace(RunInfo(id=run_id, command="analyse", started=started), **kw)


def test_runs_begin_finish_and_most_recent_first(store: Store) -> None:
    store.begin_run(run("r1", T0, inputs=["portal.log", "/data/Õun/conn.log"]))
    store.begin_run(run("r3", T0 + timedelta(hours=2)))
    # 13:00+02:00 is 11:00 UTC: between r1 and r3
    store.begin_run(run("r2", datetime(2026, 3, 1, 13, 0, tzinfo=CEST)))
    finished = T0 + timedelta(minutes=3, microseconds=250_000)
    store.finish_run("r1", finished, {"events": 120_000, "dead_letters": 3})

    runs = store.runs()
    assert [r.id for r in runs] == ["r3", "r2", "r1"]
    r1 = runs[2]
    assert r1.command == "analyse"
    assert r1.inputs == ["portal.log", "/data/Õun/conn.log"]
    assert r1.started == T0
    assert r1.finished == finished
    assert r1.stats == {"events": 120_000, "dead_letters": 3}
    assert runs[1].started == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert runs[0].finished is None
    assert runs[0].stats == {}
    assert runs[0].inputs == []
    assert [r.id for r in store.runs(limit=2)] == ["r3", "r2"]


def test_finishing_an_unknown_run_raises(store: Store) -> None:
    with pytest.raises(StoreError):
        store.finish_run("never-started", T0, {})


def test_a_run_id_is_used_once(store: Store) -> None:
    store.begin_run(run("r1", T0))
    with pytest.raises(StoreError):
        store.begin_run(run("r1", T0 + timedelta(hours=1)))
    assert [r.started for r in store.runs()] == [T0]


def test_the_store_keeps_working_after_a_failed_write(store: Store) -> None:
    store.begin_run(run("r1", T0))
    with pytest.raises(StoreError):
        store.begin_run(run("r1", T0))
    with pytest.raises(StoreError):
        store.finish_run("unknown", T0, {"events": 1})
    store.begin_run(run("r2", T0 + timedelta(hours=1)))
    store.finish_run("r2", T0 + timedelta(hours=2), {"events": 2})
    store.upsert_detections([detection("after")])
    assert [(r.id, r.stats) for r in store.runs()] == [("r2", {"events": 2}), ("r1", {})]
    assert ids(store.detections()) == ["after"]


# -- incidents: filters and what people do to them ------------------------------------------


def test_incidents_filter_by_severity_category_and_time(store: Store) -> None:
    store.upsert_incidents(
        [
            incident("cyber-low", severity=20, last_seen=T0),
            incident("cyber-high", severity=80, last_seen=T0 + timedelta(hours=2)),
            incident("safety", severity=60, category="public_safety", last_seen=T0),
            incident("hybrid", severity=90, category="hybrid", last_seen=T0 - timedelta(hours=3)),
        ]
    )
    assert ids(store.incidents(min_severity=60)) == ["hybrid", "cyber-high", "safety"]
    assert ids(store.incidents(min_severity=91)) == []
    assert ids(store.incidents(category="public_safety")) == ["safety"]
    assert ids(store.incidents(category="cyber")) == ["cyber-high", "cyber-low"]
    assert ids(store.incidents(since=T0)) == ["cyber-high", "safety", "cyber-low"]
    # 12:00+02:00 is 10:00 UTC: inclusive
    assert ids(store.incidents(since=datetime(2026, 3, 1, 12, 0, tzinfo=CEST))) == [
        "cyber-high",
        "safety",
        "cyber-low",
    ]
    combined = store.incidents(category="cyber", min_severity=10, since=T0, limit=1)
    assert ids(combined) == ["cyber-high"]


def change(
    status: IncidentStatus, by: str = "ana", minutes: int = 5, note: str = ""
) -> StatusChange:
    return StatusChange(status=status, at=T0 + timedelta(minutes=minutes), by=by, note=note)


def test_changing_status_records_who_and_why(store: Store) -> None:
    opened = incident("inc-1", history=[StatusChange(status=IncidentStatus.NEW, at=T0, by="c")])
    store.upsert_incidents([opened, incident("other")])
    acked = change(IncidentStatus.ACKNOWLEDGED, note="Õun looks into it")
    moved = store.change_incident_status("inc-1", acked, expected=IncidentStatus.NEW)
    assert moved is not None
    assert moved.status == IncidentStatus.ACKNOWLEDGED
    assert [c.status for c in moved.history] == ["new", "acknowledged"]
    assert moved.history[-1] == acked
    assert store.incident("inc-1") == moved
    assert ids(store.incidents(status=IncidentStatus.ACKNOWLEDGED)) == ["inc-1"]
    assert ids(store.incidents(status=IncidentStatus.NEW)) == ["other"]
    assert store.incident_counts() == {"acknowledged": 1, "new": 1}
    contained = change(IncidentStatus.CONTAINED, by="rui", minutes=9)
    again = store.change_incident_status("inc-1", contained, expected=IncidentStatus.ACKNOWLEDGED)
    assert again is not None
    assert [(c.status, c.by) for c in again.history] == [
        ("new", "c"),
        ("acknowledged", "ana"),
        ("contained", "rui"),
    ]


def test_a_status_change_from_a_stale_status_conflicts_and_writes_nothing(store: Store) -> None:
    store.upsert_incidents([incident("inc-1")])
    store.change_incident_status(
        "inc-1", change(IncidentStatus.ACKNOWLEDGED), expected=IncidentStatus.NEW
    )
    with pytest.raises(IncidentStatusConflictError) as caught:
        store.change_incident_status(
            "inc-1", change(IncidentStatus.FALSE_POSITIVE, by="bo"), expected=IncidentStatus.NEW
        )
    assert isinstance(caught.value, StoreError)
    assert caught.value.current == IncidentStatus.ACKNOWLEDGED
    assert caught.value.expected == IncidentStatus.NEW
    loaded = store.incident("inc-1")
    assert loaded is not None
    assert loaded.status == IncidentStatus.ACKNOWLEDGED
    assert [c.by for c in loaded.history] == ["ana"]


def test_changing_the_status_of_an_unknown_incident_is_none(store: Store) -> None:
    moved = change(IncidentStatus.RESOLVED)
    assert store.change_incident_status("nope", moved, expected=IncidentStatus.NEW) is None
    assert store.incidents() == []


def test_a_later_upsert_keeps_the_status_people_gave(store: Store) -> None:
    store.upsert_incidents([incident("inc-1", severity=40)])
    store.change_incident_status(
        "inc-1", change(IncidentStatus.CONTAINED), expected=IncidentStatus.NEW
    )
    # the correlator re-emits the growing incident with its own idea of the status
    grown = incident(
        "inc-1",
        severity=70,
        detections=["det-1", "det-2"],
        last_seen=T0 + timedelta(hours=1),
        history=[StatusChange(status=IncidentStatus.NEW, at=T0, by="correlator")],
    )
    store.upsert_incidents([grown])
    loaded = store.incident("inc-1")
    assert loaded is not None
    assert loaded.status == IncidentStatus.CONTAINED
    assert loaded.severity == 70
    assert loaded.detections == ["det-1", "det-2"]
    assert [(c.status, c.by) for c in loaded.history] == [
        ("new", "correlator"),
        ("contained", "ana"),
    ]
    assert ids(store.incidents(status=IncidentStatus.CONTAINED)) == ["inc-1"]
    assert ids(store.incidents(status=IncidentStatus.NEW)) == []
    assert ids(store.incidents(min_severity=70)) == ["inc-1"]


def test_comments_and_assignments_in_order_per_incident(store: Store) -> None:
    store.upsert_incidents([incident("a"), incident("b")])
    entries = [
        IncidentActivity(incident_id="a", kind="comment", at=T0, by="ana", text="Õun? 🚨"),
        IncidentActivity(incident_id="b", kind="comment", at=T0, by="bo", text="other"),
        IncidentActivity(incident_id="a", kind="assign", at=T0, by="ana", text="rui"),
        IncidentActivity(incident_id="a", kind="comment", at=T0, by="rui", text="on it\nline 2"),
    ]
    seqs = [store.add_incident_activity(entry) for entry in entries]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    found = store.incident_activity("a")
    assert [(x.kind, x.by, x.text) for x in found] == [
        ("comment", "ana", "Õun? 🚨"),
        ("assign", "ana", "rui"),
        ("comment", "rui", "on it\nline 2"),
    ]
    assert [x.seq for x in found] == [seqs[0], seqs[2], seqs[3]]
    assert found[0].at == T0
    assert [x.text for x in store.incident_activity("a", kind="assign")] == ["rui"]
    assert store.incident_activity("nope") == []


def test_detection_counts_per_detector(store: Store) -> None:
    assert store.detection_counts() == {}
    store.upsert_detections(
        [detection("a"), detection("b"), detection("c", detector="iot.telnet"), detection("a")]
    )
    assert store.detection_counts() == {"portal.bruteforce": 2, "iot.telnet": 1}


# -- users, tokens, sessions, audit ---------------------------------------------------------


def user(name: str = "ana", **kw: object) -> User:
    base = User(name=name, roles=["analyst"], password_hash="scrypt$x", created=T0)
    return msgspec.structs.replace(base, **kw)


def test_users_round_trip_and_names_are_unique(store: Store) -> None:
    assert store.users() == []
    assert store.user("ana") is None
    store.add_user(user("zoe", roles=["viewer", "responder"], disabled=True))
    store.add_user(user("ana"))
    assert store.user("ana") == user("ana")
    assert store.user("zoe") == user("zoe", roles=["viewer", "responder"], disabled=True)
    assert [u.name for u in store.users()] == ["ana", "zoe"]
    with pytest.raises(StoreError):
        store.add_user(user("ana", roles=["admin"]))
    assert store.user("ana") == user("ana")


def token(token_id: str = "tok-1", digest: str = "d1", **kw: object) -> ApiToken:
    base = ApiToken(
        id=token_id,
        user="ana",
        label="SIEM forwarder",
        roles=["ingest"],
        digest=digest,
        created=T0,
    )
    return msgspec.structs.replace(base, **kw)


def test_tokens_are_found_by_digest_listed_and_revoked_once(store: Store) -> None:
    expiring = token(
        "tok-2", "d2", user="bo", expires=T0 + timedelta(days=30), created=T0 + timedelta(1)
    )
    store.add_token(token())
    store.add_token(expiring)
    assert store.token("d1") == token()
    assert store.token("d2") == expiring
    assert store.token("tok-1") is None  # looked up by digest, never by id
    assert [t.id for t in store.tokens()] == ["tok-1", "tok-2"]
    assert [t.id for t in store.tokens(user="bo")] == ["tok-2"]
    assert store.revoke_token("tok-1", T0 + timedelta(hours=1)) is True
    assert store.revoke_token("tok-1", T0 + timedelta(hours=2)) is False
    assert store.revoke_token("unknown", T0) is False
    revoked = store.token("d1")
    assert revoked is not None
    assert revoked.revoked == T0 + timedelta(hours=1)
    with pytest.raises(StoreError):
        store.add_token(token("tok-3", "d2"))  # a digest is used once
    with pytest.raises(StoreError):
        store.add_token(token("tok-1", "d9"))


def test_sessions_are_found_deleted_and_purged(store: Store) -> None:
    def session(digest: str, hours: int) -> Session:
        return Session(
            digest=digest,
            user="ana",
            csrf=f"csrf-{digest}",
            created=T0,
            expires=T0 + timedelta(hours=hours),
        )

    store.add_session(session("s1", 1))
    store.add_session(session("s2", 8))
    assert store.session("s1") == session("s1", 1)
    assert store.session("nope") is None
    assert store.delete_expired_sessions(T0 + timedelta(hours=2)) == 1
    assert store.session("s1") is None
    assert store.session("s2") == session("s2", 8)
    store.delete_session("s2")
    store.delete_session("s2")
    assert store.session("s2") is None


def audit_entry(n: int) -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(seconds=n),
        actor="ana",
        role="analyst",
        action="incident.transition",
        target=f"incident:inc-{n}",
        request_id=f"req-{n}",
        outcome="success" if n % 2 else "denied",
        status=200 if n % 2 else 403,
    )


def test_audit_is_appended_and_read_newest_first(store: Store) -> None:
    assert store.audit() == []
    seqs = [store.append_audit(audit_entry(n)) for n in range(5)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    entries = store.audit()
    assert [e.request_id for e in entries] == [f"req-{n}" for n in (4, 3, 2, 1, 0)]
    assert entries[0] == msgspec.structs.replace(audit_entry(4), seq=seqs[4])
    assert [e.request_id for e in store.audit(limit=2)] == ["req-4", "req-3"]
    assert [e.request_id for e in store.audit(before=seqs[2])] == ["req-1", "req-0"]
    assert [e.request_id for e in store.audit(before=seqs[2], limit=1)] == ["req-1"]


# -- the response side: suppressions and playbook runs ----------------------------------------


def suppression(sid: str, hours: float) -> Suppression:
    return Suppression(
        id=sid,
        owner="ana",
        reason="pen test",
        created=T0,
        expires=T0 + timedelta(hours=hours),
        detector=["web-attacks"],
        entity={"source.ip": "192.0.2.7"},
    )


def test_suppressions_round_trip_and_filter_by_expiry(store: Store) -> None:
    store.save_suppression(suppression("s-long", 48))
    store.save_suppression(suppression("s-short", 2))
    assert [s.id for s in store.suppressions()] == ["s-short", "s-long"]
    assert store.suppressions()[1] == suppression("s-long", 48)
    assert [s.id for s in store.suppressions(active_at=T0 + timedelta(hours=3))] == ["s-long"]
    store.save_suppression(suppression("s-long", 1))  # ended early
    assert store.suppressions(active_at=T0 + timedelta(hours=3)) == []


def playbook_run(
    run_id: str, incident_id: str, playbook: str = "pb", minute: int = 0
) -> PlaybookRun:
    return PlaybookRun(
        id=run_id,
        playbook=playbook,
        incident=incident_id,
        started=T0 + timedelta(minutes=minute),
        dry_run=False,
        steps=[StepRun(id="tell", action="notify", approval=None)],
    )


def test_a_playbook_answers_an_incident_once_and_its_progress_is_saved(store: Store) -> None:
    assert store.add_playbook_run(playbook_run("r1", "inc-1"))
    assert not store.add_playbook_run(playbook_run("r2", "inc-1")), "same playbook, same incident"
    assert store.add_playbook_run(playbook_run("r3", "inc-1", playbook="other", minute=5))
    assert store.add_playbook_run(playbook_run("r4", "inc-2", minute=9))
    run = playbook_run("r1", "inc-1")
    run.steps[0].status = StepStatus.DONE
    run.steps[0].summary = "notified soc"
    store.update_playbook_run(run)
    assert store.playbook_run("r1") == run
    assert store.playbook_run("nope") is None
    assert [r.id for r in store.playbook_runs()] == ["r4", "r3", "r1"]
    assert [r.id for r in store.playbook_runs(incident_id="inc-1")] == ["r3", "r1"]
    assert [r.id for r in store.playbook_runs(limit=1)] == ["r4"]


def public_alert(identifier: str, sent: datetime, **kw: object) -> Alert:
    return Alert(
        identifier=identifier,
        sender="alerts@aldmere.example",
        sent=sent,
        status="Draft",
        msg_type="Alert",
        scope="Public",
        drafted_by="ana",
        **kw,  # type: ignore[arg-type]
    )


def test_public_alerts_round_trip_replace_and_filter_by_publication(store: Store) -> None:
    t0 = datetime(2026, 3, 14, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    draft = public_alert("a1", t0, incidents=["inc-1"])
    store.save_alert(StoredAlert(alert=draft))
    store.save_alert(StoredAlert(alert=public_alert("a2", t0 + timedelta(minutes=5))))
    assert store.alert("a1") == StoredAlert(alert=draft)
    assert store.alert("nope") is None
    assert [s.alert.identifier for s in store.alerts()] == ["a2", "a1"]
    approved = draft.approved("ben")
    store.save_alert(StoredAlert(alert=approved, published=t0 + timedelta(minutes=1)))
    found = store.alert("a1")
    assert found is not None
    assert found.alert == approved
    assert found.published == t0 + timedelta(minutes=1)
    assert [s.alert.identifier for s in store.alerts(published=True)] == ["a1"]
    assert [s.alert.identifier for s in store.alerts(published=False)] == ["a2"]
    assert [s.alert.identifier for s in store.alerts(limit=1)] == ["a2"]


def test_text_keys_order_by_code_point_whatever_the_locale(store: Store) -> None:
    # code point order; a locale's collation would put "ab" before "a_c" and "ana" before "Zoe"
    names = ["ana", "Zoe", "_x", "a_c", "ab", "a-b", "Ñu", "zoe", "10", "9"]
    for name in names:
        store.add_user(user(name))
    assert [u.name for u in store.users()] == sorted(names)
    store.upsert_detections([detection(name) for name in names])  # one timestamp: ties by id
    assert ids(store.detections()) == sorted(names)
    store.upsert_incidents([incident(name) for name in names])
    assert ids(store.incidents()) == sorted(names)


def test_prune_keeps_open_and_recently_touched_incidents_and_deletes_the_rest_whole(
    store: Store,
) -> None:
    """The retention policy: closed incidents quiet since the cutoff go with their detections,
    comments, lifecycle and playbook runs; open ones, ones closed or commented on since, and
    detections an incident still holds stay. Old dead letters and expired sessions go."""
    cut = T0 + timedelta(days=30)
    late = T0 + timedelta(days=40)
    store.upsert_detections(
        [
            detection("d-old"),
            detection("d-open"),
            detection("d-recent-comment"),
            detection("d-reopened"),
            detection("d-shared"),
            detection("d-suppressed"),
            detection("d-new", at=late),
        ]
    )
    store.upsert_incidents(
        [
            incident("old", status=IncidentStatus.RESOLVED, detections=["d-old", "d-shared"]),
            incident("merged", status=IncidentStatus.MERGED, detections=[]),
            incident("open", detections=["d-open", "d-shared"]),
            incident(
                "commented", status=IncidentStatus.FALSE_POSITIVE, detections=["d-recent-comment"]
            ),
            incident("reopened", detections=["d-reopened"]),
        ]
    )
    store.add_incident_activity(
        IncidentActivity(incident_id="old", kind="comment", at=T0, by="ana", text="done")
    )
    store.add_incident_activity(
        IncidentActivity(incident_id="commented", kind="comment", at=late, by="bo", text="again")
    )
    closed_late = StatusChange(status=IncidentStatus.RESOLVED, at=late, by="rui")
    store.change_incident_status("reopened", closed_late, expected=IncidentStatus.NEW)
    store.add_playbook_run(playbook_run("r-old", "old"))
    store.add_dead_letters("run-1", [letter("a", 1), letter("a", 2)])
    store.add_session(
        Session(digest="s", user="ana", csrf="c", created=T0, expires=T0 + timedelta(hours=1))
    )

    before = store.prune(closed_before=cut, dead_letters_before=None, now=late, dry_run=True)
    after = store.prune(closed_before=cut, dead_letters_before=None, now=late)
    assert before == after, "a dry run counts what the real one deletes"
    assert (after.incidents, after.detections, after.activity, after.playbook_runs) == (2, 2, 1, 1)
    assert (after.dead_letters, after.sessions) == (0, 1)
    assert sorted(i.id for i in store.incidents()) == ["commented", "open", "reopened"]
    assert sorted(ids(store.detections())) == [
        "d-new",
        "d-open",
        "d-recent-comment",
        "d-reopened",
        "d-shared",
    ]
    assert store.incident_activity("old") == []
    assert store.playbook_run("r-old") is None
    assert len(store.dead_letters()) == 2, "None keeps dead letters"
    gone = store.prune(
        closed_before=None, dead_letters_before=from_epoch(1772359200.0 + 1.5), now=late
    )
    assert (gone.incidents, gone.detections, gone.dead_letters) == (0, 0, 1)
    assert [x.position for x in store.dead_letters()] == [2]
