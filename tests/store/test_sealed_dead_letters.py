"""Dead letters' raw records are sealed at rest: a review found a citizen's login (with its
password) verbatim in the store, which DESIGN.md says keeps raw values encrypted."""

from __future__ import annotations

from pathlib import Path

import psycopg
from tests.contracts.test_store_contract import letter

from citywatch.app import city_store
from citywatch.bus.seal import Sealer
from citywatch.config import load_settings
from citywatch.store import open_store
from citywatch.store.sql import UNREADABLE

SECRET = b"username=marija.kovac%40gmail.com&password=Tajna123!"


def stored_raw(url: str) -> list[bytes]:
    """The raw column as the database holds it."""
    if url.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return [bytes(r[0]) for r in conn.execute("SELECT raw FROM dead_letters ORDER BY seq")]
    with psycopg.connect(url) as conn:
        return [bytes(r[0]) for r in conn.execute("SELECT raw FROM dead_letters ORDER BY seq")]


def test_a_raw_record_is_sealed_in_the_store_and_opened_for_the_analyst(url: str) -> None:
    key = bytes(range(32))
    with open_store(url) as plain:
        plain.add_dead_letters("run-0", [letter("before", 1, raw=b"kept as it came")])
    with open_store(url) as store:
        store.seal_raw(Sealer(key, purpose=b"cw-store-raw"))
        store.add_dead_letters("run-1", [letter("portal", 1, raw=SECRET)])
        assert [d.raw for d in store.dead_letters()] == [b"kept as it came", SECRET]
    assert not [r for r in stored_raw(url) if b"Tajna123!" in r or b"marija" in r]
    # without the key, or with another, the record reads as sealed; nothing fails
    with open_store(url) as store:
        assert [d.raw for d in store.dead_letters()] == [b"kept as it came", UNREADABLE]
        store.seal_raw(Sealer(bytes(32), purpose=b"cw-store-raw"))
        assert store.dead_letters(source="portal")[0].raw == UNREADABLE
        assert store.dead_letter_counts()[0].count == 1


def test_the_city_store_seals_with_the_bus_key(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with city_store(settings) as store:
        store.add_dead_letters("run-1", [letter("portal", 1, raw=SECRET)])
    files = list(tmp_path.glob("citywatch.db*"))  # the database and its write-ahead log
    assert files and not [f for f in files if b"Tajna123!" in f.read_bytes()]
    with city_store(settings) as store:
        assert store.dead_letters()[0].raw == SECRET
