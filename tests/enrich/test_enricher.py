from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import h3
import pytest

from citywatch.enrich import (
    EnrichConfig,
    Enricher,
    Pseudonymiser,
    load_or_create_key,
    login_account,
)
from citywatch.errors import ConfigError
from citywatch.model import Event, GeoPoint, HttpRequest, Telemetry


def _req(**kw: object) -> Event:
    payload = HttpRequest(**kw)  # type: ignore[arg-type]
    return Event(
        id="r1", timestamp=0.0, dataset="portal.http", source_ip="203.0.113.9", payload=payload
    )


def test_pseudonyms_are_keyed_stable_and_kind_separated() -> None:
    a, b = Pseudonymiser(b"a" * 32), Pseudonymiser(b"b" * 32)
    assert a("ip", "203.0.113.9") == a("ip", "203.0.113.9")
    assert a("ip", "203.0.113.9") != b("ip", "203.0.113.9")
    assert a("ip", "x") != a("user", "x")
    assert "203.0.113.9" not in a("ip", "203.0.113.9")


def test_short_key_is_refused() -> None:
    with pytest.raises(ConfigError):
        Pseudonymiser(b"short")


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "data")
    path = tmp_path / "data" / "pseudonym.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(key) == 32
    assert load_or_create_key(tmp_path / "data") == key


def test_truncated_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pseudonym.key").write_text("abcd")
    with pytest.raises(ConfigError, match="shorter"):
        load_or_create_key(tmp_path)


def test_login_form_account_is_pseudonymised(
    enricher: Enricher, pseudonymiser: Pseudonymiser
) -> None:
    event = enricher(
        _req(method="POST", uri="/login?next=/tax", body="username=M%C3%BCller&password=pw")
    )
    assert event.action == "login"
    assert event.user_id == pseudonymiser("user", "Müller")
    assert event.source_pseudonym == pseudonymiser("ip", "203.0.113.9")
    assert "Müller" not in repr(event.user_id)


def test_login_json_and_basic_auth_accounts() -> None:
    json_req = HttpRequest(
        method="POST", uri="/api/v1/auth/login", body='{"email": "o\'brien@x.ie"}'
    )
    assert login_account(json_req, ("username", "email")) == "o'brien@x.ie"
    token = base64.b64encode("Ñúñez:secret".encode()).decode()
    basic = HttpRequest(method="POST", uri="/login", headers=(("Authorization", f"Basic {token}"),))
    assert login_account(basic, ("username",)) == "Ñúñez"
    bad = HttpRequest(method="POST", uri="/login", headers=(("Authorization", "Basic !!!"),))
    assert login_account(bad, ("username",)) is None
    assert (
        login_account(HttpRequest(method="POST", uri="/login", body="{broken"), ("username",))
        is None
    )


def test_non_login_requests_keep_no_action(enricher: Enricher) -> None:
    assert enricher(_req(method="GET", uri="/login")).action is None
    assert enricher(_req(method="POST", uri="/tax/file", body="username=a")).action is None


def test_configured_login_paths(pseudonymiser: Pseudonymiser) -> None:
    enricher = Enricher(
        pseudonymiser, EnrichConfig(login_paths=("/sso",), username_fields=("uid",))
    )
    event = enricher(_req(method="POST", uri="/sso", body="uid=jan"))
    assert event.action == "login" and event.user_id == pseudonymiser("user", "jan")


def test_geo_gets_h3_cell(enricher: Enricher) -> None:
    event = Event(id="g", timestamp=0.0, dataset="x", geo=GeoPoint(lat=45.815, lon=15.9819))
    out = enricher(event)
    assert out.geo is not None and out.geo.h3 == h3.latlng_to_cell(45.815, 15.9819, 9)


def test_event_without_identifiers_is_unchanged(enricher: Enricher) -> None:
    event = Event(id="e", timestamp=0.0, dataset="x")
    assert enricher(event) is event


def test_device_macs_become_pseudonyms(enricher: Enricher, pseudonymiser: Pseudonymiser) -> None:
    event = Event(
        id="m1",
        timestamp=0.0,
        dataset="iot.telemetry",
        device_id="cam-1",
        payload=Telemetry(
            topic="city/cam/cam-1/telemetry", kind="heartbeat", mac="00:1a:2b:3c:4d:5e"
        ),
    )
    out = enricher(event)
    assert isinstance(out.payload, Telemetry)
    assert out.payload.mac == pseudonymiser("mac", "00:1a:2b:3c:4d:5e")
    assert "4d:5e" not in repr(out)
