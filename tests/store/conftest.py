"""A store URL of each kind a file-backed deployment uses: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

URLS: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite": lambda request: f"sqlite:///{request.getfixturevalue('tmp_path')}/store.db",
    "postgresql": lambda request: str(request.getfixturevalue("postgres_url")),
}


@pytest.fixture(params=list(URLS))
def url(request: pytest.FixtureRequest) -> str:
    """An empty store's URL, SQLite in a file or PostgreSQL."""
    return URLS[request.param](request)
