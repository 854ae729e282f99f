"""The live MQTT subscriber against a real Mosquitto broker.

Most tests use the machine's broker on 127.0.0.1:1883 (CI's ``.ci/run`` starts
it when it is down) and FAIL, never skip, when it cannot be reached. The
broker-restart test runs its own Mosquitto process (the same binary, with
persistence in a temporary directory) so that stopping it disturbs nobody
else's tests. Every test uses its own topics and client ids, and removes the
persistent sessions it leaves on the shared broker.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citywatch.config import load_settings
from citywatch.ingest.mqtt import MqttConfig, MqttSubscriber, line_for, merged_config
from citywatch.live import IngestResult, LivePipeline
from citywatch.store import open_store

HOST = "127.0.0.1"
PORT = 1883
START_HINT = "start it with: mosquitto -d -c /etc/mosquitto/mosquitto.conf"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def broker() -> int:
    """The shared broker's port; the test FAILS (not skips) when it is down."""
    if not port_open(PORT):
        pytest.fail(f"no MQTT broker on {HOST}:{PORT}: these tests need Mosquitto; {START_HINT}")
    return PORT


@pytest.fixture
def names() -> Iterator[Callable[[str], str]]:
    """Unique client ids for this test; their persistent sessions are removed afterwards."""
    made: list[tuple[str, int]] = []
    tag = uuid.uuid4().hex[:10]

    def name(role: str, port: int = PORT) -> str:
        client_id = f"cw-test-{tag}-{role}"
        made.append((client_id, port))
        return client_id

    yield name
    for client_id, port in made:
        if port_open(port):
            forget_session(client_id, port)


