"""What only the SQLite store does: files, URLs, schema versions, one shared connection."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from citywatch.errors import MigrationError, StoreError
from citywatch.model import DeadLetter, Detection, Incident, IncidentStatus
from citywatch.store import DEFAULT_URL, RunInfo, SqliteStore, Store, open_store
from citywatch.store import sqlite as sqlite_module
from citywatch.store.base import AuditEntry

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def detection(detection_id: str, *, at: datetime = T0, evidence: tuple[str, ...] = ()) -> Detection:
    return Detection(
        id=detection_id,
        timestamp=at,
        detector="portal.bruteforce",
        rule_id="CW-P-0001",
        rule_name="Password spraying",
        severity=60,
        confidence=0.8,
        category="cyber",
        summary="failed logins",
        entity={"source.ip": "203.0.113.7"},
        evidence=list(evidence),
        first_seen=at,
        last_seen=at,
    )


def letter(source: str, position: int, *, raw: bytes = b"{") -> DeadLetter:
    return DeadLetter(
        source=source,
        position=position,
        stage="ingest",
        format="jsonl",
        code="bad-json",
        reason="unexpected end of input",
        raw=raw,
        received=1772359200.0,
    )


def incident(incident_id: str, category: str) -> Incident:
    return Incident(
        id=incident_id,
        title=incident_id,
        status=IncidentStatus.NEW,
        severity=50,
        category=category,
        first_seen=T0,
        last_seen=T0,
        detections=[],
    )


encode = msgspec.json.Encoder().encode


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


ALL_VERSIONS = list(range(1, len(sqlite_module.MIGRATIONS) + 1))


def versions(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def test_data_persists_across_close_and_reopen(tmp_path: Path) -> None:
    url = url_of(tmp_path / "city.db")
    store = open_store(url)
    try:
        store.begin_run(RunInfo(id="r1", command="analyse", started=T0, inputs=["portal.log"]))
        store.upsert_detections([detection("d1", evidence=("e1", "e2"))])
        store.upsert_incidents(
            [
                Incident(
                    id="i1",
                    title="spraying",
                    status=IncidentStatus.CONTAINED,
                    severity=60,
                    category="cyber",
                    first_seen=T0,
                    last_seen=T0,
                    detections=["d1"],
                )
            ]
        )
        store.add_dead_letters("r1", [letter("portal.log", 9, raw=b"\xff\x00")])
        store.save_state("correlator", b"\x01\x02")
        store.finish_run("r1", T0 + timedelta(minutes=1), {"events": 10})
    finally:
        store.close()

    reopened = open_store(url)
    try:
        assert [r.stats for r in reopened.runs()] == [{"events": 10}]
        assert reopened.detection("d1") == detection("d1", evidence=("e1", "e2"))
        assert [i.id for i in reopened.incidents(status=IncidentStatus.CONTAINED)] == ["i1"]
        assert [dl.raw for dl in reopened.dead_letters()] == [b"\xff\x00"]
        assert reopened.load_state("correlator") == b"\x01\x02"
    finally:
        reopened.close()
    assert versions(tmp_path / "city.db") == ALL_VERSIONS


def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SqliteStore("sqlite:///data/nested/rel.db") as store:
        store.migrate()
    assert (tmp_path / "data" / "nested" / "rel.db").is_file()


def test_default_url_is_a_relative_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store(DEFAULT_URL).close()
    assert (tmp_path / "citywatch-data" / "citywatch.db").is_file()


def test_absolute_url_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "abs.db"
    url = "sqlite:///" + str(path)
    assert url.startswith("sqlite:////")
    with SqliteStore(url) as store:
        store.migrate()
        assert store.url == url
    assert path.is_file()


def test_file_databases_use_wal(tmp_path: Path) -> None:
    open_store(url_of(tmp_path / "wal.db")).close()
    with closing(sqlite3.connect(tmp_path / "wal.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_memory_stores_are_independent_and_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = open_store("sqlite:///:memory:"), open_store("sqlite:///:memory:")
    try:
        first.save_state("x", b"1")
        assert second.load_state("x") is None
    finally:
        first.close()
        second.close()
    assert list(tmp_path.iterdir()) == []


def test_open_store_returns_a_migrated_store() -> None:
    store = open_store("sqlite:///:memory:")
    try:
        assert isinstance(store, SqliteStore)
        assert isinstance(store, Store)
        assert store.detections() == []
    finally:
        store.close()


def test_an_unmigrated_store_fails_with_store_error() -> None:
    with (
        SqliteStore("sqlite:///:memory:") as store,
        pytest.raises(StoreError, match="no such table"),
    ):
        store.detections()


def test_migrate_twice_records_the_version_once(tmp_path: Path) -> None:
    with SqliteStore(url_of(tmp_path / "v.db")) as store:
        store.migrate()
        store.migrate()
    assert versions(tmp_path / "v.db") == ALL_VERSIONS


def test_a_newer_schema_version_raises_migration_error(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_store(url_of(path)).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    latest = len(sqlite_module.MIGRATIONS)
    with pytest.raises(MigrationError, match=f"version 99.*version {latest}") as caught:
        open_store(url_of(path))
    assert caught.value.url == url_of(path)
    assert versions(path) == [*range(1, latest + 1), 99]  # left untouched


def test_a_new_migration_step_is_applied_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = url_of(tmp_path / "up.db")
    open_store(url).close()
    step = "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b');"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", [*sqlite_module.MIGRATIONS, step])
    open_store(url).close()
    open_store(url).close()
    assert versions(tmp_path / "up.db") == [*ALL_VERSIONS, len(ALL_VERSIONS) + 1]
    with closing(sqlite3.connect(tmp_path / "up.db")) as conn, conn:
        conn.execute("INSERT INTO notes (id) VALUES ('n')")
        assert conn.execute("SELECT body FROM notes").fetchone() == ("a;b",)


def test_a_failing_migration_step_rolls_back_entirely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = url_of(tmp_path / "broken.db")
    open_store(url).close()
    broken = "CREATE TABLE half (x INTEGER); THIS IS NOT SQL;"
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", [*sqlite_module.MIGRATIONS, broken])
    with pytest.raises(StoreError, match="syntax error") as caught:
        open_store(url)
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert versions(tmp_path / "broken.db") == ALL_VERSIONS
    with closing(sqlite3.connect(tmp_path / "broken.db")) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables
    assert "detections" in tables


def test_a_file_that_is_not_a_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database, just some text\n" * 100)
    with pytest.raises(StoreError, match="not a database") as caught:
        open_store(url_of(path))
    assert url_of(path) in str(caught.value)
    assert caught.value.url == url_of(path)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_an_unwritable_path_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    url = url_of(tmp_path / "a-file" / "store.db")
    with pytest.raises(StoreError, match="cannot open store") as caught:
        open_store(url)
    assert url in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize("url", ["mysql://db/x", "citywatch.db", "", "/tmp/x.db", "pg://h/db"])
def test_an_unknown_scheme_raises_store_error_naming_the_supported_ones(url: str) -> None:
    supported = "postgres://, postgresql://, sqlite://"
    with pytest.raises(StoreError, match=f"supported schemes are {supported}$") as caught:
        open_store(url)
    assert caught.value.url == url


@pytest.mark.parametrize("url", ["sqlite://relative.db", "sqlite:///", "sqlite:"])
def test_a_malformed_sqlite_url_raises_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="not a SQLite URL"):
        SqliteStore(url)


def test_a_closed_store_raises_store_error_and_closes_twice() -> None:
    store = open_store("sqlite:///:memory:")
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.detections()
    with pytest.raises(StoreError):
        store.save_state("x", b"")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    threads, batches, size = 4, 25, 20
    start = threading.Barrier(threads)

    def write(worker: int) -> None:
        start.wait()
        for batch in range(batches):
            base = T0 + timedelta(seconds=batch)
            store.upsert_detections(
                [detection(f"w{worker}-{batch}-{n}", at=base) for n in range(size)]
            )
            store.add_dead_letters(f"run-{worker}", [letter(f"w{worker}.log", batch)])
            store.save_state(f"worker-{worker}", str(batch).encode())
            assert store.detection(f"w{worker}-{batch}-0") is not None

    with SqliteStore(url_of(tmp_path / "threads.db")) as store:
        store.migrate()
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(write, worker) for worker in range(threads)]:
                future.result()
        found = {d.id for d in store.detections()}
        expected = {
            f"w{w}-{b}-{n}" for w in range(threads) for b in range(batches) for n in range(size)
        }
        assert found == expected
        letters: list[DeadLetter] = store.dead_letters(limit=10_000)
        assert len(letters) == threads * batches
        for worker in range(threads):
            mine = [dl.position for dl in letters if dl.source == f"w{worker}.log"]
            assert mine == list(range(batches))  # each writer's letters stay in its order
            assert store.load_state(f"worker-{worker}") == str(batches - 1).encode()


def test_two_stores_on_one_file_wait_for_each_other(tmp_path: Path) -> None:
    url = url_of(tmp_path / "shared.db")
    stores = [open_store(url), open_store(url)]
    start = threading.Barrier(len(stores))

    def write(worker: int) -> None:
        start.wait()
        for batch in range(30):
            stores[worker].upsert_detections(
                [detection(f"s{worker}-{batch}-{n}") for n in range(50)]
            )

    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            for future in [pool.submit(write, worker) for worker in range(len(stores))]:
                future.result()
        assert len(stores[0].detections()) == len(stores[1].detections()) == 2 * 30 * 50
    finally:
        for store in stores:
            store.close()


def test_upgrading_a_version_1_store_keeps_incidents_and_fills_their_category(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = url_of(tmp_path / "v1.db")
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:1])
    with SqliteStore(url) as old:
        old.migrate()
        with closing(sqlite3.connect(tmp_path / "v1.db")) as conn, conn:
            for inc in (incident("a", "public_safety"), incident("b", "cyber")):
                conn.execute(
                    "INSERT INTO incidents VALUES (?, ?, ?, ?, ?)",
                    (inc.id, inc.status.value, inc.severity, T0.timestamp(), encode(inc)),
                )
    monkeypatch.undo()
    with closing(open_store(url)) as store:
        assert [i.id for i in store.incidents(category="public_safety")] == ["a"]
        assert [i.id for i in store.incidents(category="cyber")] == ["b"]
    assert versions(tmp_path / "v1.db") == ALL_VERSIONS


def test_the_audit_log_refuses_update_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with closing(open_store(url_of(path))) as store:
        store.append_audit(
            AuditEntry(
                at=T0,
                actor="ana",
                role="analyst",
                action="incident.transition",
                target="incident:i1",
                request_id="r1",
                outcome="success",
                status=200,
            )
        )
    with closing(sqlite3.connect(path)) as conn:
        for sql in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT actor FROM audit").fetchall() == [("ana",)]
