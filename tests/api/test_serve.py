"""``citywatch serve``: a real server process on SQLite or PostgreSQL, with a one-time admin."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from citywatch.api import ensure_admin
from citywatch.api.credentials import verify_password
from citywatch.errors import ConfigError
from citywatch.store import Store, open_store

pytestmark = pytest.mark.slow
SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, data_dir: Path, *extra: str, scheme: str = "http") -> None:
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        command = [sys.executable, "-m", "citywatch", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.lines: list[str] = []

    def wait_ready(self, *, verify: bool | str = True) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/api/health", verify=verify, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("the server did not come up")

    def stop(self) -> str:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=20)
        return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data")
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def test_serve_prints_a_one_time_admin_password_that_logs_in(
    served: Served, tmp_path: Path
) -> None:
    served.wait_ready()
    with httpx.Client(base_url=served.url, timeout=10) as client:
        assert client.get("/api/openapi.json").status_code == 200
        assert client.get("/api/v1/incidents").status_code == 401
        out = served.stop()
    # SIGTERM (systemd's, Docker's) stops it as Ctrl-C does: uvicorn sent it again after its
    # shutdown, the process died there, and the live pipeline's state was never saved
    assert served.process.returncode == 0, served.process.stderr.read()  # type: ignore[union-attr]
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'citywatch.db'}")
    try:
        (run,) = store.runs()
        assert run.command == "serve" and run.finished is not None
    finally:
        store.close()
    match = re.search(r"created user 'admin' with one-time password: (\S+)", out)
    assert match, out
    password = match.group(1)
    assert f"http://127.0.0.1:{served.port}/api/docs" in out
    # a second start keeps the admin and prints no password
    again = Served(tmp_path / "data")
    try:
        again.wait_ready()
        with httpx.Client(base_url=again.url, timeout=10) as client:
            login = client.post("/api/v1/auth/login", json={"name": "admin", "password": password})
            assert login.status_code == 200, login.text
            assert login.json()["roles"] == ["admin"]
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            token = client.post(
                "/api/v1/tokens",
                json={"user": "admin", "label": "script", "roles": ["admin"]},
                headers=csrf,
            ).json()["token"]
        assert (
            httpx.get(
                f"{again.url}/api/v1/stats", headers={"Authorization": f"Bearer {token}"}
            ).status_code
            == 200
        )
        second = again.stop()
    finally:
        if again.process.poll() is None:
            again.process.kill()
    assert "one-time password" not in second


def test_serve_with_a_prod_toml_stores_in_postgresql_and_masks_its_password(
    tmp_path: Path, postgres_url: str
) -> None:
    # the test server trusts local logins, so the password is not checked: only shown, or not
    with_password = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:s3cr3t@")
    prod = tmp_path / "prod.toml"
    prod.write_text(f'store_url = "{with_password}"\n')
    server = Served(tmp_path / "data", "--config", str(prod))
    try:
        server.wait_ready()
        assert httpx.get(f"{server.url}/api/v1/incidents", timeout=10).status_code == 401
        out = server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert "(store postgresql://postgres:***@127.0.0.1:5432/citywatch_test_" in out
    assert "s3cr3t" not in out
    match = re.search(r"created user 'admin' with one-time password: (\S+)", out)
    assert match, out
    with closing(open_store(postgres_url)) as store:
        admin = store.user("admin")
        assert admin is not None
        assert verify_password(match.group(1), admin.password_hash)
        assert [run.command for run in store.runs()] == ["serve"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_serve_speaks_tls_with_a_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*openssl, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = Served(
        tmp_path / "data", "--tls-cert", str(cert), "--tls-key", str(key), scheme="https"
    )
    try:
        server.wait_ready(verify=False)
        response = httpx.get(f"{server.url}/api/health", verify=False, timeout=10)
        assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        server.stop()


def test_serve_wants_both_tls_files(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "citywatch", "serve", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--tls-cert", str(tmp_path / "cert.pem")],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    )
    assert result.returncode == 2
    assert "--tls-key" in result.stderr


def test_serve_on_a_port_another_server_holds_fails_before_making_the_admin(
    tmp_path: Path,
) -> None:
    # It made the admin and printed the one-time password, then failed to bind; the next
    # start printed no password, and nobody had one.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        command = [sys.executable, "-m", "citywatch", "serve", "--data-dir", str(tmp_path)]
        result = subprocess.run(
            [*command, "--port", str(port)],
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": SRC},
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}: cannot listen there" in result.stderr
    assert "one-time password" not in result.stdout
    assert not (tmp_path / "citywatch.db").exists()


def test_ensure_admin_creates_one_only_when_none_exists(store: Store) -> None:
    password = ensure_admin(store)
    assert password is not None
    assert len(password) >= 20
    admin = store.user("admin")
    assert admin is not None
    assert admin.roles == ["admin"]
    assert verify_password(password, admin.password_hash)
    assert ensure_admin(store) is None


def test_ensure_admin_will_not_take_over_a_non_admin_named_admin(
    store: Store, make_token: object
) -> None:
    make_token("admin", ["viewer"])  # type: ignore[operator]
    with pytest.raises(ConfigError, match="admin"):
        ensure_admin(store)
