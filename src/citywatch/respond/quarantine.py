"""Quarantine a device: an HMAC-signed command published to its gateway's MQTT topic.

The device gateway (the box between the devices and the city network)
subscribes to ``city/gateway/{device_id}/commands``; on a valid command it
cuts the device off except for the addresses in ``allow`` (its management
hosts), until the command expires or a ``release`` comes. The wire format is
JSON::

    {"command": {"action": "quarantine", "device_id": "cam-0006", ...},
     "alg": "HMAC-SHA256", "sig": "<hex of the HMAC over the command's JSON bytes>"}

:func:`verify` is what the gateway runs: it checks the signature in constant
time, that the command is for this device, not expired and not a replay (its
``nonce`` not seen before). The key is shared between citywatch and the
gateways, at least 32 bytes. Publishing waits for the broker's QoS 1
acknowledgement. Whether to quarantine is a responder's decision (approval
comes with the response workflow); this module only carries it out.

Where the gateway cannot isolate a device itself, :func:`device_block_ruleset`
writes the same decision for the fleet's firewall: an nftables table whose
``forward`` chain drops the devices' traffic both ways, except to and from
their management hosts, each device until its timeout.

>>> key = b"k" * 32
>>> cmd = command("cam-1", reason="C2 beaconing", now=1000.0)
>>> verify(sign(cmd, key), key, now=1001.0, device_id="cam-1").device_id
'cam-1'
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
from collections.abc import Iterable
from typing import Final, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from citywatch.respond.errors import RespondError

TOPIC: Final = "city/gateway/{device_id}/commands"
ALG: Final = "HMAC-SHA256"
MIN_KEY: Final = 32


class QuarantineError(RespondError):
    """A quarantine command cannot be sent, or a received one must be refused (``reason``)."""


class Command(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway is told to do to one device, until when, and why."""

    action: Literal["quarantine", "release"]
    device_id: str
    issued_at: float
    expires_at: float
    nonce: str
    reason: str = ""
    incident: str | None = None
    allow: list[str] = []


class _Envelope(msgspec.Struct, frozen=True):
    command: msgspec.Raw
    alg: str
    sig: str


def command(
    device_id: str,
    *,
    reason: str,
    now: float,
    ttl_s: float = 3600.0,
    incident: str | None = None,
    allow: list[str] | None = None,
    action: Literal["quarantine", "release"] = "quarantine",
) -> Command:
    """A new command with a fresh nonce, valid for ``ttl_s`` seconds from ``now``."""
    if ttl_s <= 0:
        raise QuarantineError("ttl_s must be positive")
    return Command(
        action=action, device_id=device_id, issued_at=now, expires_at=now + ttl_s,
        nonce=secrets.token_hex(16), reason=reason, incident=incident, allow=list(allow or []),
    )  # fmt: skip


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY:
        raise QuarantineError(f"the command key must be at least {MIN_KEY} bytes")


def sign(cmd: Command, key: bytes) -> bytes:
    """The command as the signed JSON message the gateway receives."""
    _check_key(key)
    body = msgspec.json.encode(cmd)
    sig = hmac.new(key, body, hashlib.sha256).hexdigest()
    return b'{"command":' + body + b',"alg":"' + ALG.encode() + b'","sig":"' + sig.encode() + b'"}'


def verify(
    message: bytes,
    key: bytes,
    *,
    now: float,
    device_id: str,
    seen: set[str] | None = None,
) -> Command:
    """The command in ``message`` if the gateway of ``device_id`` must obey it.

    Raises :class:`QuarantineError` saying why not: malformed, unknown
    algorithm, bad signature, another device, expired or issued in the future,
    or a replayed nonce (``seen`` holds the nonces already obeyed; it is
    updated).
    """
    _check_key(key)
    try:
        envelope = msgspec.json.decode(message, type=_Envelope)
    except msgspec.DecodeError as exc:
        raise QuarantineError(f"malformed command message: {exc}") from exc
    if envelope.alg != ALG:
        raise QuarantineError(f"unknown signature algorithm {envelope.alg!r}")
    body = bytes(envelope.command)
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, envelope.sig):
        raise QuarantineError("bad signature")
    try:
        cmd = msgspec.json.decode(body, type=Command)
    except msgspec.DecodeError as exc:
        raise QuarantineError(f"malformed command: {exc}") from exc
    if cmd.device_id != device_id:
        raise QuarantineError(f"command is for {cmd.device_id!r}, not {device_id!r}")
    if not cmd.issued_at - 60.0 <= now < cmd.expires_at:
        raise QuarantineError("command expired or not yet valid")
    if seen is not None:
        if cmd.nonce in seen:
            raise QuarantineError("replayed command (nonce already used)")
        seen.add(cmd.nonce)
    return cmd


