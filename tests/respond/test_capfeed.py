"""The Atom feed of current alerts, read back with feedparser."""

from __future__ import annotations

from datetime import datetime, timedelta

import feedparser
import msgspec
import pytest

from citywatch.model import Alert
from citywatch.respond.cap import cancel
from citywatch.respond.capfeed import CAP_MIME, MAX_FEED_BYTES, atom_feed, current_alerts

BASE = "https://alerts.aldmere.city"


def _url(a: Alert) -> str:
    return f"{BASE}/cap/{a.identifier}.xml"


def _feed(alerts: list[Alert], now: datetime, **kw: object) -> bytes:
    return atom_feed(
        alerts,
        feed_id=f"{BASE}/feed.atom",
        self_url=f"{BASE}/feed.atom",
        cap_url=_url,
        now=now,
        title="Aldmere public alerts",
        **kw,  # type: ignore[arg-type]
    )


def _variant(alert: Alert, n: int, **fields: object) -> Alert:
    return msgspec.structs.replace(
        alert,
        identifier=f"{alert.identifier}-{n}",
        sent=alert.sent + timedelta(minutes=n),
        **fields,
    )


def test_feed_parses_and_links_the_cap_document(alert: Alert) -> None:
    published = alert.approved("ben")
    now = alert.sent + timedelta(minutes=1)
    parsed = feedparser.parse(_feed([published], now))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Aldmere public alerts"
    (entry,) = parsed.entries
    assert entry.id == _url(published)
    assert entry.title == "Dangerous crowding – Affected area"
    assert entry.summary.startswith("Dangerous crowding since 09:00")
    (link,) = [x for x in entry.links if x.rel == "alternate"]
    assert (link.href, link.type) == (_url(published), CAP_MIME)
    assert entry.updated_parsed[:5] == (2026, 3, 14, 8, 6)  # 09:06+01:00 in UTC
    assert [t.term for t in entry.tags] == ["Safety"]
    assert entry.get("cap_severity") == "Extreme"


def test_feed_picks_the_requested_language(alert: Alert) -> None:
    parsed = feedparser.parse(_feed([alert.approved("ben")], alert.sent, language="de-DE"))
    assert parsed.entries[0].title == "Gefährliches Gedränge – Betroffenes Gebiet"


def test_only_current_published_alerts_are_listed(alert: Alert) -> None:
    live = _variant(alert, 1).approved("ben")
    unapproved = _variant(alert, 2)
    self_approved = _variant(alert, 3).approved("ana")
    expired = _variant(alert, 4).approved("ben")
    expired = msgspec.structs.replace(
        expired,
        infos=[msgspec.structs.replace(i, expires=alert.sent) for i in expired.infos],
    )
    exercise = _variant(alert, 5).approved("ben", status="Exercise")
    cancelled = _variant(alert, 6).approved("ben")
    cancel_msg = cancel(cancelled, drafted_by="ben", sent=alert.sent + timedelta(minutes=30))
    cancel_msg = cancel_msg.approved("ana")
    now = alert.sent + timedelta(minutes=40)
    pool = [live, unapproved, self_approved, expired, exercise, cancelled, cancel_msg]
    assert current_alerts(pool, now=now) == [live]
    entries = feedparser.parse(_feed(pool, now)).entries
    # the feed keeps the cancel for a day: a subscriber holding the alert learns it ended
    assert [e.id for e in entries] == [_url(cancel_msg), _url(live)]
    assert entries[0]["cap_msgtype"] == "Cancel"
    day_later = cancel_msg.sent + timedelta(hours=25)
    assert [e.id for e in feedparser.parse(_feed(pool, day_later)).entries] == []
    assert [
        a.identifier for a in current_alerts(pool, now=now, statuses=("Actual", "Exercise"))
    ] == [exercise.identifier, live.identifier]
    later = live.sent + timedelta(hours=3)  # past the two-hour validity
    assert current_alerts(pool, now=later) == []


def test_updates_replace_what_they_reference(alert: Alert) -> None:
    first = alert.approved("ben")
    update = msgspec.structs.replace(
        _variant(alert, 10), msg_type="Update", references=[first.reference]
    ).approved("ben")
    assert current_alerts([first, update], now=update.sent) == [update]


@pytest.mark.parametrize("count", [1, 60, 400])
def test_feed_stays_small(alert: Alert, count: int) -> None:
    long_text = "Dangerous crowding near the stadium. " * 200
    alerts = [
        msgspec.structs.replace(
            _variant(alert, n),
            infos=[msgspec.structs.replace(i, description=long_text) for i in alert.infos],
        ).approved("ben")
        for n in range(count)
    ]
    data = _feed(alerts, alert.sent + timedelta(minutes=1), max_entries=500)
    assert len(data) < MAX_FEED_BYTES
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    assert 1 <= len(parsed.entries) <= count
    if count == 400:
        assert len(parsed.entries) < 400  # trimmed to stay under the size cap
    newest = max(alerts, key=lambda a: a.sent)
    assert parsed.entries[0].id == _url(newest)
    assert len(_feed(alerts, alert.sent, max_entries=5)) < MAX_FEED_BYTES
    assert len(feedparser.parse(_feed(alerts, alert.sent, max_entries=5)).entries) == min(5, count)


def test_empty_feed_is_still_valid_atom(alert: Alert) -> None:
    parsed = feedparser.parse(_feed([], alert.sent))
    assert parsed.bozo == 0 and parsed.entries == [] and parsed.feed.updated_parsed
