"""Fixtures for the API tests: a store of each kind, an app over it, tokens for every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citywatch.api import ROLES, ApiConfig, create_app
from citywatch.api.credentials import digest, hash_password, new_token
from citywatch.config import Settings
from citywatch.detect import DETECTORS
from citywatch.live import LivePipeline
from citywatch.model import Detection, Incident, IncidentStatus, StatusChange
from citywatch.store import Store, open_store
from citywatch.store.base import ApiToken, User

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"

Tokens = dict[str, str]
TokenMaker = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The API is under test, not the detector mix: one detector (sigma flags sqlmap's
    # user agent) keeps the counts these tests assert independent of new detectors.
    return Settings(data_dir=tmp_path / "data", disabled=[n for n in DETECTORS if n != "sigma"])


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each kind: SQLite in memory, a fresh PostgreSQL schema."""
    url = (
        "sqlite:///:memory:"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    opened = open_store(url)
    yield opened
    opened.close()


@pytest.fixture
def pipeline(settings: Settings, store: Store) -> Iterator[LivePipeline]:
    live = LivePipeline(settings, store)
    yield live
    live.close()


@pytest.fixture
def config() -> ApiConfig:
    return ApiConfig()


@pytest.fixture
def app(settings: Settings, store: Store, pipeline: LivePipeline, config: ApiConfig) -> FastAPI:
    return create_app(settings, store, pipeline=pipeline, config=config)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def make_token(store: Store) -> TokenMaker:
    """``make_token(user, roles, ...)``: a token, and its user if new (no password unless given)."""

    def make(
        name: str,
        roles: list[str],
        *,
        expires: datetime | None = None,
        user_roles: list[str] | None = None,
        disabled: bool = False,
        password: str | None = None,
    ) -> str:
        if store.user(name) is None:
            store.add_user(
                User(
                    name=name,
                    roles=user_roles or roles,
                    password_hash=hash_password(password) if password else "",
                    created=T0,
                    disabled=disabled,
                )
            )
        secret, token_id = new_token()
        store.add_token(
            ApiToken(
                id=token_id,
                user=name,
                label="test",
                roles=roles,
                digest=digest(secret),
                created=T0,
                expires=expires or datetime.now(tz=UTC) + timedelta(days=1),
            )
        )
        return secret

    return make


@pytest.fixture
def tokens(make_token: TokenMaker) -> Tokens:
    """One token per role, for a user who has only that role (user ``role-<role>``)."""
    return {role: make_token(f"role-{role}", [role]) for role in ROLES}


@pytest.fixture
def auth(tokens: Tokens) -> Callable[[str], dict[str, str]]:
    """Headers for a role: ``auth("analyst")``."""
    return lambda role: {"Authorization": f"Bearer {tokens[role]}"}


def detection(detection_id: str = "det-1", **kw: object) -> Detection:
    base: dict[str, object] = {
        "id": detection_id,
        "timestamp": T0,
        "detector": "portal.sigma",
        "rule_id": "CW-1",
        "rule_name": "Scanner user agent",
        "severity": 40,
        "confidence": 0.9,
        "category": "cyber",
        "summary": "sqlmap against the portal",
        "entity": {"source.ip": "203.0.113.9"},
        "evidence": ["r1", "r2"],
        "first_seen": T0,
        "last_seen": T0,
        "attributes": {"portal": {"class": "scan", "snippet": "sqlmap/1.7"}},
    }
    base.update(kw)
    return Detection(**base)  # type: ignore[arg-type]


def incident(incident_id: str = "inc-1", **kw: object) -> Incident:
    base: dict[str, object] = {
        "id": incident_id,
        "title": "Scanner against the portal",
        "status": IncidentStatus.NEW,
        "severity": 50,
        "category": "cyber",
        "first_seen": T0,
        "last_seen": T0 + timedelta(minutes=5),
        "detections": ["det-1"],
        "entities": {"source.ip": ["203.0.113.9"]},
        "history": [StatusChange(status=IncidentStatus.NEW, at=T0, by="correlator")],
    }
    base.update(kw)
    return Incident(**base)  # type: ignore[arg-type]


class Builders:
    """The model builders, for tests that need their own records."""

    T0 = T0
    detection = staticmethod(detection)
    incident = staticmethod(incident)


@pytest.fixture
def build() -> type[Builders]:
    return Builders


@pytest.fixture
def seeded(store: Store) -> Store:
    """A store with two detections and three incidents."""
    store.upsert_detections(
        [detection("det-1"), detection("det-2", detector="iot.telnet", timestamp=T0 + timedelta(1))]
    )
    store.upsert_incidents(
        [
            incident("inc-1"),
            incident("inc-2", severity=90, category="public_safety", detections=["det-2"]),
            incident("inc-3", severity=20, status=IncidentStatus.RESOLVED),
        ]
    )
    return store