def forget_session(client_id: str, port: int) -> None:
    """Connect with a clean session and leave: the broker drops what it kept for ``client_id``."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    try:
        client.connect(HOST, port)
        client.loop_start()
        wait_until(client.is_connected, 5, "a clean-session connect")
        client.disconnect()
        client.loop_stop()
    except OSError:
        pass


def publish(port: int, messages: Sequence[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and return once the broker has acknowledged every message."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"cw-pub-{uuid.uuid4().hex[:10]}")
    client.connect(HOST, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def telemetry(topic: str, seq: int, **fields: object) -> tuple[str, bytes]:
    device = topic.split("/")[-2]  # a device publishes on its own topic only
    rec = {"time": time.time(), "device_id": device, "type": "heartbeat", "seq": seq}
    rec.update(fields)
    return topic, json.dumps(rec).encode()


class Recorder:
    """A sink that keeps every line it is given and passes the batch on to the live pipeline."""

    def __init__(self, live: LivePipeline) -> None:
        self.live = live
        self.lines: list[bytes] = []
        self.sources: list[str] = []
        self._lock = threading.Lock()

    def ingest(self, fmt: str, source: str, lines: Sequence[bytes]) -> IngestResult:
        with self._lock:
            self.lines.extend(lines)
            self.sources.append(source)
        return self.live.ingest(fmt, source, lines)

    def seqs(self) -> list[int]:
        with self._lock:
            return sorted(json.loads(line)["seq"] for line in self.lines)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LivePipeline]:
    settings = load_settings(data_dir=tmp_path)
    store = open_store(settings.store)
    pipeline = LivePipeline(settings, store)
    yield pipeline
    pipeline.close()
    store.close()


def subscriber(recorder: Recorder, client_id: str, topic: str, port: int = PORT) -> MqttSubscriber:
    config = MqttConfig(port=port, topics=(topic,), client_id=client_id, batch_s=0.05)
    sub = MqttSubscriber(config, recorder)
    sub.start()
    assert sub.wait_connected(5), f"not subscribed: {sub.stats().last_error}"
    return sub


def test_messages_reach_the_pipeline_and_bad_payloads_become_dead_letters(
    broker: int, names: Callable[[str], str], live: LivePipeline
) -> None:
    base = f"cw-test/{uuid.uuid4().hex[:8]}"
    topic = f"{base}/camera/cam-1/telemetry"
    recorder = Recorder(live)
    sub = subscriber(recorder, names("sub"), f"{base}/+/+/telemetry")
    good = [telemetry(topic, i, cpu=i % 100) for i in range(40)]
    bad = [
        (topic, b"\x00\x01 not json"),
        (topic, b"[1, 2, 3]"),
        (
            topic,
            json.dumps({"time": time.time(), "device_id": "cam-2", "type": "heartbeat"}).encode(),
        ),
        (topic, json.dumps({"time": time.time(), "device_id": "cam-1", "type": "x"}).encode()),
        telemetry(topic, 99, type="metrics", cpu=250),
    ]
    publish(broker, [*good[:20], *bad, *good[20:], (topic, b"")])
    total = len(good) + len(bad) + 1
    wait_until(lambda: sub.stats().messages == total, what=f"{total} messages")
    final = sub.stop()
    assert (final.messages, final.empty, final.accepted, final.dead_letters) == (total, 1, 40, 5)
    assert final.batches == len(recorder.sources) >= 1
    assert (final.reconnects, final.failed_batches, final.pending) == (0, 0, 0)
    assert all(source.startswith("mqtt/") for source in recorder.sources)
    assert len(set(recorder.sources)) == len(recorder.sources)

    assert sum(live.job.stats.events.values()) == 40
    letters = live.store.dead_letters(limit=50)
    reasons = sorted(d.reason for d in letters)
    assert len(letters) == 5
    assert all(d.format == "mqtt-jsonl" and d.stage == "ingest" for d in letters)
    assert any(r.startswith("invalid JSON") for r in reasons)
    assert "line is not a JSON object: expected {...}" in reasons
    assert any("'cam-2' but the topic is device 'cam-1'" in r for r in reasons)
    assert any("'type' is 'x'" in r for r in reasons)
    assert any("'cpu' is 250, expected 0 to 100" in r for r in reasons)
    bad_cpu = next(d for d in letters if "'cpu'" in d.reason)
    assert f'"topic":"{topic}"'.encode() in bad_cpu.raw


def test_the_broker_keeps_messages_while_the_subscriber_is_away(
    broker: int, names: Callable[[str], str], live: LivePipeline
) -> None:
    topic = f"cw-test/{uuid.uuid4().hex[:8]}/meter/m-1/telemetry"
    client_id = names("sub")
    recorder = Recorder(live)
    subscriber(recorder, client_id, topic).stop()
    publish(broker, [telemetry(topic, i) for i in range(25)])
    back = subscriber(recorder, client_id, topic)
    wait_until(lambda: back.stats().messages == 25, what="the 25 messages kept by the broker")
    final = back.stop()
    assert recorder.seqs() == list(range(25))
    assert final.accepted == 25


class Mosquitto:
    """A Mosquitto broker of our own, with persistence, that can be stopped and started again."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("the mosquitto binary is not installed: apt-get install mosquitto")
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            self.port = probe.getsockname()[1]
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence true\n"
            f"persistence_location {directory}/\nautosave_interval 0\nuser root\n"
            f"log_dest file {directory}/mosquitto.log\n"
        )
        self.binary = binary
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, f"mosquitto on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto saves its sessions and queues, then exits
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path)
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


def test_broker_restart_reconnects_and_loses_nothing(
    own_broker: Mosquitto, live: LivePipeline
) -> None:
    topic = "city/camera/cam-7/telemetry"
    recorder = Recorder(live)
    config = MqttConfig(
        port=own_broker.port,
        topics=("city/+/+/telemetry",),
        client_id="cw-restart",
        batch_s=0.05,
        reconnect_min_s=2,  # the broker is back well before we are: it must queue for us
        reconnect_max_s=2,
    )
    sub = MqttSubscriber(config, recorder)
    sub.start()
    try:
        assert sub.wait_connected(5)
        publish(own_broker.port, [telemetry(topic, i) for i in range(30)])
        wait_until(lambda: len(recorder.lines) == 30, what="the first 30 messages")

        own_broker.stop()
        wait_until(lambda: not sub.stats().connected, 5, "the subscriber to see the broker go")
        own_broker.start()
        # published before the subscriber is back: the broker queues them in its session,
        # which it restored from its persistence file
        assert not sub.stats().connected
        publish(own_broker.port, [telemetry(topic, i) for i in range(30, 60)])
        assert not sub.stats().connected
        wait_until(lambda: len(recorder.lines) >= 60, 15, "the 30 messages after the restart")
        time.sleep(0.2)  # anything duplicated or extra would show up now
    finally:
        final = sub.stop()
    assert recorder.seqs() == list(range(60))
    assert final.messages == 60
    assert final.accepted == 60
    assert final.reconnects >= 1
    assert final.disconnects >= 2  # the broker going away, and our own stop
    assert sum(live.job.stats.events.values()) == 60


