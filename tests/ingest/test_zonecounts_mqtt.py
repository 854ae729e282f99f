"""Live zone counts over MQTT, through a real Mosquitto broker, into the live pipeline.

A counting gateway publishes one JSON message per zone and interval on the
shared broker (127.0.0.1:1883; the test FAILS when it is down); the
subscriber is configured with ``format = "zone-counts"``. Messages that list
device identifiers are counted, and the identifiers never reach the store.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citywatch.config import load_settings
from citywatch.ingest.mqtt import MqttConfig, MqttSubscriber
from citywatch.live import LivePipeline
from citywatch.store import open_store

HOST, PORT = "127.0.0.1", 1883
MACS = ["6a:11:22:33:44:55", "6a:11:22:33:44:56", "6A-11-22-33-44-55"]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LivePipeline]:
    try:
        socket.create_connection((HOST, PORT), timeout=0.5).close()
    except OSError:
        pytest.fail(f"no MQTT broker on {HOST}:{PORT}: these tests need Mosquitto")
    settings = load_settings(data_dir=tmp_path)
    store = open_store(settings.store)
    pipeline = LivePipeline(settings, store)
    yield pipeline
    pipeline.close()
    store.close()


def _publish(messages: list[tuple[str, bytes]]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"cw-pub-{uuid.uuid4().hex[:10]}")
    client.connect(HOST, PORT)
    client.loop_start()
    try:
        for info in [client.publish(topic, payload, qos=1) for topic, payload in messages]:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_zone_counts_arrive_live_and_identifiers_stay_out(
    live: LivePipeline, tmp_path: Path
) -> None:
    base = f"cw-test/{uuid.uuid4().hex[:8]}"
    client_id = f"cw-test-{uuid.uuid4().hex[:10]}"
    config = MqttConfig(
        topics=(f"{base}/+/counts",), client_id=client_id, batch_s=0.05,
        clean_session=True, format="zone-counts",
    )  # fmt: skip
    sub = MqttSubscriber(config, live)
    sub.start()
    assert sub.wait_connected(5), f"not subscribed: {sub.stats().last_error}"
    now = time.time()
    topic = f"{base}/arena/counts"
    messages = [(topic, b"not json, and first in its batch")]
    for zone in ("north-stand", "concourse-n"):
        rec = {"time": now, "venue": "arena", "zone": zone, "source": "wifi", "interval_s": 60}
        messages.append((topic, json.dumps({**rec, "devices": MACS}).encode()))
        messages.append((topic, json.dumps({**rec, "source": "camera", "count": 250}).encode()))
    _publish(messages)
    deadline = time.monotonic() + 10
    while sub.stats().messages < len(messages) and time.monotonic() < deadline:
        time.sleep(0.02)
    final = sub.stop()
    assert (final.messages, final.accepted, final.dead_letters) == (5, 4, 1)
    (letter,) = live.store.dead_letters(limit=10)
    assert letter.format == "zone-counts" and letter.code == "bad-json"
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert not any(m.encode().lower() in stored.lower() for m in MACS)
