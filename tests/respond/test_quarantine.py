"""The quarantine action against the real Mosquitto broker, and the gateway's verifier."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citywatch.respond.quarantine import (
    QuarantineAction,
    QuarantineConfig,
    QuarantineError,
    command,
    device_block_ruleset,
    sign,
    verify,
)

KEY = bytes(range(32))
HOST, PORT = "127.0.0.1", 1883


def _broker() -> None:
    try:
        socket.create_connection((HOST, PORT), timeout=0.5).close()
    except OSError:
        pytest.fail(f"no MQTT broker on {HOST}:{PORT}: this test needs Mosquitto")


def test_published_command_reaches_the_gateway_and_verifies() -> None:
    _broker()
    device = f"cam-{uuid.uuid4().hex[:8]}"
    got: list[bytes] = []
    ready, arrived = threading.Event(), threading.Event()
    gateway = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{device}")
    gateway.on_connect = lambda c, *_: c.subscribe(f"city/gateway/{device}/commands", qos=1)
    gateway.on_subscribe = lambda *_: ready.set()

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        got.append(msg.payload)
        arrived.set()

    gateway.on_message = on_message
    gateway.connect(HOST, PORT)
    gateway.loop_start()
    try:
        assert ready.wait(10), "gateway subscribed"
        action = QuarantineAction(QuarantineConfig(port=PORT), KEY)
        cmd = command(device, reason="C2 beaconing", now=time.time(), allow=["10.30.0.5"])
        assert action.send(cmd) == f"city/gateway/{device}/commands"
        assert arrived.wait(10), "the command arrived"
    finally:
        gateway.disconnect()
        gateway.loop_stop()
    seen: set[str] = set()
    obeyed = verify(got[0], KEY, now=time.time(), device_id=device, seen=seen)
    assert obeyed == cmd and obeyed.allow == ["10.30.0.5"]
    with pytest.raises(QuarantineError, match="replayed"):
        verify(got[0], KEY, now=time.time(), device_id=device, seen=seen)


def test_verifier_refuses_forged_foreign_and_expired_commands() -> None:
    cmd = command("cam-1", reason="scan", now=1000.0, ttl_s=60)
    message = sign(cmd, KEY)
    with pytest.raises(QuarantineError, match="bad signature"):
        verify(message.replace(b"cam-1", b"cam-2"), KEY, now=1001.0, device_id="cam-2")
    with pytest.raises(QuarantineError, match="bad signature"):
        verify(message, bytes(32), now=1001.0, device_id="cam-1")
    with pytest.raises(QuarantineError, match="not 'cam-9'"):
        verify(message, KEY, now=1001.0, device_id="cam-9")
    with pytest.raises(QuarantineError, match="expired"):
        verify(message, KEY, now=1061.0, device_id="cam-1")
    with pytest.raises(QuarantineError, match="malformed"):
        verify(b"not json", KEY, now=1001.0, device_id="cam-1")
    with pytest.raises(QuarantineError, match="at least 32"):
        sign(cmd, b"short")


def test_unreachable_broker_and_bad_device_ids_are_errors() -> None:
    action = QuarantineAction(QuarantineConfig(port=1, timeout_s=1), KEY)
    with pytest.raises(QuarantineError, match="cannot reach"):
        action.send(command("cam-1", reason="x", now=time.time()))
    with pytest.raises(QuarantineError, match="MQTT topic"):
        action.topic("cam/#")


def test_device_block_ruleset_isolates_devices_but_keeps_management() -> None:
    rules = device_block_ruleset(
        [("cam-1", "10.20.1.15"), ("str-6", "2001:db8::6")], management=["10.30.0.5"], ttl_s=600
    )
    assert "elements = { 10.20.1.15 timeout 600s }" in rules
    assert "elements = { 2001:db8::6 timeout 600s }" in rules
    assert "elements = { 10.30.0.5 }" in rules
    lines = [line.strip() for line in rules.splitlines()]
    accept = lines.index("ip saddr @quarantined ip daddr @management accept")
    assert accept < lines.index("ip saddr @quarantined counter drop")
    assert "ip6 daddr @quarantined6 counter drop" in lines
    assert rules.count("{") == rules.count("}")
    with pytest.raises(QuarantineError, match="not an IP"):
        device_block_ruleset([("cam-1", "10.20.1.999")])
    with pytest.raises(QuarantineError, match="safe nftables name"):
        device_block_ruleset([], table="x; drop")
