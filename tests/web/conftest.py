"""Fixtures for the dashboard: the demo city served by a real ``citywatch serve`` process.

The end-to-end tests drive Debian's Chromium (``/usr/bin/chromium``) through
Playwright; ``make test`` installs it when missing. Screenshots go to
``test-artifacts/`` (kept by CI, ignored by git).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
_PASSWORD_LINE = re.compile(r"one-time password: (\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    # The browser tests log many officers in from one address; rate limits have tests of their own.
    return {
        **os.environ,
        "PYTHONPATH": SRC,
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
        "CITYWATCH_API__LOGIN_BURST": "100",
        "CITYWATCH_API__LOGIN_RATE_PER_MIN": "100",
    }


@dataclass
class DemoServer:
    """A served demo: its URL and the one-time admin password it printed."""

    url: str
    admin_password: str
    process: subprocess.Popen[str]
    data_dir: Path

    def session(self, name: str, password: str) -> httpx.Client:
        """An HTTP client logged in as ``name``, sending the session's CSRF token."""
        client = httpx.Client(base_url=self.url, timeout=10)
        answer = client.post("/api/v1/auth/login", json={"name": name, "password": password})
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def open_incidents(self) -> int:
        """How many incidents are open (new, acknowledged or contained), by the API."""
        admin = self.session("admin", self.admin_password)
        try:
            found = admin.get("/api/v1/incidents", params={"limit": 1000}).json()
        finally:
            admin.close()
        return sum(i["status"] in ("new", "acknowledged", "contained") for i in found)

    def add_user(self, name: str, roles: list[str]) -> None:
        admin = self.session("admin", self.admin_password)
        try:
            body = {"name": name, "roles": roles, "password": PASSWORD}
            assert admin.post("/api/v1/users", json=body).status_code == 201
        finally:
            admin.close()


def serve_demo(data_dir: Path) -> DemoServer:
    """Run ``citywatch demo --no-serve`` into ``data_dir``, then serve it; wait until up."""
    demo = [sys.executable, "-m", "citywatch", "demo", "--no-serve", "--data-dir", str(data_dir)]
    subprocess.run(demo, check=True, capture_output=True, env=_env(), timeout=120)
    port = free_port()
    command = [sys.executable, "-m", "citywatch", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_env(),
        text=True,
    )
    assert process.stdout is not None
    password = None
    for line in process.stdout:
        if found := _PASSWORD_LINE.search(line):
            password = found.group(1)
            break
    assert password, "the server printed no admin password"
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return DemoServer(
                    url=url, admin_password=password, process=process, data_dir=data_dir
                )
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not come up")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    server = serve_demo(tmp_path_factory.mktemp("demo") / "data")
    yield server
    server.process.terminate()
    try:
        server.process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.communicate()
