"""Source-specific payloads carried by :class:`~citywatch.model.Event`.

Each payload is a tagged ``msgspec.Struct`` so an event round-trips through
JSON or MessagePack (the bus) without losing its type. Silos add theirs here.
"""

from __future__ import annotations

import msgspec


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="http"):
    """One HTTP request to a portal, with its response where the source knows it.

    Field names follow ECS ``http.*`` and ``url.*``. ``headers`` keeps order and
    repeats; ``body`` is the request body as text (empty when absent).
    """

    method: str
    uri: str = msgspec.field(name="url.original")
    version: str = msgspec.field(default="", name="http.version")
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    status: int | None = msgspec.field(default=None, name="http.response.status_code")
    bytes_out: int | None = msgspec.field(default=None, name="http.response.body.bytes")
    referrer: str | None = msgspec.field(default=None, name="http.request.referrer")
    user_agent: str | None = msgspec.field(default=None, name="user_agent.original")

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


class Connection(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="conn"):
    """One network connection summary, as Zeek's conn.log records it.

    Addresses and ports live on the event (``source.*``/``destination.*``);
    here is what Zeek adds. Counters are None where Zeek wrote ``-``.
    """

    uid: str
    proto: str
    service: str | None = None
    duration: float | None = None
    orig_bytes: int | None = None
    resp_bytes: int | None = None
    conn_state: str | None = None
    history: str | None = None
    orig_pkts: int | None = None
    resp_pkts: int | None = None
    orig_ip_bytes: int | None = None
    resp_ip_bytes: int | None = None


TELEMETRY_TYPES = ("heartbeat", "metrics", "firmware", "config", "login", "alarm")
"""The message types of IoT telemetry (``mqtt-jsonl``)."""

ExtraValue = str | int | float | bool
"""A value of an unknown telemetry field kept as is (nested values as JSON text)."""


class Telemetry(
    msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True, tag="telemetry"
):
    """One IoT telemetry message as it came over MQTT (``mqtt-jsonl``).

    ``kind`` is the message's ``type``, one of :data:`TELEMETRY_TYPES` (``type``
    itself is the payload tag on the wire); it says which fields the device
    must send. Every typed field is kept whatever the kind (a heartbeat may
    carry metrics too), None where absent. Units: ``uptime`` seconds, ``rssi``
    dBm, ``cpu``/``mem``/``disk`` percent, ``temperature`` °C; byte and
    connection counts as the device reports them.

    ``mac`` is a personal identifier: the adapter puts the device's MAC here
    (normalised ``aa:bb:cc:dd:ee:ff``) only for the enricher, which replaces it
    with its keyed pseudonym (``mac:…``) before any detector or store sees it.
    ``user`` is the account name a login names, raw as the device reports it.
    ``extra`` keeps a few unknown fields, capped (see the ``mqtt-jsonl`` adapter).
    """

    topic: str
    kind: str
    # heartbeat
    uptime: float | None = None
    rssi: float | None = None
    # metrics
    cpu: float | None = None
    mem: float | None = None
    disk: float | None = None
    temperature: float | None = None
    tx_bytes: int | None = None
    rx_bytes: int | None = None
    connections: int | None = None
    # firmware
    version: str | None = None
    # config
    changed: tuple[str, ...] = ()
    # login
    user: str | None = None
    result: str | None = None
    method: str | None = None
    # alarm
    code: str | None = None
    text: str | None = None
    mac: str | None = None
    extra: dict[str, ExtraValue] = msgspec.field(default_factory=dict)


class DnsQuery(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="dns"):
    """One DNS query and its answer, as Zeek's dns.log records it.

    Addresses and ports live on the event (``source.*`` is the client).
    Names follow Zeek; values are None where Zeek wrote ``-``. ``answers`` are
    the resource records' data in order (names, addresses, text) and ``ttls``
    their TTLs in seconds, one per answer.
    """

    uid: str
    proto: str
    trans_id: int | None = None
    rtt: float | None = None
    query: str | None = None
    qtype: int | None = None
    qtype_name: str | None = None
    rcode: int | None = None
    rcode_name: str | None = None
    answers: tuple[str, ...] = ()
    ttls: tuple[float, ...] = ()
    rejected: bool | None = None


class TextPost(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True, tag="post"):
    """One public text: a social-media post or a news item (``posts-jsonl``, Mastodon, RSS/Atom).

    ``kind`` is ``post`` or ``news``; ``platform`` says where it came from
    (``posts``, ``mastodon``, ``rss``…). ``lang`` is what the source declared
    (empty when it did not): the detector detects the language of every post
    itself. The author is not here: the adapter puts it on the event's
    ``user_id``, which the enricher replaces with its keyed pseudonym, so no
    raw author name reaches a detector or a store.
    """

    text: str
    kind: str = "post"
    platform: str = "posts"
    lang: str = ""
    url: str | None = None
    reply_to: str | None = None
