"""An Atom feed (RFC 4287) of the current public alerts, after OASIS "CAP feeds" practice.

Each entry stands for one current alert: its ``id`` and ``link`` are the URL of
the full CAP document (``rel="alternate"``, ``type="application/cap+xml"``),
with a title (the headline), a summary (the description), ``updated`` and
``published`` (the ``sent`` time), the CAP category, and the key CAP fields as
``cap:`` extension elements for aggregators. An alert is current when it is
approved, not a draft, not cancelled or superseded by a later message in the
same set, and not expired. A Cancel message stays in the feed for
:data:`CANCELS_KEPT` (its entry's ``cap:msgType`` says ``Cancel``), so that a
subscriber holding the alert learns it was withdrawn. The feed is kept small:
at most ``max_entries`` entries, newest first, and under :data:`MAX_FEED_BYTES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from lxml import etree

from citywatch.model.alert import Alert, AlertInfo, Status
from citywatch.respond.capxml import CAP_NS, cap_time

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CAP_MIME: Final = "application/cap+xml"
MAX_FEED_BYTES: Final = 100_000
_A: Final = f"{{{ATOM_NS}}}"
_C: Final = f"{{{CAP_NS}}}"


def _key(alert: Alert) -> tuple[str, str]:
    return alert.sender, alert.identifier


CANCELS_KEPT: Final = timedelta(hours=24)
"""How long the feed keeps a Cancel message (its subscribers learn of the all-clear)."""


def current_alerts(
    alerts: Iterable[Alert],
    *,
    now: datetime,
    statuses: Sequence[Status] = ("Actual",),
    require_approval: bool = True,
    cancels_since: datetime | None = None,
) -> list[Alert]:
    """The alerts a citizen should see now, newest first.

    Every message an Update or Cancel references is left out; so are alerts
    whose every info block has expired, drafts, and (with ``require_approval``)
    alerts no second person approved. Cancel messages are left out too, but for
    those sent since ``cancels_since``: a feed keeps them a while, so that its
    subscribers learn that the alert they hold was withdrawn.
    """
    pool = list(alerts)
    replaced = {
        (r.sender, r.identifier)
        for a in pool
        if a.msg_type in ("Update", "Cancel")
        for r in a.references
    }
    out = []
    for alert in pool:
        kept = alert.msg_type in ("Alert", "Update") or (
            alert.msg_type == "Cancel" and cancels_since is not None and alert.sent >= cancels_since
        )
        if not kept or alert.status not in statuses:
            continue
        if _key(alert) in replaced or (require_approval and not alert.can_publish()):
            continue
        expiries = [i.expires for i in alert.infos]
        if expiries and all(e is not None and e <= now for e in expiries):
            continue
        out.append(alert)
    return sorted(out, key=lambda a: (a.sent, a.identifier), reverse=True)


def _atom_time(value: datetime) -> str:
    """An RFC 3339 time for Atom (whole seconds, the value's own offset)."""
    return value.replace(microsecond=0).isoformat()


def _text(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _entry(
    feed: etree._Element, alert: Alert, info: AlertInfo | None, url: str, entry_id: str
) -> None:
    entry = etree.SubElement(feed, _A + "entry")
    _text(entry, _A + "id", entry_id)
    title = (info.headline or info.event) if info else alert.identifier
    _text(entry, _A + "title", title)
    _text(entry, _A + "updated", _atom_time(alert.sent))
    _text(entry, _A + "published", _atom_time(alert.sent))
    author = etree.SubElement(entry, _A + "author")
    _text(author, _A + "name", (info.sender_name if info else None) or alert.sender)
    etree.SubElement(entry, _A + "link", rel="alternate", type=CAP_MIME, href=url)
    if info is None:
        return
    summary = info.description or info.instruction or info.event
    _text(entry, _A + "summary", summary[:600])
    for category in info.categories:
        etree.SubElement(entry, _A + "category", term=category)
    for name, value in (
        ("event", info.event),
        ("status", alert.status),
        ("msgType", alert.msg_type),
        ("urgency", info.urgency),
        ("severity", info.severity),
        ("certainty", info.certainty),
        ("expires", cap_time(info.expires) if info.expires else None),
        ("areaDesc", "; ".join(a.area_desc for a in info.areas) or None),
    ):
        if value:
            _text(entry, _C + name, value)


def _pick_info(alert: Alert, language: str) -> AlertInfo | None:
    prefix = language.partition("-")[0].lower()
    for info in alert.infos:
        if info.language.lower() == language.lower():
            return info
    for info in alert.infos:
        if info.language.partition("-")[0].lower() == prefix:
            return info
    return alert.infos[0] if alert.infos else None


def atom_feed(
    alerts: Iterable[Alert],
    *,
    feed_id: str,
    self_url: str,
    cap_url: Callable[[Alert], str],
    now: datetime,
    entry_id: Callable[[Alert], str] | None = None,
    title: str = "Public alerts",
    author: str = "citywatch",
    language: str = "en-GB",
    max_entries: int = 50,
    statuses: Sequence[Status] = ("Actual",),
) -> bytes:
    """The Atom feed of the current alerts (see :func:`current_alerts`) and of the cancels
    of the last :data:`CANCELS_KEPT`, as UTF-8 bytes.

    ``cap_url`` gives the URL where each alert's CAP document is served, and
    ``entry_id`` each entry's id (an absolute IRI that never changes; default: the URL);
    ``language`` picks which info block titles each entry.
    """
    current = current_alerts(alerts, now=now, statuses=statuses, cancels_since=now - CANCELS_KEPT)[
        : max(0, max_entries)
    ]
    while True:
        feed = etree.Element(_A + "feed", nsmap={None: ATOM_NS, "cap": CAP_NS})
        feed.set("{http://www.w3.org/XML/1998/namespace}lang", language)
        _text(feed, _A + "id", feed_id)
        _text(feed, _A + "title", title)
        updated = max((a.sent for a in current), default=now)
        _text(feed, _A + "updated", _atom_time(updated))
        _text(etree.SubElement(feed, _A + "author"), _A + "name", author)
        etree.SubElement(feed, _A + "link", rel="self", href=self_url)
        for alert in current:
            url = cap_url(alert)
            ident = url if entry_id is None else entry_id(alert)
            _entry(feed, alert, _pick_info(alert, language), url, ident)
        data = etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        if len(data) < MAX_FEED_BYTES or not current:
            return data
        current = current[: max(1, len(current) * 3 // 4)] if len(current) > 1 else []