def test_broker_restart_under_load_delivers_every_message(
    own_broker: Mosquitto, live: LivePipeline
) -> None:
    """QoS 1 is at least once: whatever the broker acknowledged arrives, perhaps twice."""
    topic = "city/meter/m-3/telemetry"
    recorder = Recorder(live)
    config = MqttConfig(
        port=own_broker.port, topics=(topic,), client_id="cw-load", batch_s=0.05, reconnect_max_s=1
    )
    sub = MqttSubscriber(config, recorder)
    sub.start()
    assert sub.wait_connected(5)
    sender = paho.Client(CallbackAPIVersion.VERSION2, client_id="cw-load-pub", clean_session=False)
    sender.reconnect_delay_set(1, 1)
    acked: set[int] = set()
    sender.on_publish = lambda client, userdata, mid, reason, properties: acked.add(mid)
    sender.connect(HOST, own_broker.port)
    sender.loop_start()
    total = 300
    try:
        mids = []
        for i in range(total):
            _, payload = telemetry(topic, i)
            mids.append(sender.publish(topic, payload, qos=1).mid)  # paho queues while down
            if i == total // 3:
                own_broker.stop()
            elif i == total // 2:
                own_broker.start()
            time.sleep(0.002)
        wait_until(lambda: acked.issuperset(mids), 15, "the broker to acknowledge every message")
        wait_until(lambda: set(recorder.seqs()) == set(range(total)), 15, "every message")
    finally:
        sender.disconnect()
        sender.loop_stop()
        final = sub.stop()
    assert final.reconnects >= 1
    assert final.messages == len(recorder.lines) >= total
    assert final.accepted == final.messages


def test_cli_runs_until_ctrl_c_and_prints_counts(
    broker: int, names: Callable[[str], str], tmp_path: Path
) -> None:
    topic = f"cw-test/{uuid.uuid4().hex[:8]}/light/l-1/telemetry"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[2] / "src"),
        "COLUMNS": "120",
    }
    command = [sys.executable, "-m", "citywatch", "ingest", "mqtt", "--topic", topic]
    command += ["--client-id", names("cli"), "--data-dir", str(tmp_path)]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the command printed nothing in 30 s"
        first = proc.stdout.readline()
        assert "listening on mqtt://127.0.0.1:1883" in first, first
        publish(broker, [*(telemetry(topic, i) for i in range(7)), (topic, b"{oops")])
        time.sleep(0.6)  # two batch intervals
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    counts = dict(re.findall(r"│ ([a-z ]+?)\s+│\s+([\d,]+) │", out))
    assert counts["messages"] == "8", out
    assert (counts["events"], counts["dead letters"], counts["reconnects"]) == ("7", "1", "0")


def test_line_for_adds_the_topic_and_leaves_bad_payloads_alone() -> None:
    assert (
        line_for("a/b", b' {"x": 1, "topic": "spoof"}\n')
        == b'{"x": 1, "topic": "spoof","topic":"a/b"}'
    )
    assert json.loads(line_for("a/b", b'{"x": 1, "topic": "spoof"}'))["topic"] == "a/b"
    assert line_for("t", b"{}") == b'{"topic":"t"}'
    assert line_for('t"x', b"{ }") == b'{"topic":"t\\"x"}'
    for payload in (b"[1]", b"nope", b'{"a":1', b"\xef\xbb\xbf{}"):
        assert line_for("t", payload) == payload
    assert line_for("t", b'{"a":1\x0b}') == b'{"a":1\x0b,"topic":"t"}'  # still invalid JSON


def test_config_is_validated() -> None:
    assert merged_config(None, port=8883, topics=None).port == 8883
    with pytest.raises(Exception, match="'#' must be the last level"):
        merged_config(None, topics=("city/#/x",))
    with pytest.raises(Exception, match="'\\+' must be a whole level"):
        MqttConfig(topics=("city/a+/x",))
    with pytest.raises(Exception, match="port"):
        merged_config(MqttConfig(), port=70000)
    with pytest.raises(Exception, match="cert_file and key_file go together"):
        MqttConfig.model_validate({"tls": {"cert_file": "c.pem"}})
