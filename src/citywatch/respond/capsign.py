"""Enveloped XML signatures on CAP documents (CAP 1.2 §3.3.2.1, W3C XML-DSig).

The signature goes in as the last child of ``alert`` (where the CAP schema
admits any element of the XML-DSig namespace), over the whole document
(``Reference URI=""``), with SHA-256 and the key's own algorithm (RSA or
ECDSA). Signing uses the ``signxml`` package; sign the final bytes, since any
reformatting afterwards breaks the signature.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from citywatch.errors import ConfigError
from citywatch.respond.capxml import MAX_BYTES
from citywatch.respond.errors import CapError


class CapSigner:
    """Signs CAP documents with one private key and its X.509 certificate (PEM)."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, *, password: bytes | None = None) -> None:
        from signxml.algorithms import SignatureMethod  # noqa: PLC0415 - lazy: loads only to sign

        try:
            key = load_pem_private_key(key_pem, password=password)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"cannot load the CAP signing key: {exc}", where="cap.sign") from exc
        if isinstance(key, rsa.RSAPrivateKey):
            self._method = SignatureMethod.RSA_SHA256
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            self._method = SignatureMethod.ECDSA_SHA256
        else:
            raise ConfigError("the CAP signing key must be RSA or EC", where="cap.sign")
        self._key = key
        self._cert = cert_pem.decode("ascii")

    @classmethod
    def from_files(
        cls, key_file: Path, cert_file: Path, *, password: bytes | None = None
    ) -> CapSigner:
        """A signer from a PEM key file and a PEM certificate file."""
        try:
            return cls(key_file.read_bytes(), cert_file.read_bytes(), password=password)
        except OSError as exc:
            raise ConfigError(
                f"cannot read {exc.filename}: {exc.strerror}", where="cap.sign"
            ) from exc

    def sign(self, xml: bytes) -> bytes:
        """The document with an enveloped signature appended to ``alert``."""
        from signxml.algorithms import SignatureConstructionMethod  # noqa: PLC0415 - lazy
        from signxml.signer import XMLSigner  # noqa: PLC0415 - lazy

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.fromstring(xml, parser)
        except etree.XMLSyntaxError as exc:
            raise CapError("cannot sign a malformed document", problems=[str(exc)]) from exc
        signer = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=self._method,
            digest_algorithm="sha256",
        )
        signed = signer.sign(root, key=self._key, cert=self._cert)
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_signature(xml: bytes, cert_pem: bytes) -> bytes:
    """The signed part of a document whose signature verifies against ``cert_pem``.

    Raises :class:`CapError` when the signature is missing, broken or by another key.
    """
    from signxml.exceptions import InvalidInput, InvalidSignature  # noqa: PLC0415 - lazy
    from signxml.verifier import XMLVerifier  # noqa: PLC0415 - lazy: loads only to verify

    if len(xml) > MAX_BYTES:
        raise CapError("document too large to verify", problems=[f"{len(xml)} bytes"])
    try:
        result = XMLVerifier().verify(xml, x509_cert=cert_pem.decode("ascii"))
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError) as exc:
        raise CapError("CAP signature does not verify", problems=[str(exc)]) from exc
    verified = result[0] if isinstance(result, list) else result
    if verified.signed_xml is None:
        raise CapError("CAP signature does not cover the document")
    return etree.tostring(verified.signed_xml)


class SigningConfig(BaseModel):
    """Where the CAP signing key and certificate are; no key means unsigned alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_file: Path | None = Field(None, description="PEM private key (RSA or EC)")
    cert_file: Path | None = Field(None, description="PEM X.509 certificate of the key")

    def signer(self) -> CapSigner | None:
        """The signer, or None when no key is configured."""
        if self.key_file is None:
            return None
        if self.cert_file is None:
            raise ConfigError("cert_file is required with key_file", where="cap.sign")
        return CapSigner.from_files(self.key_file, self.cert_file)
