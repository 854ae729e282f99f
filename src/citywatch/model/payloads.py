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


CROWD_SOURCES = ("wifi", "ble", "cell", "ticket", "turnstile", "camera", "manual")
"""Where a zone count comes from (``zone-counts``): device counts, or counts of people."""


class ZoneCount(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="zone-count"):
    """How many people (or devices) one source counted in one zone of a venue over an interval.

    ``count`` is an aggregate for the interval starting at the event's time,
    never an identifier: a feed that lists device identifiers is counted by
    the adapter (distinct salted hashes) and the identifiers are dropped.
    Device sources (wifi, ble, cell) count devices, not people; the crowd
    detector calibrates them against the sources that count people.
    """

    venue: str
    zone: str
    source: str
    count: float
    interval_s: float


class GateCount(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="gate-count"):
    """People through one gate of a venue over an interval starting at the event's time."""

    venue: str
    gate: str
    entered: int = msgspec.field(name="in")
    left: int = msgspec.field(name="out")
    interval_s: float


class SensorTrigger(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="trigger"):
    """One phone's on-device shaking trigger (``phone-triggers``), as MyShake's classifier sends it.

    ``pga_g`` is the peak horizontal acceleration in g the phone measured with
    the trigger; ``device_class`` the kind of device (``phone``, ``tablet``...),
    when the app says. The phone's own id is a pseudonym chosen by the app and
    lives on the event (``device.id``).
    """

    pga_g: float
    device_class: str | None = None


class FeltReport(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="felt"):
    """One answered "Did you feel it?" questionnaire (``felt-reports``), coded as DYFI codes it.

    Every answer may be absent (None), which is not the same as zero: DYFI
    averages each question over the reports that answer it. ``postcode`` is
    kept when the report gave one instead of (or beside) coordinates.
    """

    felt: float | None = None
    motion: float | None = None
    reaction: float | None = None
    stand: float | None = None
    shelf: float | None = None
    picture: float | None = None
    furniture: float | None = None
    damage: float | None = None
    postcode: str | None = None


class Exposure(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="exposure"):
    """One item of the city's exposure (``exposure``): a populated area or a critical facility.

    ``kind`` is ``area`` for a populated cell or district (``population``
    residents, ``postcode`` when it has one) or a facility kind (``hospital``,
    ``school``, ``care_home``, ``fire_station``, ``bridge``...) with its
    ``vulnerability`` class A–D (EMS-98: A the most vulnerable) and
    ``population`` the people usually in it. The location is the event's geo.
    """

    kind: str
    item_id: str
    name: str = ""
    population: int = 0
    vulnerability: str | None = None
    postcode: str | None = None


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
