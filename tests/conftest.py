"""Builders shared by the test suites (fixtures, so importlib import mode works)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import nats
import nats.errors
import nats.js.errors
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from psycopg import sql

from citywatch.bus.config import BusConfig
from citywatch.bus.subjects import Subjects
from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.model import Event, HttpRequest
from citywatch.store.claims import claim_key

T0 = datetime(2026, 3, 14, 8, 0, tzinfo=UTC).timestamp()

POSTGRES_ENV = "CITYWATCH_TEST_POSTGRES"
POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
"""The server the PostgreSQL tests use: a libpq URL of a database to connect to (not written to)."""

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


class Postgres:
    """This test session's own database on the PostgreSQL server: a fresh schema per store."""

    def __init__(self, url: str, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.url = url
        self._conn = conn
        self._schemas = 0

    def fresh_url(self) -> str:
        """The URL of a new, empty schema (``search_path`` set through libpq's ``options``)."""
        self._schemas += 1
        name = f"store_{self._schemas}"
        self._conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        options = urlencode({"options": f"-csearch_path={name}"})
        return f"{self.url}{'&' if urlsplit(self.url).query else '?'}{options}"


def _connect_or_fail(admin: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        error = exc
    pytest.fail(
        f"PostgreSQL at {admin} is unreachable: {error}\n"
        f"Start it (.ci/run does), point {POSTGRES_ENV} at a server, or set"
        f" {POSTGRES_ENV}=off to leave the PostgreSQL store untested.",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A new database on the test server for this session, dropped at its end.

    The server is ``$CITYWATCH_TEST_POSTGRES`` (default :data:`POSTGRES_DEFAULT`); an
    unreachable one fails every test that needs it, and only ``CITYWATCH_TEST_POSTGRES=off``
    skips them. The database sorts text as ``en-US`` (ICU) does, as production databases
    often do, so the tests see whether the store still orders results like SQLite.
    """
    admin = os.environ.get(POSTGRES_ENV, POSTGRES_DEFAULT)
    if admin == "off":
        pytest.skip(f"{POSTGRES_ENV}=off: the PostgreSQL store is not tested in this run")
    server = _connect_or_fail(admin)
    name = f"citywatch_test_{os.getpid()}_{secrets.token_hex(4)}"
    database = sql.Identifier(name)
    with server:
        server.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'"
                " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ).format(database)
        )
        try:
            url = urlsplit(admin)._replace(path=f"/{name}").geturl()
            with psycopg.connect(url, autocommit=True) as conn:
                yield Postgres(url, conn)
        finally:
            server.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(database))


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    """The URL of an empty PostgreSQL store of this test's own."""
    return postgres.fresh_url()


@pytest.fixture
def drop_claim_connection() -> Callable[[str, str], None]:
    """Ends the PostgreSQL session that holds a claim (store URL, name), as a restart does."""

    def drop(url: str, name: str) -> None:
        with psycopg.connect(url.split("?", 1)[0], autocommit=True) as admin:
            row = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND ((classid::bigint << 32) | objid::bigint) = %s",
                (claim_key(name),),
            ).fetchone()
        assert row is not None and row[0], f"no session held the claim on {name}"

    return drop


NATS_ENV = "CITYWATCH_TEST_NATS"
NATS_DEFAULT = "nats://127.0.0.1:4222"
"""The NATS server (with JetStream) the bus tests use; each test has streams of its own."""


async def _nats_streams(url: str, config: BusConfig, *, delete: bool) -> None:
    seen: list[Exception] = []

    async def error(exc: Exception) -> None:
        seen.append(exc)

    try:
        client = await asyncio.wait_for(
            nats.connect(url, max_reconnect_attempts=-1, error_cb=error), timeout=5
        )
    except TimeoutError:
        raise seen[-1] if seen else TimeoutError(f"no answer from {url}") from None
    try:
        js = client.jetstream()
        await js.account_info()  # fails without JetStream
        if delete:
            names = Subjects.of(config)
            for stream in (names.events_stream, names.detections_stream, names.dead_stream):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(stream)
    finally:
        await client.close()


@pytest.fixture(scope="session")
def nats_url() -> str:
    """``$CITYWATCH_TEST_NATS`` (default :data:`NATS_DEFAULT`), checked to answer with JetStream.

    An unreachable server fails every test that needs it; only ``CITYWATCH_TEST_NATS=off``
    skips them.
    """
    url = os.environ.get(NATS_ENV, NATS_DEFAULT)
    if url == "off":
        pytest.skip(f"{NATS_ENV}=off: the NATS JetStream bus is not tested in this run")
    try:
        asyncio.run(_nats_streams(url, BusConfig(), delete=False))
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        pytest.fail(
            f"NATS with JetStream at {url} is unreachable: {exc!r}\n"
            f"Start it (.ci/run does: nats-server -js), point {NATS_ENV} at a server, or set"
            f" {NATS_ENV}=off to leave the scale-out bus untested.",
            pytrace=False,
        )
    return url


@pytest.fixture
def bus_config(nats_url: str) -> Iterator[BusConfig]:
    """Streams and subjects of this test's own (deleted after it), quick to redeliver."""
    token = secrets.token_hex(4)
    config = BusConfig(
        subject_prefix=f"test.{token}",
        stream_prefix=f"TEST_{token}",
        ack_wait_s=2.0,
        checkpoint_s=0.2,
        batch=200,
    )
    yield config
    asyncio.run(_nats_streams(nats_url, config, delete=True))
