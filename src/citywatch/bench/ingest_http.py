"""Ingest over HTTP: NDJSON batches into a real ``citywatch serve``, and the dashboard meanwhile.

The server is a real uvicorn process (``citywatch serve`` on a fresh data
dir); the sender is another process that posts the simulated portal's
``http-jsonl`` records in NDJSON batches with an ingest token, over
``CONNECTIONS`` keep-alive connections. While it sends, this process asks for
the dashboard's overview page and the stats endpoint as a logged-in analyst
would, and times each answer; the same is timed on the idle server first.
Every record goes through the whole live pipeline (parse, enrich, detect,
correlate, store) before its batch is answered.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.process import BaseProcess
from pathlib import Path
from queue import Empty
from typing import Final

import httpx
import msgspec

from citywatch.simulate import simulate

TARGET_RECORDS_PER_S: Final = 10_000
BATCH: Final = 5_000
CONNECTIONS: Final = 2
PAGES: Final = ("/", "/api/v1/stats")
_PASSWORD = re.compile(r"one-time password: (\S+)")


class Latency(msgspec.Struct, kw_only=True):
    """Page answer times in milliseconds."""

    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    errors: int


class IngestHttpResult(msgspec.Struct, kw_only=True):
    """What one run gave: records sent and accepted, the rate, and page latency."""

    records: int
    accepted: int
    dead_letters: int
    batches: int
    batch_records: int
    connections: int
    wall_s: float
    records_per_s: float
    target_records_per_s: int
    meets_target: bool
    pages_idle: Latency
    pages_during_ingest: Latency


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _batches(path: Path, size: int) -> list[bytes]:
    lines = path.read_bytes().splitlines(keepends=True)
    return [b"".join(lines[i : i + size]) for i in range(0, len(lines), size)]


def _send(
    url: str, token: str, batches: list[bytes], out: mp.Queue[tuple[float, int, int]]
) -> None:
    """The sender process: post every batch (in order per connection), report the totals."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    lanes = [batches[i::CONNECTIONS] for i in range(CONNECTIONS)]

    def lane(mine: list[bytes]) -> tuple[int, int]:
        accepted = dead = 0
        with httpx.Client(base_url=url, headers=headers, timeout=300) as client:
            for body in mine:
                answer = client.post("/api/v1/ingest/http-jsonl?source=bench", content=body)
                answer.raise_for_status()
                accepted += answer.json()["accepted"]
                dead += answer.json()["dead_letters"]
        return accepted, dead

    started = time.perf_counter()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        totals = list(pool.map(lane, lanes))
    out.put((time.perf_counter() - started, sum(t[0] for t in totals), sum(t[1] for t in totals)))


def _latency(samples: list[float], errors: int) -> Latency:
    ms = sorted(s * 1000 for s in samples) or [0.0]
    return Latency(
        requests=len(samples),
        p50_ms=round(statistics.median(ms), 1),
        p95_ms=round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 1),
        max_ms=round(ms[-1], 1),
        errors=errors,
    )


def _poll_pages(client: httpx.Client, stop: threading.Event, pause_s: float) -> Latency:
    samples: list[float] = []
    errors = 0
    while not stop.is_set():
        for page in PAGES:
            started = time.perf_counter()
            try:
                ok = client.get(page).status_code == 200
            except httpx.HTTPError:
                ok = False
            samples.append(time.perf_counter() - started)
            errors += not ok
        stop.wait(pause_s)
    return _latency(samples, errors)


class _Server:
    """``citywatch serve`` in its own process on a fresh data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
        command = [sys.executable, "-m", "citywatch", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [*command, "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        self.password = self._password()
        self._wait()

    def _password(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if found := _PASSWORD.search(line):
                return found.group(1)
        raise RuntimeError(f"citywatch serve exited with {self.process.wait()}")

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("citywatch serve did not come up")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


def _result(queue: mp.Queue[tuple[float, int, int]], sender: BaseProcess) -> tuple[float, int, int]:
    """The sender's totals, or an error as soon as it died without them."""
    while True:
        try:
            return queue.get(timeout=1)
        except Empty:
            if not sender.is_alive():
                raise RuntimeError(f"the sender failed (exit code {sender.exitcode})") from None


def _session(url: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    answer = client.post("/api/v1/auth/login", json={"name": "admin", "password": password})
    answer.raise_for_status()
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def run(work: Path, *, hours: float = 24.0) -> IngestHttpResult:
    """Simulate ``hours`` of portal traffic, send it over HTTP, time the dashboard meanwhile."""
    city = work / "city"
    simulate(1, city, hours=hours)
    batches = _batches(city / "portal.http.jsonl", BATCH)
    records = sum(b.count(b"\n") for b in batches)
    server = _Server(work / f"data-{time.time_ns()}")
    try:
        admin = _session(server.url, server.password)
        try:
            user = {"name": "bench-ingest", "roles": ["ingest"], "password": None}
            admin.post("/api/v1/users", json=user).raise_for_status()
            body = {"user": "bench-ingest", "label": "bench", "roles": ["ingest"]}
            token = admin.post("/api/v1/tokens", json=body).json()["token"]
            idle_over = threading.Event()
            threading.Timer(3.0, idle_over.set).start()
            idle = _poll_pages(admin, idle_over, 0.1)
            spawn = mp.get_context("spawn")
            queue: mp.Queue[tuple[float, int, int]] = spawn.Queue()
            sender = spawn.Process(target=_send, args=(server.url, token, batches, queue))
            sent = threading.Event()
            sender.start()
            poller_result: list[Latency] = []
            poller = threading.Thread(
                target=lambda: poller_result.append(_poll_pages(admin, sent, 0.1))
            )
            poller.start()
            wall_s, accepted, dead = _result(queue, sender)
            sent.set()
            poller.join()
            sender.join()
        finally:
            admin.close()
    finally:
        server.stop()
    rate = records / wall_s
    return IngestHttpResult(
        records=records,
        accepted=accepted,
        dead_letters=dead,
        batches=len(batches),
        batch_records=BATCH,
        connections=CONNECTIONS,
        wall_s=round(wall_s, 2),
        records_per_s=round(rate),
        target_records_per_s=TARGET_RECORDS_PER_S,
        meets_target=rate >= TARGET_RECORDS_PER_S,
        pages_idle=idle,
        pages_during_ingest=poller_result[0],
    )
