"""``citywatch worker`` and ``citywatch analyse --bus`` as a user runs them, on a real NATS server.

The workers run as real processes: stopped with SIGTERM they ack what they did;
killed with SIGKILL in the middle of a stream, the next one resumes from the
durable consumer and the checkpoint, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nats.js.errors
import pytest
from nats.js.api import ConsumerInfo, DeliverPolicy
from typer.testing import CliRunner

from citywatch.app import analyse
from citywatch.bus.config import BusConfig
from citywatch.bus.jetstream import JetStreamBus
from citywatch.cli import app
from citywatch.config import Settings, load_settings
from citywatch.errors import ConfigError
from citywatch.pipeline import InputSpec
from citywatch.simulate import simulate
from citywatch.store import open_store

runner = CliRunner()
Found = dict[str, tuple[str, str, tuple[str, ...]]]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    simulate(1, out, hours=1.0)
    return out


def prod_toml(tmp_path: Path, url: str, config: BusConfig) -> Path:
    """A scale-out config: this test's bus and a store of its own."""
    path = tmp_path / "prod.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'bus_url = "{url}"\n'
        "[bus]\n"
        f'subject_prefix = "{config.subject_prefix}"\n'
        f'stream_prefix = "{config.stream_prefix}"\n'
        f"ack_wait_s = {config.ack_wait_s}\n"
        f"checkpoint_s = {config.checkpoint_s}\n"
        f"batch = {config.batch}\n"
    )
    return path


def consumer(settings: Settings, name: str) -> ConsumerInfo | None:
    """The consumer's state on the server; None before a worker created it."""

    async def info() -> ConsumerInfo | None:
        bus = await JetStreamBus.connect(settings.bus_url, settings.bus)
        try:
            return await bus.js.consumer_info(bus.subjects.events_stream, name)
        except nats.js.errors.NotFoundError:
            return None
        finally:
            await bus.close()

    return asyncio.run(info())


def acked(settings: Settings, name: str) -> int:
    """The stream sequence up to which the consumer ``name`` acked every message."""
    info = consumer(settings, name)
    return info.ack_floor.stream_seq if info is not None and info.ack_floor else 0


@contextlib.contextmanager
def worker(config: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``citywatch worker`` running as a process of its own (killed at the end if still there)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "citywatch", "worker", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stored(settings: Settings) -> Found:
    with open_store(settings.store) as store:
        return {d.id: (d.detector, d.rule_id, tuple(d.evidence)) for d in store.detections()}


def embedded(settings: Settings, specs: list[InputSpec], detectors: set[str]) -> Found:
    alone = settings.model_copy(update={"bus_url": ""})
    job = analyse(alone, specs, None, command="test").job
    found = {d.id: (d.detector, d.rule_id, tuple(d.evidence)) for d in job.detections()}
    return {k: v for k, v in found.items() if v[0] in detectors}


def test_a_worker_stopped_by_sigterm_acks_what_it_did(
    tmp_path: Path, city: Path, nats_url: str, bus_config: BusConfig
) -> None:
    config = prod_toml(tmp_path, nats_url, bus_config)
    published = runner.invoke(
        app, ["analyse", "--config", str(config), "--in", f"access-log:{city}/portal-access.log"]
    )
    assert published.exit_code == 0, published.output
    lines = len((city / "portal-access.log").read_bytes().splitlines())
    assert f"published {lines:,} events and 0 dead letters" in published.output
    settings = load_settings(config)

    with worker(config, "--detectors", "login-abuse") as proc:
        wait_for(lambda: acked(settings, "detect-login-abuse") == lines, "every event acked")
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "detect worker on nats://" in output and "(Ctrl-C stops)" in output
    assert f"detect-login-abuse │ {lines:8,} │ {lines:9,} │" in output
    info = consumer(settings, "detect-login-abuse")
    assert info is not None
    assert (info.num_pending, info.num_ack_pending) == (0, 0)
    with open_store(settings.store) as store:
        assert store.load_state("worker/detect-login-abuse/watermark") is not None


def test_a_killed_worker_is_resumed_and_loses_nothing(
    tmp_path: Path, city: Path, nats_url: str, bus_config: BusConfig
) -> None:
    config = prod_toml(tmp_path, nats_url, bus_config)
    settings = load_settings(config)
    portal = [InputSpec(format="http-jsonl", path=city / "portal.http.jsonl")]
    chosen = {"web-attacks", "sigma"}
    assert (
        runner.invoke(
            app,
            ["analyse", "--config", str(config), "--in", f"http-jsonl:{city}/portal.http.jsonl"],
        ).exit_code
        == 0
    )
    total = consumer_total(settings)

    with worker(config, "--detectors", ",".join(sorted(chosen))) as proc:
        wait_for(lambda: acked(settings, "detect-sigma") > 0, "a first checkpoint")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < acked(settings, "detect-sigma") < total, "killed in the middle of the stream"
    killed = consumer(settings, "detect-sigma")
    assert killed is not None
    held = killed.num_ack_pending  # fetched by the dead worker, not acked

    again = runner.invoke(
        app, ["worker", "--config", str(config), "--detectors", "sigma,web-attacks", "--once"]
    )
    assert again.exit_code == 0, again.output
    (row,) = [line for line in again.output.splitlines() if line.startswith("│ detect-sigma ")]
    assert row.rstrip(" │").endswith("yes"), "resumed from its checkpoint"
    resumed = consumer(settings, "detect-sigma")
    assert resumed is not None
    made_again = resumed.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert made_again == (held > 0), "what a dead worker held comes again first, in order"
    correlate = runner.invoke(
        app, ["worker", "--config", str(config), "--role", "correlate", "--once"]
    )
    assert correlate.exit_code == 0, correlate.output
    assert stored(settings) == embedded(settings, portal, chosen), "nothing lost, nothing twice"


def consumer_total(settings: Settings) -> int:
    async def last() -> int:
        bus = await JetStreamBus.connect(settings.bus_url, settings.bus)
        try:
            return (await bus.js.stream_info(bus.subjects.events_stream)).state.last_seq
        finally:
            await bus.close()

    return asyncio.run(last())


def test_analyse_with_a_bus_only_publishes(
    tmp_path: Path, city: Path, nats_url: str, bus_config: BusConfig
) -> None:
    config = prod_toml(tmp_path, nats_url, bus_config)
    spec = f"access-log:{city}/portal-access.log"
    refused = runner.invoke(
        app, ["analyse", "--config", str(config), "--in", spec, "-o", "x.jsonl"]
    )
    assert refused.exit_code == 2
    assert "not with a bus" in refused.output
    embedded_run = runner.invoke(
        app, ["analyse", "--config", str(config), "--bus", "", "--in", spec, "--no-store"]
    )
    assert embedded_run.exit_code == 0, embedded_run.output
    assert "detections: login-abuse" in embedded_run.output
    nobus = runner.invoke(app, ["worker", "--data-dir", str(tmp_path), "--once"])
    assert isinstance(nobus.exception, ConfigError)
    assert str(nobus.exception) == "bus_url: no bus to work on: set it (nats://HOST:PORT)"