class QuarantineConfig(BaseModel):
    """Where the device gateways listen (``[respond.quarantine]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="MQTT broker of the device gateways")
    port: int = Field(1883, ge=1, le=65535, description="broker port")
    username: str | None = Field(None, description="user name, if the broker wants one")
    password: SecretStr | None = Field(None, description="password")
    topic: str = Field(TOPIC, description="gateway command topic; {device_id} is replaced")
    ttl_s: float = Field(3600.0, gt=0, description="how long a quarantine lasts unless renewed")
    timeout_s: float = Field(
        10.0, gt=0, description="longest wait for the broker's acknowledgement"
    )
    key: SecretStr | None = Field(
        None, description="hex key shared with the gateways (at least 32 bytes) that signs commands"
    )

    def key_bytes(self) -> bytes:
        """The signing key; :class:`QuarantineError` when none (or a bad one) is configured."""
        if self.key is None:
            raise QuarantineError("no quarantine key configured ([respond.quarantine] key)")
        try:
            key = bytes.fromhex(self.key.get_secret_value())
        except ValueError:
            raise QuarantineError("the quarantine key is not hex") from None
        _check_key(key)
        return key


class QuarantineAction:
    """Publishes signed quarantine (and release) commands at QoS 1."""

    name: Final = "quarantine"

    def __init__(self, config: QuarantineConfig, key: bytes) -> None:
        _check_key(key)
        self.config = config
        self._key = key

    def topic(self, device_id: str) -> str:
        if not device_id or any(c in device_id for c in "+#/"):
            raise QuarantineError(f"device id {device_id!r} cannot name an MQTT topic")
        return self.config.topic.format(device_id=device_id)

    def send(self, cmd: Command) -> str:
        """Publish ``cmd`` to its device's gateway; returns the topic once the broker has it."""
        import paho.mqtt.client as paho  # noqa: PLC0415 - paho loads only to send
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        cfg = self.config
        topic = self.topic(cmd.device_id)
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"citywatch-quarantine-{cmd.nonce[:12]}"
        )
        if cfg.username is not None:
            secret = cfg.password.get_secret_value() if cfg.password else None
            client.username_pw_set(cfg.username, secret)
        connected = threading.Event()
        client.on_connect = lambda *_args: connected.set()
        try:
            client.connect(cfg.host, cfg.port, keepalive=30)
        except OSError as exc:
            raise QuarantineError(f"cannot reach the broker {cfg.host}:{cfg.port}: {exc}") from exc
        client.loop_start()
        try:
            if not connected.wait(cfg.timeout_s):
                raise QuarantineError(f"no MQTT connection to {cfg.host}:{cfg.port}")
            info = client.publish(topic, sign(cmd, self._key), qos=1)
            info.wait_for_publish(cfg.timeout_s)
            if not info.is_published():
                raise QuarantineError(f"the broker did not acknowledge the command on {topic}")
        finally:
            client.disconnect()
            client.loop_stop()
        return topic


_NFT_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


def device_block_ruleset(
    devices: Iterable[tuple[str, str]],
    *,
    ttl_s: int = 3600,
    management: Iterable[str] = (),
    table: str = "citywatch_iot",
) -> str:
    """An ``nft -f`` file isolating ``devices`` (``(device_id, ip)`` pairs) at a firewall.

    Loading it again replaces the table. Raises :class:`QuarantineError` for a
    bad address, table name or lifetime.

    >>> print(device_block_ruleset([("cam-1", "10.20.1.15")], management=["10.30.0.5"]))
    ... # doctest: +ELLIPSIS
    #!/usr/sbin/nft -f
    # citywatch IoT quarantine: cam-1 10.20.1.15
    ...
            elements = { 10.20.1.15 timeout 3600s }
    ...
            ip saddr @quarantined ip daddr @management accept
    ...
    """
    if not _NFT_NAME.fullmatch(table):
        raise QuarantineError(f"not a safe nftables name: {table!r}")
    if ttl_s <= 0:
        raise QuarantineError("ttl_s must be positive")
    pairs = [(device, _address(ip)) for device, ip in devices]
    mgmt = [_address(ip) for ip in management]
    out = [
        "#!/usr/sbin/nft -f",
        "# citywatch IoT quarantine: " + ", ".join(f"{d} {ip}" for d, ip in pairs),
        f"table inet {table} {{}}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for suffix, kind, version in (("", "ipv4_addr", 4), ("6", "ipv6_addr", 6)):
        held = [f"{ip} timeout {ttl_s}s" for _, ip in pairs if ip.version == version]
        hosts = [str(ip) for ip in mgmt if ip.version == version]
        for name, items, timeout in (("quarantined", held, True), ("management", hosts, False)):
            out += [f"    set {name}{suffix} {{", f"        type {kind}"]
            out += ["        flags timeout"] if timeout else []
            out += ["        elements = { " + ", ".join(items) + " }"] if items else []
            out.append("    }")
    out += ["    chain forward {", "        type filter hook forward priority -10; policy accept;"]
    for proto, suffix in (("ip", ""), ("ip6", "6")):
        q, m = f"@quarantined{suffix}", f"@management{suffix}"
        out += [
            f"        {proto} saddr {q} {proto} daddr {m} accept",
            f"        {proto} daddr {q} {proto} saddr {m} accept",
            f"        {proto} saddr {q} counter drop",
            f"        {proto} daddr {q} counter drop",
        ]
    out += ["    }", "}"]
    return "\n".join(out) + "\n"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise QuarantineError(f"not an IP address: {text!r}") from exc
