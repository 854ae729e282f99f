"""What only the PostgreSQL store does: URLs, connections, schema versions, many processes.

Every test has a fresh schema of the session's database (``postgres_url``); two
stores on one URL stand for two processes (a worker and an API server).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import msgspec
import psycopg
import pytest
from tests.contracts.test_store_contract import T0, detection, incident, letter

from citywatch.errors import MigrationError, StoreError
from citywatch.model import IncidentStatus, StatusChange
from citywatch.store import Store, open_store
from citywatch.store import postgres as postgres_module
from citywatch.store import sqlite as sqlite_module
from citywatch.store.base import AuditEntry, IncidentActivity, IncidentStatusConflictError, User
from citywatch.store.postgres import PostgresStore

ALL_VERSIONS = list(range(1, len(postgres_module.MIGRATIONS) + 1))


def versions(url: str) -> list[int]:
    with closing(psycopg.connect(url)) as conn:
        rows = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    return [version for (version,) in rows]


def tables(url: str) -> set[str]:
    with closing(psycopg.connect(url)) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return {name for (name,) in rows}


# -- URLs and connections -------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_both_schemes_open_a_migrated_postgres_store(postgres_url: str, scheme: str) -> None:
    url = scheme + postgres_url.removeprefix("postgresql")
    with closing(open_store(url)) as store:
        assert isinstance(store, PostgresStore)
        assert isinstance(store, Store)
        assert store.url == url
        assert store.detections() == []


def test_the_schema_steps_are_numbered_like_sqlite_s() -> None:
    assert len(postgres_module.MIGRATIONS) == len(sqlite_module.MIGRATIONS)


def test_data_persists_across_close_and_reopen(postgres_url: str) -> None:
    with closing(open_store(postgres_url)) as store:
        store.upsert_detections([detection("d1")])
        store.upsert_incidents([incident("i1")])
        store.add_dead_letters("r1", [letter("portal.log", 9, raw=b"{\xff")])
        store.save_state("correlator", b"\x00\x01\x02")
    with closing(open_store(postgres_url)) as reopened:
        assert reopened.detection("d1") == detection("d1")
        assert [i.id for i in reopened.incidents()] == ["i1"]
        assert [d.raw for d in reopened.dead_letters()] == [b"{\xff"]
        assert reopened.load_state("correlator") == b"\x00\x01\x02"
    assert versions(postgres_url) == ALL_VERSIONS


def test_an_unreachable_server_raises_store_error_saying_why() -> None:
    url = "postgresql://postgres@127.0.0.1:1/citywatch"  # nothing listens on port 1
    with pytest.raises(StoreError, match=r"cannot open store .*127\.0\.0\.1.*refused") as caught:
        open_store(url)
    assert caught.value.url == url
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)


def test_a_missing_database_raises_store_error(postgres_url: str) -> None:
    url = postgres_url.replace("/citywatch_test_", "/no_such_citywatch_test_", 1)
    with pytest.raises(StoreError, match=r'database "no_such_citywatch_test_.*" does not exist'):
        open_store(url)


def test_the_password_never_shows_in_the_url_or_errors(postgres_url: str) -> None:
    secret = "s3cret-pa55"
    # the test server trusts local logins, so the password is not checked: the store opens
    with_password = postgres_url.replace(
        "postgresql://postgres@", f"postgresql://postgres:{secret}@"
    )
    assert secret in with_password
    with closing(open_store(with_password)) as store:
        assert secret not in store.url
        assert store.url.startswith("postgresql://postgres:***@")
    unreachable = f"postgresql://postgres:{secret}@127.0.0.1:1/db?password={secret}"
    with pytest.raises(StoreError) as caught:
        open_store(unreachable)
    assert secret not in str(caught.value)
    assert secret not in (caught.value.url or "")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://", "not a PostgreSQL URL"),
        ("postgresql:relative", "not a PostgreSQL URL"),
        ("postgresql://127.0.0.1:5432/test?no_such_option=1", "cannot open store"),
    ],
)
def test_a_malformed_url_raises_store_error(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        PostgresStore(url)


def test_text_with_nul_is_stored_as_u_fffd_and_found_by_the_same_value(postgres_url: str) -> None:
    with closing(open_store(postgres_url)) as store:
        store.add_user(User(name="ana\x00", roles=["analyst"], password_hash="", created=T0))
        found = store.user("ana\x00")
        assert found is not None
        assert found.name == "ana\ufffd"
        assert store.user("ana") is None
        store.upsert_incidents([incident("inc\x00")])
        assert store.incident("inc\x00") == incident("inc\x00")  # the document keeps it
        store.add_incident_activity(
            IncidentActivity(incident_id="inc\x00", kind="comment", at=T0, by="ana", text="a\x00b")
        )
        assert [a.text for a in store.incident_activity("inc\x00")] == ["a\ufffdb"]
        store.add_dead_letters("run\x00", [letter("in\x00.log", 1)])
        assert [d.source for d in store.dead_letters(source="in\x00.log")] == ["in\ufffd.log"]
        assert store.detection("\x00") is None


def test_an_unmigrated_store_fails_with_store_error(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store, pytest.raises(StoreError, match="does not exist"):
        store.detections()


def test_a_closed_store_raises_store_error_and_closes_twice(postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.detections()
    with pytest.raises(StoreError):
        store.save_state("x", b"")


def test_a_connection_the_server_drops_is_replaced_before_use(postgres_url: str) -> None:
    # A dropped connection failed the next call: every scale-out worker exited on it.
    url = f"{postgres_url}&application_name=citywatch-dropped"
    with (
        closing(open_store(url)) as store,
        closing(psycopg.connect(postgres_url, autocommit=True)) as admin,
    ):
        store.save_state("kept", b"1")
        mine = "FROM pg_stat_activity WHERE application_name = 'citywatch-dropped'"
        admin.execute(f"SELECT pg_terminate_backend(pid) {mine}")  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT count(*) {mine}").fetchall() != [(0,)]:  # type: ignore[arg-type]
            assert time.monotonic() < deadline, "the server did not end the connection"
            time.sleep(0.01)
        assert store.load_state("kept") == b"1"


# -- schema versions ------------------------------------------------------------------------


def test_migrate_twice_records_the_version_once(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        store.migrate()
        store.migrate()
    assert versions(postgres_url) == ALL_VERSIONS


def test_a_newer_schema_version_raises_migration_error(postgres_url: str) -> None:
    open_store(postgres_url).close()
    with closing(psycopg.connect(postgres_url)) as conn, conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    latest = len(postgres_module.MIGRATIONS)
    with pytest.raises(MigrationError, match=f"version 99.*version {latest}") as caught:
        open_store(postgres_url)
    assert caught.value.url == postgres_url
    assert versions(postgres_url) == [*ALL_VERSIONS, 99]  # left untouched


def test_a_new_migration_step_is_applied_once(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(postgres_url).close()
    step = "CREATE TABLE notes (id text PRIMARY KEY, body text NOT NULL DEFAULT '50% a;b?');"
    monkeypatch.setattr(postgres_module, "MIGRATIONS", [*postgres_module.MIGRATIONS, step])
    open_store(postgres_url).close()
    open_store(postgres_url).close()
    assert versions(postgres_url) == [*ALL_VERSIONS, len(ALL_VERSIONS) + 1]
    with closing(psycopg.connect(postgres_url)) as conn, conn:
        conn.execute("INSERT INTO notes (id) VALUES ('n')")
        assert conn.execute("SELECT body FROM notes").fetchall() == [("50% a;b?",)]


def test_a_failing_migration_step_rolls_back_entirely(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(postgres_url).close()
    broken = "CREATE TABLE half (x integer); THIS IS NOT SQL;"
    monkeypatch.setattr(postgres_module, "MIGRATIONS", [*postgres_module.MIGRATIONS, broken])
    with pytest.raises(StoreError, match="syntax error") as caught:
        open_store(postgres_url)
    assert isinstance(caught.value.__cause__, psycopg.Error)
    assert versions(postgres_url) == ALL_VERSIONS
    assert "half" not in tables(postgres_url)
    assert "detections" in tables(postgres_url)


def test_stores_starting_together_migrate_once(postgres_url: str) -> None:
    start = threading.Barrier(4)

    def start_one(_: int) -> None:
        start.wait()
        open_store(postgres_url).close()

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(start_one, n) for n in range(4)]:
            future.result()
    assert versions(postgres_url) == ALL_VERSIONS


# -- threads and processes ------------------------------------------------------------------


def test_concurrent_writers_lose_nothing(postgres_url: str) -> None:
    threads, batches, size = 6, 15, 20
    start = threading.Barrier(threads)

    def write(worker: int) -> None:
        start.wait()
        for batch in range(batches):
            store.upsert_detections([detection(f"w{worker}-{batch}-{n}") for n in range(size)])
            store.add_dead_letters(f"run-{worker}", [letter(f"w{worker}.log", batch)])
            store.save_state(f"worker-{worker}", str(batch).encode())
            assert store.detection(f"w{worker}-{batch}-0") is not None

    with closing(open_store(postgres_url)) as store:
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(write, worker) for worker in range(threads)]:
                future.result()
        assert len(store.detections()) == threads * batches * size
        letters = store.dead_letters(limit=10_000)
        assert len(letters) == threads * batches
        for worker in range(threads):
            mine = [dl.position for dl in letters if dl.source == f"w{worker}.log"]
            assert mine == list(range(batches))  # each writer's letters stay in its order
            assert store.load_state(f"worker-{worker}") == str(batches - 1).encode()


def race(stores: list[Store], work: Callable[[int, Store], None]) -> None:
    """Run ``work(n, stores[n])`` in one thread per store, all released at once."""
    start = threading.Barrier(len(stores))

    def run(n: int) -> None:
        start.wait()
        work(n, stores[n])

    with ThreadPoolExecutor(len(stores)) as pool:
        for future in [pool.submit(run, n) for n in range(len(stores))]:
            future.result()


def test_two_processes_changing_one_status_conflict_instead_of_both_winning(
    postgres_url: str,
) -> None:
    rounds = 40
    stores = [open_store(postgres_url), open_store(postgres_url)]
    stores[0].upsert_incidents([incident(f"inc-{n}") for n in range(rounds)])
    won: list[list[str]] = [[], []]

    def change_all(worker: int, store: Store) -> None:
        status = [IncidentStatus.ACKNOWLEDGED, IncidentStatus.FALSE_POSITIVE][worker]
        for n in range(rounds):
            change = StatusChange(status=status, at=T0, by=f"analyst-{worker}")
            try:
                store.change_incident_status(f"inc-{n}", change, expected=IncidentStatus.NEW)
            except IncidentStatusConflictError:
                continue
            won[worker].append(f"inc-{n}")

    try:
        race(stores, change_all)
        assert sorted(won[0] + won[1]) == sorted(f"inc-{n}" for n in range(rounds))
        for found in stores[1].incidents():
            people = [c.by for c in found.history if c.by != "correlator"]
            assert len(people) == 1, f"{found.id} changed by {people}"
    finally:
        for store in stores:
            store.close()


def test_an_upsert_racing_a_status_change_keeps_the_status_people_gave(
    postgres_url: str,
) -> None:
    rounds = 30
    stores = [open_store(postgres_url), open_store(postgres_url)]
    ids = [f"inc-{n}" for n in range(rounds)]
    stores[0].upsert_incidents([incident(i) for i in ids])
    each_round = threading.Barrier(2)
    changed = [threading.Event() for _ in ids]

    def work(worker: int, store: Store) -> None:
        for n, incident_id in enumerate(ids):
            each_round.wait()
            if worker == 0:  # the correlator re-emits the incident, as new, until it is changed
                while not changed[n].is_set():
                    store.upsert_incidents([incident(incident_id, severity=60)])
            else:  # an analyst contains it meanwhile
                time.sleep(0.002)
                change = StatusChange(status=IncidentStatus.CONTAINED, at=T0, by="ana")
                store.change_incident_status(incident_id, change, expected=IncidentStatus.NEW)
                changed[n].set()

    try:
        race(stores, work)
        contained = {i.id for i in stores[1].incidents(status=IncidentStatus.CONTAINED)}
        assert contained == set(ids)
        assert stores[1].incident_counts() == {"contained": rounds}
    finally:
        for store in stores:
            store.close()


def test_the_audit_log_refuses_update_delete_and_truncate(postgres_url: str) -> None:
    with closing(open_store(postgres_url)) as store:
        entry = AuditEntry(
            at=T0,
            actor="ana",
            role="analyst",
            action="incident.transition",
            target="incident:i1",
            request_id="r1",
            outcome="success",
            status=200,
        )
        store.append_audit(entry)
        with closing(psycopg.connect(postgres_url, autocommit=True)) as conn:
            for sql in (
                "UPDATE audit SET actor = 'mallory'",
                "DELETE FROM audit",
                "TRUNCATE audit",
            ):
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(sql)  # type: ignore[arg-type]
        assert store.audit() == [msgspec.structs.replace(entry, seq=store.audit()[0].seq)]
