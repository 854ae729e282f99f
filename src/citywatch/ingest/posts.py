"""``posts-jsonl``: one public social-media post per line, as a JSON object (FORMATS.md)::

    {"id": "p-1", "created_at": "2026-03-14T10:02:00+01:00", "text": "Smoke over Kaptolje!",
     "lang": "en", "author": "someone", "geo": {"lat": 45.82, "lon": 15.97},
     "url": "https://social.example/p-1", "reply_to": "p-0"}

``id`` (a string or an integer), ``created_at`` (ISO 8601 or epoch seconds)
and a non-empty ``text`` are required; ``lang``, ``author``, ``geo``, ``url``
and ``reply_to`` are optional. The author goes on the event's ``user_id``
only for the enricher, which replaces it with its keyed pseudonym: no raw
author reaches a detector or a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from citywatch.ingest.base import Adapter
from citywatch.ingest.fields import MissingFieldError, parse_time
from citywatch.model import DeadLetter, Event, GeoPoint, TextPost

DATASET = "social.post"
MAX_TEXT = 10_000
"""Characters of a post's text that are kept (longer texts are cut, not rejected)."""


class PostsJsonlAdapter(Adapter):
    """Public social-media posts as JSON lines (the project's ``posts-jsonl`` format)."""

    name: ClassVar[str] = "posts-jsonl"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "public social-media posts, one JSON object per line"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        for item in self.json_objects(source, lines):
            if isinstance(item, DeadLetter):
                yield item
                continue
            lineno, raw, rec = item
            try:
                yield post_event(rec, source, DATASET, "posts")
            except ValueError as exc:
                yield self.field_error(source, lineno, raw, exc)


def post_event(rec: dict[str, object], source: str, dataset: str, platform: str) -> Event:
    """The event for one decoded post record; a ValueError says what is wrong with it."""
    rid = ident(rec.get("id"), "id")
    if rid is None:
        raise MissingFieldError("missing field 'id': every post needs its own id")
    when = rec.get("created_at")
    if when is None:
        raise MissingFieldError("missing field 'created_at'")
    text = rec.get("text")
    if text is None:
        raise MissingFieldError("missing field 'text'")
    if not isinstance(text, str):
        raise ValueError(f"field 'text' is {type(text).__name__}, expected a string")
    if not text.strip():
        raise ValueError("field 'text' is empty")
    author = ident(rec.get("author"), "author")
    return Event(
        id=rid,
        timestamp=parse_time(when),
        dataset=dataset,
        observer=source,
        user_id=author,
        geo=geo_point(rec.get("geo")),
        payload=TextPost(
            text=text[:MAX_TEXT],
            platform=platform,
            lang=optional_text(rec, "lang")[:16],
            url=optional_text(rec, "url") or None,
            reply_to=ident(rec.get("reply_to"), "reply_to"),
        ),
    )


def ident(value: object, key: str) -> str | None:
    """An id-like field as text: a non-empty string or an integer, None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValueError(f"field {key!r} is empty")
        return value[:256]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string or an integer")


def optional_text(rec: dict[str, object], key: str) -> str:
    """A text field, ``""`` when absent."""
    value = rec.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def geo_point(value: object) -> GeoPoint | None:
    """``{"lat", "lon"}`` as a point, checked to lie on the globe; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"field 'geo' is {type(value).__name__}, expected {{'lat', 'lon'}}")
    lat, lon = value.get("lat"), value.get("lon")
    for name, coord, bound in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if not isinstance(coord, int | float) or isinstance(coord, bool):
            raise ValueError(f"geo.{name} is {coord!r:.40}, expected a number")
        if not -bound <= coord <= bound:  # also rejects NaN
            raise ValueError(f"geo.{name} {coord!r:.40} is out of range")
    assert isinstance(lat, int | float)
    assert isinstance(lon, int | float)
    return GeoPoint(lat=float(lat), lon=float(lon))
