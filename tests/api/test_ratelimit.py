"""Rate limits: a token bucket per token or session, and per client and name for logins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citywatch.api import ApiConfig
from citywatch.api.ratelimit import TokenBuckets

Maker = Callable[..., str]
PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ana(make_token: Maker) -> str:
    return make_token("ana", ["analyst"], password=PASSWORD)


@pytest.fixture
def config() -> ApiConfig:
    return ApiConfig(rate_per_s=0.001, burst=3, login_burst=2, login_rate_per_min=0.01)


def test_each_token_has_its_own_bucket(client: TestClient, make_token: Maker) -> None:
    first, second = make_token("ana", ["viewer"]), make_token("bo", ["viewer"])
    answers = [client.get("/api/v1/stats", headers=bearer(first)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/api/v1/stats", headers=bearer(second)).status_code == 200
    limited = client.get("/api/v1/stats", headers=bearer(first))
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"] == "urn:citywatch:problem:rate-limited"


def test_logins_are_rate_limited(client: TestClient, ana: str) -> None:
    answers = [
        client.post("/api/v1/auth/login", json={"name": "ana", "password": "guess"}).status_code
        for _ in range(3)
    ]
    assert answers == [401, 401, 429]
    # the right password does not get through the limit either
    right = client.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert right.status_code == 429


def test_one_address_cannot_lock_an_officer_out(app: FastAPI, ana: str) -> None:
    # Every attempt spent the name's bucket too: ten wrong passwords from one address locked
    # the real admin out everywhere, for as long as the attacker kept it up.
    attacker = TestClient(app, client=("198.51.100.7", 4000))
    officer = TestClient(app, client=("10.1.2.3", 4000))
    wrong = {"name": "ana", "password": "guess"}
    answers = [attacker.post("/api/v1/auth/login", json=wrong).status_code for _ in range(4)]
    assert answers == [401, 401, 429, 429]
    right = officer.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert right.status_code == 200
    # guesses at one name from many addresses are still slowed: its failures have a bucket
    # (20 failures: ten times an address's 2, of which the first address spent 2)
    guessers = [TestClient(app, client=(f"203.0.113.{i}", 4000)) for i in range(20)]
    answers = [g.post("/api/v1/auth/login", json=wrong).status_code for g in guessers]
    assert answers == [401] * 18 + [429] * 2


def test_buckets_refill_at_their_rate_up_to_the_burst() -> None:
    buckets = TokenBuckets()
    assert [buckets.take("k", rate=2.0, burst=3, now=0.0) for _ in range(4)] == [0, 0, 0, 0.5]
    assert buckets.take("k", rate=2.0, burst=3, now=0.5) == 0.0
    assert buckets.take("k", rate=2.0, burst=3, now=0.5) == 0.5
    # a long pause refills to the burst, never beyond it
    assert [buckets.take("k", rate=2.0, burst=3, now=100.0) for _ in range(4)][-1] == 0.5
    assert buckets.take("other", rate=2.0, burst=3, now=100.0) == 0.0
