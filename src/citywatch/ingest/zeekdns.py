r"""``zeek-dns``: Zeek ``dns.log``, as TSV with its ``#`` header or as JSON lines.

Lines, headers and Zeek's values are read as for conn.log
(:mod:`citywatch.ingest.zeektsv`); until a ``#fields`` line, Zeek's default
dns.log columns are assumed. A record needs ``uid``, ``ts``, ``proto`` and both
endpoints (the client is ``id.orig_*``); the event's id is the ``uid``, Zeek's
pivot between a flow's conn.log and dns.log records. Everything else may be
unset (``-``): a query without an answer has no ``rcode`` and no ``answers``.

``answers`` and ``TTLs`` are Zeek vectors: in TSV, values joined by the
``#set_separator`` (``,``), Zeek's ``\xHH`` escapes kept as written; in JSON,
arrays. ``rejected`` is ``T``/``F`` in TSV, a boolean in JSON.

>>> line = (b"1700000000.1\tCq1\t10.0.0.7\t5353\t10.0.0.1\t53\tudp\t4242\t0.01\texample.org"
...         b"\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t93.184.216.34\t60.000000\tF")
>>> (event,) = ZeekDnsAdapter().parse("dns.log", [line])
>>> event.payload.query, event.payload.answers, event.payload.ttls
('example.org', ('93.184.216.34',), (60.0,))
"""

from __future__ import annotations

from typing import ClassVar

from citywatch.ingest.zeektsv import (
    NULLS,
    Layout,
    ZeekAdapter,
    count_field,
    flow_event,
    interval_field,
    text_field,
)
from citywatch.model import DnsQuery, Event

DATASET = "network.dns"

DEFAULT_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
    "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name",
    "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected",
)  # fmt: skip
"""Zeek's dns.log columns, in the order it writes them."""

_USED = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
    "rtt", "query", "qtype", "qtype_name", "rcode", "rcode_name", "answers", "TTLs", "rejected",
)  # fmt: skip

MAX_ANSWERS = 256
"""More answers than this in one record is a dead letter (a DNS message holds far fewer)."""

_BOOLS = {"T": True, "F": False}


class ZeekDnsAdapter(ZeekAdapter):
    """Zeek dns.log, TSV (with or without its header) or JSON, detected per line."""

    name: ClassVar[str] = "zeek-dns"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "Zeek dns.log, TSV with its #fields header or JSON lines"
    default_fields: ClassVar[tuple[str, ...]] = DEFAULT_FIELDS
    used_fields: ClassVar[tuple[str, ...]] = _USED
    log_name: ClassVar[str] = "dns.log"

    def event(self, rec: dict[str, object], source: str, layout: Layout) -> Event:
        """The event for one dns record (TSV columns or JSON object) by Zeek field name."""
        return flow_event(
            rec,
            source,
            DATASET,
            "a dns record needs Zeek's flow uid",
            lambda uid, proto: _query(rec, uid, proto, layout),
        )


def _query(rec: dict[str, object], uid: str, proto: str, layout: Layout) -> DnsQuery:
    """The dns.log fields of one record, after its flow's are checked."""
    trans_id = count_field(rec, "trans_id")
    if trans_id is not None and trans_id > 0xFFFF:
        raise ValueError(f"field 'trans_id' is {trans_id}, expected 0-65535")
    return DnsQuery(
        uid=uid,
        proto=proto,
        trans_id=trans_id,
        rtt=interval_field(rec.get("rtt"), "rtt"),
        query=text_field(rec, "query"),
        qtype=_small_count(rec, "qtype"),
        qtype_name=text_field(rec, "qtype_name"),
        rcode=_small_count(rec, "rcode"),
        rcode_name=text_field(rec, "rcode_name"),
        answers=_answers(rec.get("answers"), layout.set_sep),
        ttls=_ttls(rec.get("TTLs"), layout.set_sep),
        rejected=_bool(rec.get("rejected")),
    )


def _small_count(rec: dict[str, object], key: str) -> int | None:
    """A DNS code (qtype, rcode): a count of at most 65535."""
    value = count_field(rec, key)
    if value is not None and value > 0xFFFF:
        raise ValueError(f"field {key!r} is {value}, expected 0-65535")
    return value


def _vector(value: object, key: str, set_sep: str) -> list[object]:
    """A Zeek vector: a JSON array, or TSV text joined by the set separator; unset is empty."""
    if value is None:
        return []
    if type(value) is str:
        if value in NULLS:
            return []
        items: list[object] = list(value.split(set_sep))
    elif type(value) is list:
        items = value
    else:
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a list")
    if len(items) > MAX_ANSWERS:
        raise ValueError(f"field {key!r} has {len(items)} values, more than {MAX_ANSWERS}")
    return items


def _answers(value: object, set_sep: str) -> tuple[str, ...]:
    out = []
    for item in _vector(value, "answers", set_sep):
        if not isinstance(item, str):
            raise ValueError(f"field 'answers' holds {item!r:.40}, expected strings")
        out.append(item)
    return tuple(out)


def _ttls(value: object, set_sep: str) -> tuple[float, ...]:
    out = []
    for item in _vector(value, "TTLs", set_sep):
        seconds = interval_field(item, "TTLs")
        if seconds is None:
            raise ValueError("field 'TTLs' holds an unset value, expected seconds")
        out.append(seconds)
    return tuple(out)


def _bool(value: object) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if type(value) is str:
        if value in NULLS:
            return None
        flag = _BOOLS.get(value)
        if flag is not None:
            return flag
    raise ValueError(f"field 'rejected' is {value!r:.40}, expected T or F")
