"""Builders shared by the test suites (fixtures, so importlib import mode works)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

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


CapKeys = Callable[[str], tuple[bytes, bytes]]


@pytest.fixture(scope="session")
def cap_keys() -> CapKeys:
    """``cap_keys("rsa" | "ec")``: a PEM private key and its self-signed certificate."""
    return _key_and_cert


def _key_and_cert(kind: str) -> tuple[bytes, bytes]:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alerts.aldmere.city")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)
