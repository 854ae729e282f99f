"""Live inputs with a bus: ``ingest mqtt`` and ``ingest-social`` publish for the workers.

Real Mosquitto (127.0.0.1:1883), real NATS, a local HTTP server for the feed;
the commands run as a user runs them, and the workers after them with ``once``.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.ingest import test_mqtt_broker as mqtt

from citywatch.app import city_store
from citywatch.bus.config import BusConfig
from citywatch.config import Settings, load_settings
from citywatch.errors import InputError
from citywatch.scaleout import run_worker
from citywatch.scaleout.live import BusInput
from citywatch.store import open_store

broker = mqtt.broker  # the shared Mosquitto (the test fails when it is down)
publish = mqtt.publish
RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Aldmere Daily</title><link>https://news.example/</link>
<item><guid>news-1</guid><title>Fire at the Port Market Hall</title>
<link>https://news.example/1</link><pubDate>Sat, 14 Mar 2026 10:10:00 +0100</pubDate></item>
<item><guid>news-2</guid><title>Council meets on Tuesday</title></item>
</channel></rss>"""


def config_file(tmp_path: Path, nats_url: str, bus: BusConfig) -> Path:
    """A ``citywatch.toml`` for the bus of this test (its own streams)."""
    path = tmp_path / "citywatch.toml"
    path.write_text(
        f'bus_url = "{nats_url}"\n'
        "[bus]\n"
        f'subject_prefix = "{bus.subject_prefix}"\n'
        f'stream_prefix = "{bus.stream_prefix}"\n'
        f"ack_wait_s = {bus.ack_wait_s}\n"
        f"checkpoint_s = {bus.checkpoint_s}\n"
        "[detectors.social-events]\n"
        "strong = false\n"
    )
    return path


def citywatch(*args: str) -> list[str]:
    """The command line of ``citywatch args`` from this checkout."""
    return [sys.executable, "-m", "citywatch", *args]


ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src"), "COLUMNS": "120"}


def run(args: list[str], *more: str) -> str:
    """Run ``citywatch`` to its end; what it printed."""
    done = subprocess.run(
        citywatch(*args, *more), capture_output=True, text=True, env=ENV, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def counts(out: str) -> dict[str, int]:
    return {
        k: int(v.replace(",", "")) for k, v in re.findall(r"│ ([a-z ]+?)\s+│\s+([\d,]+) │", out)
    }


def test_ingest_mqtt_with_a_bus_publishes_events_a_worker_consumes(
    broker: int, tmp_path: Path, nats_url: str, bus_config: BusConfig
) -> None:
    config = config_file(tmp_path, nats_url, bus_config)
    data = tmp_path / "data"
    topic = f"cw-test/{uuid.uuid4().hex[:8]}/light/l-1/telemetry"
    messages = [
        (
            topic,
            json.dumps(
                {"time": time.time(), "device_id": "l-1", "type": "heartbeat", "seq": i}
            ).encode(),
        )
        for i in range(7)
    ]
    command = citywatch("ingest", "mqtt", "--topic", topic)
    command += ["--client-id", f"cw-test-{uuid.uuid4().hex[:10]}", "--data-dir", str(data)]
    command += ["--config", str(config)]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the command printed nothing in 30 s"
        first = proc.stdout.readline()
        assert "listening on mqtt://127.0.0.1:1883" in first, first
        publish(broker, [*messages, (topic, b"{oops")])
        time.sleep(0.6)  # two batch intervals
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    got = counts(out)
    assert (got["messages"], got["events"], got["dead letters"]) == (8, 7, 1), out
    assert f"published to the bus {nats_url}" in out
    settings = load_settings(config, data_dir=data)
    assert not Path(settings.store.removeprefix("sqlite:///")).exists()  # no pipeline, no store

    (fleet,) = run_worker(settings, "detect", detectors=["iot-fleet"], once=True)
    assert (fleet.messages, fleet.processed, fleet.dead_letters) == (7, 7, 0)
    run_worker(settings, "correlate", once=True)
    with city_store(settings) as store:  # raw records are sealed with the bus key
        (letter,) = store.dead_letters()
    assert letter.raw.startswith(b"{oops") and letter.format == "mqtt-jsonl"


@pytest.fixture
def feed() -> Iterator[str]:
    """A news feed on a local HTTP server: its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def test_ingest_social_with_a_bus_publishes_the_items_for_the_workers(
    feed: str, tmp_path: Path, nats_url: str, bus_config: BusConfig
) -> None:
    config = config_file(tmp_path, nats_url, bus_config)
    data = tmp_path / "data"
    out = run(  # a process of its own, as CliRunner's streams would outlive it in the logger
        ["ingest-social", "news", "--url", feed, "--interval", "60", "--seconds", "1"],
        "--config", str(config), "--data-dir", str(data),
    )  # fmt: skip
    got = counts(out)
    assert (got["records"], got["events"], got["dead letters"]) == (1, 1, 1), out
    assert f"published to the bus {nats_url}" in out
    settings: Settings = load_settings(config, data_dir=data)
    with open_store(settings.store) as store:  # the cursor only: no run, no detection
        assert (store.runs(), store.detections(), store.dead_letters()) == ([], [], [])

    (social,) = run_worker(settings, "detect", detectors=["social-events"], once=True)
    assert (social.messages, social.processed) == (1, 1)
    run_worker(settings, "correlate", once=True)
    with open_store(settings.store) as store:
        assert [d.code for d in store.dead_letters()] == ["missing-field"]


def test_a_bus_input_refuses_an_unknown_format_and_publishes_nothing(
    tmp_path: Path, nats_url: str, bus_config: BusConfig
) -> None:
    settings = load_settings(data_dir=tmp_path, bus_url=nats_url, bus=bus_config)
    live = BusInput(settings)
    try:
        with pytest.raises(InputError, match="unknown format 'syslog'"):
            live.ingest("syslog", "api/1", [b"<13>hello"])
        result = live.ingest("posts-jsonl", "api/2", [b"not json"])
    finally:
        live.close()
    assert (result.accepted, result.dead_letters) == (0, 1)
    assert (live.published.events, live.published.dead_letters) == (0, 1)
