"""The ``posts-jsonl`` adapter: posts become events; bad records become dead letters."""

from __future__ import annotations

from citywatch.ingest.posts import PostsJsonlAdapter
from citywatch.model import DeadLetter, Event, TextPost


def parse(*lines: bytes) -> list[Event | DeadLetter]:
    return list(PostsJsonlAdapter().parse("posts", lines))


def test_a_post_becomes_an_event_with_its_author_for_the_enricher() -> None:
    (event,) = parse(
        b'{"id": "p-1", "created_at": "2026-03-14T10:00:00+01:00", "text": "Fire at Ilica!",'
        b' "lang": "en", "author": "someone", "geo": {"lat": 45.8, "lon": 15.9},'
        b' "url": "https://x/p-1", "reply_to": 7}'
    )
    assert isinstance(event, Event)
    assert event.id == "p-1"
    assert event.timestamp == 1773478800.0
    assert event.dataset == "social.post"
    assert event.user_id == "someone"
    assert event.geo is not None and (event.geo.lat, event.geo.lon) == (45.8, 15.9)
    assert event.payload == TextPost(
        text="Fire at Ilica!", lang="en", url="https://x/p-1", reply_to="7"
    )


def test_bad_records_are_dead_letters_with_reasons() -> None:
    items = parse(
        b'{"id": "p-1", "created_at": "2026-03-14T10:00:00Z"}',
        b'{"id": "p-2", "created_at": "2026-03-14T10:00:00Z", "text": "  "}',
        b'{"id": "p-3", "created_at": "yesterday", "text": "x"}',
        b'{"id": "p-4", "created_at": 1, "text": "x", "geo": {"lat": 91, "lon": 0}}',
        b'{"id": true, "created_at": 1, "text": "x"}',
    )
    assert all(isinstance(i, DeadLetter) for i in items)
    reasons = [i.reason for i in items if isinstance(i, DeadLetter)]
    assert "missing field 'text'" in reasons[0]
    assert "empty" in reasons[1]
    assert "bad time" in reasons[2]
    assert "out of range" in reasons[3]
    assert "'id'" in reasons[4]
