r"""``zeek-conn``: Zeek ``conn.log``, as TSV with its ``#`` header or as JSON lines.

How lines, headers and Zeek's values are read is shared with the other Zeek
logs (:mod:`citywatch.ingest.zeektsv`); until a ``#fields`` line, Zeek's
default conn.log columns are assumed. A record needs ``uid``, ``ts``,
``proto`` and both endpoints; counters are None where Zeek wrote ``-``.
"""

from __future__ import annotations

from typing import ClassVar

from citywatch.ingest.zeektsv import (
    Layout,
    ZeekAdapter,
    count_field,
    flow_event,
    interval_field,
    text_field,
)
from citywatch.model import Connection, Event

DATASET = "network.conn"

DEFAULT_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
)  # fmt: skip
"""Zeek's conn.log columns, in the order it writes them."""

_USED = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "resp_pkts",
    "orig_ip_bytes", "resp_ip_bytes",
)  # fmt: skip


class ZeekConnAdapter(ZeekAdapter):
    """Zeek conn.log, TSV (with or without its header) or JSON, detected per line."""

    name: ClassVar[str] = "zeek-conn"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "Zeek conn.log, TSV with its #fields header or JSON lines"
    default_fields: ClassVar[tuple[str, ...]] = DEFAULT_FIELDS
    used_fields: ClassVar[tuple[str, ...]] = _USED
    log_name: ClassVar[str] = "conn.log"

    def event(self, rec: dict[str, object], source: str, layout: Layout) -> Event:
        """The event for one conn record (TSV columns or JSON object) by Zeek field name."""
        return flow_event(
            rec,
            source,
            DATASET,
            "a conn record needs Zeek's connection uid",
            lambda uid, proto: Connection(
                uid=uid,
                proto=proto,
                service=text_field(rec, "service"),
                duration=interval_field(rec.get("duration"), "duration"),
                orig_bytes=count_field(rec, "orig_bytes"),
                resp_bytes=count_field(rec, "resp_bytes"),
                conn_state=text_field(rec, "conn_state"),
                history=text_field(rec, "history"),
                orig_pkts=count_field(rec, "orig_pkts"),
                resp_pkts=count_field(rec, "resp_pkts"),
                orig_ip_bytes=count_field(rec, "orig_ip_bytes"),
                resp_ip_bytes=count_field(rec, "resp_ip_bytes"),
            ),
        )
