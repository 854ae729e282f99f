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
