"""Live MQTT ingestion: a persistent-session subscriber feeding the pipeline in batches.

:class:`MqttSubscriber` connects to a broker with paho-mqtt (MQTT 3.1.1), with
a fixed client id and ``clean_session=False`` so that the broker keeps the
session, its subscriptions and the QoS 1 messages that arrive while we are
away (a broker restart with persistence, a network cut, our own restart).
It reconnects by itself with exponential backoff and subscribes again on every
connect. Each message becomes one ``mqtt-jsonl`` line, its topic added, and
lines are handed to a sink (the :class:`~citywatch.live.LivePipeline`) in
batches of up to ``batch_max`` messages or ``batch_s`` seconds, whichever
comes first, from one flushing thread, in arrival order. A payload that is not
JSON, not an object or has bad fields becomes a dead letter through the same
adapter, so the reason is counted and stored like any other.

Messages are acknowledged when paho hands them over, so the broker's in-flight
window never throttles us; what is held in memory waiting for the next batch
(at most ``batch_s``) is what a crash of this process could lose. While the
sink falls behind by ``max_pending`` messages, receiving waits: the broker
then queues for us.

>>> config = MqttConfig(topics=("city/+/+/telemetry",), client_id="citywatch-1")
>>> config.qos, config.clean_session, line_for("city/a/b/telemetry", b'{"type": "alarm"}')
(1, False, b'{"type": "alarm","topic":"city/a/b/telemetry"}')
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from citywatch.errors import ConfigError

if TYPE_CHECKING:  # paho loads only to connect (every command line would pay for it)
    import paho.mqtt.client as paho
    from paho.mqtt.reasoncodes import ReasonCode

_log = structlog.get_logger(__name__)
_encode_topic = msgspec.json.encode
_JSON_SPACE = b" \t\r\n"


class BatchResult(Protocol):
    """What the sink says about one batch."""

    @property
    def accepted(self) -> int: ...

    @property
    def dead_letters(self) -> int: ...


class BatchSink(Protocol):
    """Where batches go: :meth:`citywatch.live.LivePipeline.ingest` (thread-safe)."""

    def ingest(self, fmt: str, source: str, lines: Sequence[bytes]) -> BatchResult: ...


class TlsConfig(BaseModel):
    """TLS to the broker: the CA that signs its certificate, and our client certificate if any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = Field(None, description="CA bundle (PEM); default: the system's CAs")
    cert_file: Path | None = Field(None, description="client certificate (PEM)")
    key_file: Path | None = Field(None, description="client private key (PEM)")
    insecure: bool = Field(False, description="skip the broker host name check (testing only)")

    @model_validator(mode="after")
    def _cert_and_key(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class MqttConfig(BaseModel):
    """Where to subscribe and how to batch (``[mqtt]`` in citywatch.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port (8883 is usual with TLS)")
    topics: tuple[str, ...] = Field(
        ("city/+/+/telemetry",), min_length=1, description="topic filters to subscribe to"
    )
    qos: Literal[0, 1, 2] = Field(1, description="subscription QoS (1: at least once)")
    client_id: str = Field(
        "citywatch-ingest",
        min_length=1,
        max_length=128,
        description="stable id: the broker keeps this client's session while it is away",
    )
    clean_session: bool = Field(False, description="True: the broker forgets us on disconnect")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keepalive, seconds")
    username: str | None = Field(None, description="user name, if the broker wants one")
    password: SecretStr | None = Field(None, description="password (CITYWATCH_MQTT__PASSWORD)")
    tls: TlsConfig | None = Field(None, description="TLS settings; absent: plain TCP")
    batch_max: int = Field(500, ge=1, le=100_000, description="messages per batch at most")
    batch_s: float = Field(0.2, gt=0, le=60, description="longest a message waits for its batch")
    max_pending: int = Field(20_000, ge=1, description="messages held before receiving waits")
    reconnect_min_s: int = Field(1, ge=1, le=3600, description="first reconnect delay, seconds")
    reconnect_max_s: int = Field(60, ge=1, le=3600, description="longest reconnect delay")
    format: str = Field("mqtt-jsonl", description="the adapter that parses the messages")

    @field_validator("topics")
    @classmethod
    def _valid_filters(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        for topic in topics:
            problem = topic_filter_problem(topic)
            if problem:
                raise ValueError(f"topic filter {topic!r}: {problem}")
        return topics


def topic_filter_problem(topic: str) -> str | None:
    """Why ``topic`` is not a valid MQTT topic filter, or None.

    >>> topic_filter_problem("city/+/+/telemetry"), topic_filter_problem("city/#/x")
    (None, "'#' must be the last level")
    """
    if not topic or len(topic.encode()) > 65535 or "\0" in topic:
        return "must be 1 to 65535 bytes without NUL"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be the last level"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def merged_config(base: MqttConfig | None, **overrides: object) -> MqttConfig:
    """``base`` (or the defaults) with the given settings replaced, all validated again.

    ``None`` overrides are ignored. Raises :class:`ConfigError` naming each bad setting.
    """
    values: dict[str, object] = dict(base) if base is not None else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return MqttConfig.model_validate(values)
    except ValueError as exc:
        raise ConfigError(str(exc).replace("\n", " "), where="mqtt") from None


def line_for(topic: str, payload: bytes) -> bytes:
    """The ``mqtt-jsonl`` line for one message: its JSON object with ``"topic"`` added last.

    A payload that is not ``{...}`` is passed on as it is, for the adapter to
    dead-letter with the reason; an object's own ``topic`` field is overridden.
    """
    body = payload.strip(_JSON_SPACE)
    if body[:1] != b"{" or body[-1:] != b"}":
        return payload
    inner = body[1:-1].strip(_JSON_SPACE)
    return b'{%s%s"topic":%s}' % (inner, b"," if inner else b"", _encode_topic(topic))


class MqttStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of one subscriber since it started."""

    messages: int = 0
    empty: int = 0
    batches: int = 0
    accepted: int = 0
    dead_letters: int = 0
    failed_batches: int = 0
    connects: int = 0
    reconnects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    pending: int = 0
    connected: bool = False
    last_error: str | None = None


class MqttSubscriber:
    """Subscribes to ``config.topics`` and feeds ``sink`` in batches until :meth:`stop`.

    ``start`` returns at once (the connection is made in the background and
    retried with backoff); ``wait_connected`` waits until the subscriptions
    are granted. Thread-safe; counters via :meth:`stats`.
    """

    def __init__(self, config: MqttConfig, sink: BatchSink) -> None:
        self.config = config
        self._sink = sink
        self._run = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        self._cond = threading.Condition()
        self._pending: list[bytes] = []
        self._first_at = 0.0
        self._closing = False
        self._stopped = False
        self._subscribed = threading.Event()
        self._counts: dict[str, int] = dict.fromkeys(
            ("messages", "empty", "batches", "accepted", "dead_letters", "failed_batches",
             "connects", "reconnects", "disconnects", "connect_failures"),
            0,
        )  # fmt: skip
        self._connected = False
        self._last_error: str | None = None
        self._client = self._make_client()
        self._flusher = threading.Thread(target=self._flush_loop, name="mqtt-flush", daemon=True)

    def _make_client(self) -> paho.Client:
        import paho.mqtt.client as paho  # noqa: PLC0415 - see the imports
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        cfg = self.config
        client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id,
            clean_session=cfg.clean_session,
            protocol=paho.MQTTv311,
        )
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password is not None else None
            client.username_pw_set(cfg.username, password)
        if cfg.tls is not None:
            tls = cfg.tls
            try:
                client.tls_set(
                    ca_certs=None if tls.ca_file is None else str(tls.ca_file),
                    certfile=None if tls.cert_file is None else str(tls.cert_file),
                    keyfile=None if tls.key_file is None else str(tls.key_file),
                    cert_reqs=ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise ConfigError(f"cannot set up TLS: {exc}", where="mqtt.tls") from exc
            client.tls_insecure_set(tls.insecure)
        client.reconnect_delay_set(
            cfg.reconnect_min_s, max(cfg.reconnect_min_s, cfg.reconnect_max_s)
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background (retrying with backoff) and start batching."""
        cfg = self.config
        self._flusher.start()
        self._client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self._client.loop_start()
        _log.info("mqtt_starting", host=cfg.host, port=cfg.port, topics=list(cfg.topics))

    def wait_connected(self, timeout: float) -> bool:
        """Whether the subscriptions were granted within ``timeout`` seconds."""
        return self._subscribed.wait(timeout)

    def stats(self) -> MqttStats:
        """The counters now."""
        with self._cond:
            return MqttStats(
                **self._counts,
                pending=len(self._pending),
                connected=self._connected,
                last_error=self._last_error,
            )

    def stop(self) -> MqttStats:
        """Disconnect, ingest every message received so far, and return the final counters.

        With ``clean_session=False`` the broker keeps our session: messages that
        arrive from now on wait for the next start with the same client id.
        """
        if self._stopped:
            return self.stats()
        self._stopped = True
        self._client.disconnect()
        self._client.loop_stop()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._flusher.is_alive():
            self._flusher.join()
        _log.info("mqtt_stopped", **{k: v for k, v in self._counts.items() if v})
        return self.stats()

    def __enter__(self) -> MqttSubscriber:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # paho callbacks (its network thread) ------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        if reason.is_failure:
            with self._cond:
                self._counts["connect_failures"] += 1
                self._last_error = f"broker refused the connection: {reason}"
            _log.warning("mqtt_connect_refused", reason=str(reason))
            return
        with self._cond:
            self._counts["connects"] += 1
            if self._counts["connects"] > 1:
                self._counts["reconnects"] += 1
            self._connected = True
        _log.info("mqtt_connected", session_present=flags.session_present)
        qos: int = self.config.qos
        client.subscribe([(topic, qos) for topic in self.config.topics])

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        with self._cond:
            self._counts["connect_failures"] += 1
            self._last_error = f"cannot reach {self.config.host}:{self.config.port}"

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Any,
    ) -> None:
        self._subscribed.clear()
        with self._cond:
            self._counts["disconnects"] += 1
            self._connected = False
            if not self._stopped:
                self._last_error = f"disconnected: {reason}"
        if not self._stopped:
            _log.warning("mqtt_disconnected", reason=str(reason))

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Any,
    ) -> None:
        granted = list(zip(self.config.topics, reasons, strict=False))
        refused = [topic for topic, reason in granted if reason.is_failure]
        lowered = [t for t, r in granted if not r.is_failure and r.value < self.config.qos]
        if lowered:  # QoS 0 loses what arrives while we are away
            _log.warning("mqtt_qos_lowered", topics=lowered, wanted=self.config.qos)
        if refused:
            with self._cond:
                self._last_error = f"broker refused the subscription to {', '.join(refused)}"
            _log.warning("mqtt_subscribe_refused", topics=refused)
        else:
            self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # the broker should have refused it; keep it visible
            topic = message._topic.decode("utf-8", "backslashreplace")
        payload = bytes(message.payload)
        line = line_for(topic, payload) if payload.strip(_JSON_SPACE) else b""
        with self._cond:
            self._counts["messages"] += 1
            if not line:  # an empty payload clears a retained message: nothing to parse
                self._counts["empty"] += 1
                return
            while len(self._pending) >= self.config.max_pending and not self._stopped:
                self._cond.wait(0.1)  # the sink is behind: let the broker hold the rest
            self._pending.append(line)
            if len(self._pending) == 1:  # a new batch: the flusher starts its clock
                self._first_at = time.monotonic()
                self._cond.notify_all()
            elif len(self._pending) >= self.config.batch_max:
                self._cond.notify_all()

    # batching (the flush thread) --------------------------------------------------------

    def _flush_loop(self) -> None:
        cfg = self.config
        while True:
            with self._cond:
                while not self._closing:
                    if len(self._pending) >= cfg.batch_max:
                        break
                    if self._pending:
                        left = self._first_at + cfg.batch_s - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    else:
                        self._cond.wait()
                if not self._pending:
                    return  # closing, and nothing left
                batch = self._pending[: cfg.batch_max]
                del self._pending[: cfg.batch_max]
                self._first_at = time.monotonic()
                self._cond.notify_all()  # receiving may go on
            self._ingest(batch)

    def _ingest(self, lines: list[bytes]) -> None:
        with self._cond:
            self._counts["batches"] += 1
            number = self._counts["batches"]
        try:
            result = self._sink.ingest(self.config.format, f"mqtt/{self._run}-{number}", lines)
        except Exception as exc:  # the sink failing never stops receiving
            _log.exception("mqtt_batch_failed", messages=len(lines))
            with self._cond:
                self._counts["failed_batches"] += 1
                self._last_error = f"batch {number} failed: {type(exc).__name__}: {exc}"
            return
        with self._cond:
            self._counts["accepted"] += result.accepted
            self._counts["dead_letters"] += result.dead_letters
