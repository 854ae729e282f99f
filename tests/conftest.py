"""Builders shared by the test suites (fixtures, so importlib import mode works)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.model import Event, HttpRequest

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC).timestamp()

LoginMaker = Callable[..., Event]


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(b"test-key-" * 4)


@pytest.fixture
def enricher(pseudonymiser: Pseudonymiser) -> Enricher:
    return Enricher(pseudonymiser)


@pytest.fixture
def login(enricher: Enricher) -> LoginMaker:
    """An enriched login event: ``login(t, ip, account, ok)``, t in seconds after T0."""
    counter = iter(range(1, 10**9))

    def make(t: float, ip: str, account: str | None, ok: bool | None = False) -> Event:
        body = f"username={account}&password=x" if account is not None else ""
        status = None if ok is None else (302 if ok else 401)
        outcome = None if ok is None else ("success" if ok else "failure")
        event = Event(
            id=f"req-{next(counter)}",
            timestamp=T0 + t,
            dataset="portal.http",
            outcome=outcome,
            source_ip=ip,
            payload=HttpRequest(method="POST", uri="/login", body=body, status=status),
        )
        return enricher(event)

    return make
