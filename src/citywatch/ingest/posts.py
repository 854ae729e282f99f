"""``posts-jsonl``: one public social-media post per line, as a JSON object (FORMATS.md)::

    {"id": "p-1", "created_at": "2026-03-14T10:02:00+01:00", "text": "Smoke over Kaptolje!",
     "lang": "en", "author": "someone", "geo": {"lat": 45.82, "lon": 15.97},
     "url": "https://social.example/p-1", "reply_to": "p-0"}

``id`` (a string or an integer), ``created_at`` (ISO 8601 or epoch seconds)
and a non-empty ``text`` are required; ``lang``, ``author``, ``geo``, ``url``
and ``reply_to`` are optional. The author goes on the event's ``user_id``
only for the enricher, which replaces it with its keyed pseudonym: no raw
author reaches a detector or a store.

Nor does one reach a store through a dead letter: an adapter of posts or
news (:class:`AuthorMaskingAdapter`) keeps a bad record's raw bytes only with
every author identifier masked (:func:`mask_authors`): the values of
``author``, ``account``, ``mentions`` and the like, links and ``@handle``
mentions, and wherever else the record repeats those identifiers. A record
that is not JSON cannot be masked reliably and its bytes are not kept
(:data:`DROPPED`); its reason says so.

>>> mask_authors(b'{"id": 1, "author": "kap_watch", "text": "cc @ana@x.social, kap_watch here"}')
b'{"id":1,"author":"<author>","text":"cc <author>, <author> here"}'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar, Final

import msgspec

from citywatch.ingest.base import MAX_RECORD_BYTES, Adapter
from citywatch.ingest.fields import MissingFieldError, decode_json_text, parse_time
from citywatch.model import DeadLetter, Event, GeoPoint, TextPost

DATASET = "social.post"
MAX_TEXT = 10_000
"""Characters of a post's text that are kept (longer texts are cut, not rejected)."""

MASK: Final = "<author>"
"""What replaces an author identifier in a dead letter."""
DROPPED: Final = b"<not JSON: not kept, it may name an author>"
"""The raw bytes kept in a dead letter of a post that is not JSON (so cannot be masked)."""
NOT_KEPT: Final = "raw bytes not kept: not JSON, so author identifiers cannot be masked"
PERSON_KEYS: Final = frozenset(
    {
        "author", "account", "acct", "username", "display_name", "screen_name", "handle",
        "user", "user_id", "mentions", "in_reply_to_account_id", "url", "uri",
    }
)  # fmt: skip
"""Keys whose whole value is masked, at any depth (a post's link names its author too)."""
MAX_REPEATS: Final = 32
"""The identifiers of a record that are also looked for elsewhere in it (its text, its links)."""
_PERSON_LINK = re.compile(r"(<a\b[^<>]*(?:@|/users/)[^<>]*>)(?:[^<]+|<(?!/a>)[^<>]*>)*", re.I)
_HANDLE = re.compile(
    r"(?<![\w.+\-])[\w.+\-]*@(?:<[^<>]*>)*[\w\-]+(?:[.@][\w\-]+)*|/users/[^/\s\"'?#<>]+"
)
_decode = msgspec.json.Decoder().decode


def mask_authors(raw: bytes) -> bytes:
    """A post record's bytes with its author identifiers masked; :data:`DROPPED` if not JSON."""
    return redact(raw, "")[0]


def redact(raw: bytes, reason: str) -> tuple[bytes, str]:
    """A dead letter's raw bytes and reason with the record's author identifiers masked.

    The raw bytes come back as re-encoded JSON, or as :data:`DROPPED` when they
    are not JSON (or too long to decode), and the reason then says so.
    """
    if len(raw) <= MAX_RECORD_BYTES:
        try:
            record = _decode(decode_json_text(raw).strip())
            masker = _Masker(record)
            return msgspec.json.encode(masker.value(record)), masker.text(reason)
        except (msgspec.MsgspecError, RecursionError, UnicodeError):
            pass  # not JSON (or nested too deep): nothing can be kept
    why = _Masker(None).text(reason)
    return DROPPED, f"{why}; {NOT_KEPT}" if why else NOT_KEPT


class _Masker:
    """Masks one record: person fields wholly; mentions, links and repeats of them in text."""

    def __init__(self, record: object) -> None:
        found: list[str] = []
        _collect(record, found, person=False)
        names = sorted({n for n in found if len(n) >= 3}, key=len, reverse=True)[:MAX_REPEATS]
        self._repeats = re.compile("|".join(map(re.escape, names)), re.I) if names else None

    def text(self, text: str) -> str:
        """``text`` with person links, ``@handle`` mentions and the record's identifiers masked."""
        text = _HANDLE.sub(MASK, _PERSON_LINK.sub(lambda m: m.group(1) + MASK, text))
        return self._repeats.sub(MASK, text) if self._repeats is not None else text

    def value(self, value: object, *, person: bool = False) -> object:
        """``value`` masked; under a person key every string and number is masked. Keys are
        field names (``@timestamp`` is no handle), kept as they are."""
        if isinstance(value, dict):
            return {
                k: self.value(v, person=person or k.lower() in PERSON_KEYS)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(v, person=person) for v in value]
        if value is None or isinstance(value, bool):
            return value
        if person:
            return MASK
        return self.text(value) if isinstance(value, str) else value


def _collect(value: object, into: list[str], *, person: bool) -> None:
    """The identifiers under person keys (an ``acct``'s local part too), into ``into``."""
    if isinstance(value, dict):
        for k, v in value.items():
            _collect(v, into, person=person or k.lower() in PERSON_KEYS)
    elif isinstance(value, list):
        for v in value:
            _collect(v, into, person=person)
    elif person and isinstance(value, str | int) and not isinstance(value, bool):
        name = str(value).strip().lstrip("@")
        if "/" in name:
            return  # a link: masked where it stands, not looked for elsewhere
        into.append(name)
        if "@" in name:
            into.append(name.split("@", 1)[0])


class AuthorMaskingAdapter(Adapter):
    """An adapter of posts: its dead letters keep no author identifier (:func:`redact`)."""

    def dead_letter(
        self, source: str, position: int, code: str, reason: str, raw: bytes
    ) -> DeadLetter:
        kept, why = redact(raw, reason)
        return super().dead_letter(source, position, code, why, kept)


class PostsJsonlAdapter(AuthorMaskingAdapter):
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
