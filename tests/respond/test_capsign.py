"""Enveloped XML signatures on CAP documents, with keys and certificates made in the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from citywatch.errors import ConfigError
from citywatch.model import Alert
from citywatch.respond.capsign import CapSigner, SigningConfig, verify_signature
from citywatch.respond.capxml import parse, to_xml, validate
from citywatch.respond.errors import CapError

DS = "{http://www.w3.org/2000/09/xmldsig#}"
CapKeys = Callable[[str], tuple[bytes, bytes]]


@pytest.fixture(scope="module", params=["rsa", "ec"])
def keys(request: pytest.FixtureRequest, cap_keys: CapKeys) -> tuple[bytes, bytes]:
    return cap_keys(request.param)


def test_signed_alert_still_validates_and_verifies(alert: Alert, keys: tuple[bytes, bytes]) -> None:
    key_pem, cert_pem = keys
    signed = CapSigner(key_pem, cert_pem).sign(to_xml(alert))
    root = etree.fromstring(signed)
    last = root[-1]
    assert last.tag == DS + "Signature"  # the XSD admits it only after the info blocks
    reference = last.find(f"{DS}SignedInfo/{DS}Reference")
    assert reference is not None and reference.get("URI") == ""
    assert validate(signed) == []
    assert verify_signature(signed, cert_pem).startswith(b"<alert")
    assert parse(signed).identifier == alert.identifier


def test_tampered_document_fails_verification(alert: Alert, keys: tuple[bytes, bytes]) -> None:
    key_pem, cert_pem = keys
    signed = CapSigner(key_pem, cert_pem).sign(to_xml(alert))
    tampered = signed.replace(b"<severity>Extreme</severity>", b"<severity>Minor</severity>", 1)
    assert tampered != signed
    assert validate(tampered) == []  # still valid CAP, but no longer what was signed
    with pytest.raises(CapError, match="does not verify"):
        verify_signature(tampered, cert_pem)


def test_other_certificate_and_unsigned_document_fail(
    alert: Alert, keys: tuple[bytes, bytes], cap_keys: CapKeys
) -> None:
    key_pem, cert_pem = keys
    signed = CapSigner(key_pem, cert_pem).sign(to_xml(alert))
    _, other_cert = cap_keys("ec")
    with pytest.raises(CapError):
        verify_signature(signed, other_cert)
    with pytest.raises(CapError):
        verify_signature(to_xml(alert), cert_pem)


def test_signing_config(tmp_path: Path, keys: tuple[bytes, bytes], alert: Alert) -> None:
    assert SigningConfig().signer() is None
    key_pem, cert_pem = keys
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    signer = SigningConfig(key_file=tmp_path / "key.pem", cert_file=tmp_path / "cert.pem").signer()
    assert signer is not None
    assert verify_signature(signer.sign(to_xml(alert)), cert_pem)
    with pytest.raises(ConfigError, match="cert_file"):
        SigningConfig(key_file=tmp_path / "key.pem").signer()
    with pytest.raises(ConfigError, match="cannot read"):
        SigningConfig(key_file=tmp_path / "nope.pem", cert_file=tmp_path / "cert.pem").signer()
    with pytest.raises(ConfigError, match="signing key"):
        CapSigner(b"not a key", cert_pem)
