"""The ``posts-jsonl`` adapter: posts become events; bad records become dead letters."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.ingest.posts import DROPPED, MASK, PostsJsonlAdapter
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


def test_a_dead_letter_keeps_the_record_with_its_author_masked() -> None:
    (dead,) = parse(
        b'{"id": "p-9", "created_at": "2026-03-14T10:00:00Z", "text": "",'
        b' "author": "kap_watch", "url": "https://social.example/kap_watch/9"}'
    )
    assert isinstance(dead, DeadLetter) and dead.position == 1 and "empty" in dead.reason
    assert msgspec.json.decode(dead.raw) == {
        "id": "p-9",
        "created_at": "2026-03-14T10:00:00Z",
        "text": "",
        "author": MASK,
        "url": MASK,
    }


def test_a_line_that_is_not_json_keeps_no_bytes_and_says_so() -> None:
    (dead,) = parse(b"", b'{"id": "p-9", "author": "kap_watch", "text": "@ana_b look')
    assert isinstance(dead, DeadLetter) and dead.position == 2 and dead.code == "bad-json"
    assert dead.raw == DROPPED and "not kept" in dead.reason


handles = st.from_regex(r"zq[a-z0-9_]{3,10}", fullmatch=True)
corruptions = st.sampled_from(["no-time", "empty-text", "bool-id", "bad-geo", "cut", "list"])


@given(author=handles, other=handles, where=st.sets(st.sampled_from(range(5))), how=corruptions)
@settings(max_examples=200, deadline=None)
def test_no_handle_survives_in_a_dead_letter(
    author: str, other: str, where: set[int], how: str
) -> None:
    rec: dict[str, object] = {"id": "p-1", "created_at": 1773478800, "text": "Fire at Ilica"}
    rec["author"] = {"name": author, "id": 7} if 0 in where else author
    if 1 in where:
        rec["text"] = f"RT {author}: fire, cc @{other} and {other.upper()}@social.example"
    if 2 in where:
        rec["url"] = f"https://social.example/{author}/status/1"
    if 3 in where:
        rec["reply_to"] = f"@{other}"
    if 4 in where:
        rec["geo"] = {"lat": 1, "lon": 2, "place": f"near @{other}"}
    if how == "no-time":
        del rec["created_at"]
    elif how == "empty-text":
        rec["text"] = ""
    elif how == "bool-id":
        rec["id"] = True
    elif how == "bad-geo":
        rec["geo"] = {"lat": f"@{other}", "lon": 0}
    line = json.dumps(rec).encode()
    if how == "cut":
        line = line[: len(line) // 2]
    elif how == "list":
        line = json.dumps([rec]).encode()
    (dead,) = parse(line)
    assert isinstance(dead, DeadLetter)
    for handle in (author, other):
        assert handle.lower() not in dead.raw.decode().lower()
        assert handle.lower() not in dead.reason.lower()
