"""Tokens, sessions, CSRF and rate limits: every way in, and every way of being kept out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from citywatch.api import ApiConfig, create_app
from citywatch.api.auth import CSRF_HEADER, SESSION_COOKIE
from citywatch.api.credentials import digest, hash_password, verify_password
from citywatch.config import Settings
from citywatch.store import Store

Maker = Callable[..., str]
PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem_type(response: object) -> str:
    return str(response.json()["type"])  # type: ignore[attr-defined]


# -- tokens ---------------------------------------------------------------------------------


def test_a_valid_token_identifies_its_user_and_roles(client: TestClient, make_token: Maker) -> None:
    token = make_token("ana", ["analyst"])
    me = client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json() == {"name": "ana", "roles": ["analyst"], "via": "token", "csrf_token": None}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cw_000000000000_not-a-real-token",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "bearer",
        "Token abc",
    ],
)
def test_bad_tokens_are_401_with_a_challenge(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/incidents", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert problem_type(response) == "urn:citywatch:problem:unauthenticated"


def test_an_expired_token_is_refused(client: TestClient, make_token: Maker) -> None:
    expired = make_token("ana", ["analyst"], expires=datetime.now(tz=UTC) - timedelta(seconds=1))
    assert client.get("/api/v1/incidents", headers=bearer(expired)).status_code == 401
    fresh = make_token("ana", ["analyst"])
    assert client.get("/api/v1/incidents", headers=bearer(fresh)).status_code == 200


def test_a_revoked_token_is_refused_at_once(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={"user": "role-viewer", "label": "wall screen", "roles": ["viewer"]},
        headers=auth("admin"),
    )
    assert created.status_code == 201
    body = created.json()
    secret, token_id = body["token"], body["id"]
    assert secret.startswith(f"cw_{token_id}_")
    assert client.get("/api/v1/incidents", headers=bearer(secret)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=auth("admin")).status_code == 204
    assert client.get("/api/v1/incidents", headers=bearer(secret)).status_code == 401
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=auth("admin")).status_code == 404


def test_a_token_is_shown_once_and_stored_only_as_a_digest(
    client: TestClient, store: Store, auth: Callable[[str], dict[str, str]]
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={"user": "role-ingest", "label": "gateway", "roles": ["ingest"], "expires_in_days": 7},
        headers=auth("admin"),
    ).json()
    listed = client.get("/api/v1/tokens", headers=auth("admin")).json()
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1
    assert "token" not in mine[0]
    assert created["token"] not in str(listed)
    stored = store.token(digest(created["token"]))
    assert stored is not None
    assert stored.digest == digest(created["token"])
    assert created["token"] not in repr(store.tokens())
    expires = datetime.fromisoformat(created["expires"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(tz=UTC) <= timedelta(days=7)


def test_token_roles_cannot_exceed_the_users_roles(
    client: TestClient, auth: Callable[[str], dict[str, str]]
) -> None:
    refused = client.post(
        "/api/v1/tokens",
        json={"user": "role-viewer", "label": "x", "roles": ["admin"]},
        headers=auth("admin"),
    )
    assert refused.status_code == 409
    assert problem_type(refused) == "urn:citywatch:problem:roles-beyond-user"
    unknown = client.post(
        "/api/v1/tokens",
        json={"user": "nobody", "label": "x", "roles": ["viewer"]},
        headers=auth("admin"),
    )
    assert unknown.status_code == 409
    bad_role = client.post(
        "/api/v1/tokens",
        json={"user": "role-viewer", "label": "x", "roles": ["root"]},
        headers=auth("admin"),
    )
    assert bad_role.status_code == 422


def test_a_token_acts_with_the_users_roles_of_today(client: TestClient, make_token: Maker) -> None:
    # the token was scoped to analyst+viewer, but its user is now only a viewer
    token = make_token("bo", ["analyst", "viewer"], user_roles=["viewer"])
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert me["roles"] == ["viewer"]
    moved = client.post(
        "/api/v1/incidents/inc-1/transition", json={"to": "acknowledged"}, headers=bearer(token)
    )
    assert moved.status_code == 403


def test_a_disabled_users_token_is_refused(client: TestClient, make_token: Maker) -> None:
    token = make_token("gone", ["viewer"], disabled=True)
    assert client.get("/api/v1/incidents", headers=bearer(token)).status_code == 401


# -- sessions and CSRF ----------------------------------------------------------------------


def login(client: TestClient, name: str = "ana", password: str = PASSWORD) -> dict[str, object]:
    response = client.post("/api/v1/auth/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def ana(make_token: Maker) -> str:
    return make_token("ana", ["analyst"], password=PASSWORD)


def test_login_sets_a_strict_httponly_cookie_and_returns_a_csrf_token(
    client: TestClient, ana: str
) -> None:
    response = client.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test
    assert "Path=/" in cookie
    body = response.json()
    assert body["name"] == "ana"
    assert body["via"] == "session"
    assert len(body["csrf_token"]) >= 32
    me = client.get("/api/v1/auth/me")  # the client keeps the cookie
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_session_cookies_are_secure_over_tls(
    settings: Settings, store: Store, make_token: Maker
) -> None:
    make_token("ana", ["analyst"], password=PASSWORD)
    app = create_app(settings, store, config=ApiConfig(tls=True))
    tls = TestClient(app, base_url="https://testserver")
    response = tls.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_unsafe_session_requests_need_the_csrf_token(
    client: TestClient, seeded: Store, ana: str
) -> None:
    csrf = str(login(client)["csrf_token"])
    path = "/api/v1/incidents/inc-1/comments"
    missing = client.post(path, json={"text": "forged"})
    assert missing.status_code == 403
    assert problem_type(missing) == "urn:citywatch:problem:csrf"
    wrong = client.post(path, json={"text": "forged"}, headers={CSRF_HEADER: csrf[:-1] + "x"})
    assert wrong.status_code == 403
    ok = client.post(path, json={"text": "looked at it"}, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 201
    assert [c.text for c in seeded.incident_activity("inc-1")] == ["looked at it"]
    assert client.get("/api/v1/incidents/inc-1").status_code == 200  # reads need no token


def test_logout_ends_the_session(client: TestClient, store: Store, ana: str) -> None:
    csrf = str(login(client)["csrf_token"])
    cookie = client.cookies[SESSION_COOKIE]
    assert store.session(digest(cookie)) is not None
    assert client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert store.session(digest(cookie)) is None
    client.cookies.set(SESSION_COOKIE, cookie)  # replaying the old cookie
    assert client.get("/api/v1/auth/me").status_code == 401


def test_an_expired_session_is_refused_and_removed(
    client: TestClient, store: Store, ana: str
) -> None:
    login(client)
    cookie = client.cookies[SESSION_COOKIE]
    session = store.session(digest(cookie))
    assert session is not None
    store.delete_session(session.digest)
    store.add_session(
        type(session)(
            digest=session.digest,
            user=session.user,
            csrf=session.csrf,
            created=session.created,
            expires=datetime.now(tz=UTC) - timedelta(seconds=1),
        )
    )
    assert client.get("/api/v1/auth/me").status_code == 401
    assert store.session(session.digest) is None


def test_a_forged_session_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "forged-value")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_wrong_passwords_and_unknown_users_fail_alike(client: TestClient, ana: str) -> None:
    wrong = client.post("/api/v1/auth/login", json={"name": "ana", "password": "nope"})
    unknown = client.post("/api/v1/auth/login", json={"name": "zed", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert SESSION_COOKIE not in client.cookies


def test_a_service_without_password_cannot_log_in(client: TestClient, make_token: Maker) -> None:
    make_token("gateway", ["ingest"])
    refused = client.post("/api/v1/auth/login", json={"name": "gateway", "password": ""})
    assert refused.status_code == 422  # an empty password is not even a login attempt
    refused = client.post("/api/v1/auth/login", json={"name": "gateway", "password": "x"})
    assert refused.status_code == 401


# -- passwords ------------------------------------------------------------------------------


def test_password_hashes_are_salted_and_verify() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second
    assert verify_password(PASSWORD, first)
    assert verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + " ", first)
    assert not verify_password(PASSWORD, "")
    assert not verify_password(PASSWORD, "scrypt$1$1$1$x$y")
    assert not verify_password(PASSWORD, "md5$whatever")
    # a hash whose cost would take the server down is refused, not computed
    assert not verify_password(PASSWORD, first.replace("$16384$", "$1073741824$"))


# -- user administration ---------------------------------------------------------------------


def test_an_admin_disables_a_user_changes_roles_and_passwords(
    client: TestClient, store: Store, make_token: Maker, ana: str
) -> None:
    # There was no way to disable a departed employee, change a password or change roles:
    # revoking their tokens left their password login working.
    admin = bearer(make_token("root", ["admin"]))
    login(client)  # ana's session
    assert client.get("/api/v1/auth/me").status_code == 200
    answer = client.patch("/api/v1/users/ana", json={"disabled": True}, headers=admin)
    assert answer.status_code == 200 and answer.json()["disabled"] is True
    assert client.get("/api/v1/auth/me").status_code == 401, "her session ended"
    assert client.get("/api/v1/incidents", headers=bearer(ana)).status_code == 401, "her token"
    refused = client.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert refused.status_code == 401

    new = "a much longer passphrase"
    changed = client.patch(
        "/api/v1/users/ana", json={"disabled": False, "password": new, "roles": ["viewer"]},
        headers=admin,
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["roles"] == ["viewer"]
    old = client.post("/api/v1/auth/login", json={"name": "ana", "password": PASSWORD})
    assert old.status_code == 401
    login(client, password=new)
    assert client.get("/api/v1/auth/me").json()["roles"] == ["viewer"]
    assert client.patch("/api/v1/users/nobody", json={}, headers=admin).status_code == 404
    assert client.patch("/api/v1/users/ana", json={}, headers=bearer(ana)).status_code == 403


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(
    client: TestClient, make_token: Maker
) -> None:
    admin = bearer(make_token("root", ["admin"]))
    for change in ({"disabled": True}, {"roles": ["viewer"]}):
        answer = client.patch("/api/v1/users/root", json=change, headers=admin)
        assert answer.status_code == 409 and problem_type(answer).endswith("last-admin")
    make_token("second", ["admin"])
    assert (
        client.patch("/api/v1/users/root", json={"roles": ["viewer"]}, headers=admin).status_code
        == 200
    )
