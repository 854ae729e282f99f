"""``mastodon``: statuses as Mastodon's REST API returns them, and a poller for a public timeline.

Input: a JSON array of statuses (what ``GET /api/v1/timelines/public`` returns)
or one status per line. Each status needs ``id``, ``created_at`` and
``content`` (HTML, turned into text here); ``language``, ``url``,
``in_reply_to_id`` and ``account.acct`` are used when present. Only public
statuses are read: ``visibility`` other than ``public`` or ``unlisted``
gives a dead letter, never an event. A boost (``reblog``) is read as the
boosted status's text and author under the boost's id, so a boost never adds
an independent author. A dead letter keeps its status with the account,
mentions and links masked (:class:`~citywatch.ingest.posts.AuthorMaskingAdapter`).

:class:`MastodonPoller` follows an instance's public or hashtag timeline
politely: ``since_id`` so each status comes once, a ``User-Agent`` that
names citywatch, and it waits as the server's ``Retry-After`` or
``X-RateLimit-Reset`` says when it is told to slow down.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from typing import ClassVar, Final

import msgspec

from citywatch.errors import InputError
from citywatch.ingest.base import MAX_RECORD_BYTES, first_line
from citywatch.ingest.fields import MissingFieldError, decode_json_text, parse_time
from citywatch.ingest.posts import MAX_TEXT, AuthorMaskingAdapter, ident
from citywatch.model import DeadLetter, Event, TextPost

DATASET: Final = "social.mastodon"
PUBLIC: Final = frozenset({"public", "unlisted"})
USER_AGENT: Final = "citywatch (public-safety monitoring; +https://citywatch.invalid)"
_TAG = re.compile(r"<[^<>]*>")  # not [^>]*: "<<<<…" would take quadratic time
_BREAK = re.compile(r"<br\s*/?>|</p>", re.IGNORECASE)
_decode = msgspec.json.Decoder().decode


def html_text(content: str) -> str:
    """A status's HTML content as plain text.

    >>> html_text('<p>Fire at <a href="#">#Kaptolje</a>!</p><p>Stay&nbsp;away</p>')
    'Fire at #Kaptolje! Stay away'
    """
    text = html.unescape(_TAG.sub("", _BREAK.sub(" ", content)))
    return " ".join(text.split())


class MastodonAdapter(AuthorMaskingAdapter):
    """Mastodon statuses: a JSON array (an API response) or one status per line."""

    name: ClassVar[str] = "mastodon"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "Mastodon statuses (API JSON array or one per line), public only"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        first, again = first_line(lines)
        if not first:
            return  # nothing but blank lines
        if first[:1] == b"[":
            yield from self._array(source, b"\n".join(again))
        else:
            yield from self._lines(source, again)

    def _lines(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        for item in self.json_objects(source, lines):
            if isinstance(item, DeadLetter):
                yield item
                continue
            lineno, raw, rec = item
            yield self._status(source, lineno, raw, rec)

    def _array(self, source: str, doc: bytes) -> Iterator[Event | DeadLetter]:
        if len(doc) > MAX_RECORD_BYTES * 64:
            yield self.dead_letter(source, 1, "too-long", f"{len(doc)} bytes of statuses", doc)
            return
        try:
            statuses = _decode(decode_json_text(doc))
        except (msgspec.DecodeError, RecursionError) as exc:
            yield self.dead_letter(source, 1, "bad-json", f"invalid JSON array: {exc}", doc)
            return
        if not isinstance(statuses, list):
            yield self.dead_letter(source, 1, "bad-json", "expected an array of statuses", doc)
            return
        for n, rec in enumerate(statuses, 1):
            raw = msgspec.json.encode(rec)
            if not isinstance(rec, dict):
                yield self.dead_letter(source, n, "bad-json", "status is not an object", raw)
                continue
            yield self._status(source, n, raw, rec)

    def _status(
        self, source: str, position: int, raw: bytes, rec: dict[str, object]
    ) -> Event | DeadLetter:
        try:
            return status_event(rec, source)
        except ValueError as exc:
            return self.field_error(source, position, raw, exc)


def status_event(rec: dict[str, object], source: str) -> Event:
    """The event for one status; a ValueError says what is wrong with it."""
    rid = ident(rec.get("id"), "id")
    if rid is None:
        raise MissingFieldError("missing field 'id'")
    visibility = rec.get("visibility", "public")
    if not isinstance(visibility, str) or visibility not in PUBLIC:
        raise ValueError(f"visibility {visibility!r:.20} is not public: only public posts are read")
    body = rec.get("reblog") or rec
    if not isinstance(body, dict):
        raise ValueError("field 'reblog' is not a status")
    when = rec.get("created_at")
    if when is None:
        raise MissingFieldError("missing field 'created_at'")
    content = body.get("content")
    if content is None:
        raise MissingFieldError("missing field 'content'")
    if not isinstance(content, str):
        raise ValueError(f"field 'content' is {type(content).__name__}, expected HTML text")
    text = html_text(content)
    spoiler = body.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler:
        text = f"{spoiler} {text}"
    if not text:
        raise ValueError("status has no text")
    account = body.get("account")
    author = ident(account.get("acct"), "account.acct") if isinstance(account, dict) else None
    lang = body.get("language")
    url = body.get("url")
    return Event(
        id=rid,
        timestamp=parse_time(when),
        dataset=DATASET,
        observer=source,
        user_id=author,
        payload=TextPost(
            text=text[:MAX_TEXT],
            platform="mastodon",
            lang=lang[:16] if isinstance(lang, str) else "",
            url=url if isinstance(url, str) else None,
            reply_to=ident(body.get("in_reply_to_id"), "in_reply_to_id"),
        ),
    )


class MastodonPoller:
    """Fetches new statuses of one instance's public (or hashtag) timeline, oldest first."""

    def __init__(
        self, base_url: str, *, tag: str | None = None, limit: int = 40, timeout_s: float = 10.0
    ) -> None:
        path = (
            f"/api/v1/timelines/tag/{urllib.parse.quote(tag)}"
            if tag
            else "/api/v1/timelines/public"
        )
        self.url = base_url.rstrip("/") + path
        self.limit = limit
        self.timeout_s = timeout_s
        self.since_id: str | None = None
        self.wait_until = 0.0
        """Monotonic time before which the server asked not to be called again."""

    def poll(self) -> list[bytes]:
        """The statuses new since the last poll, one JSON line each, oldest first.

        Empty while the server's rate limit says to wait. A network or HTTP
        failure raises :class:`~citywatch.errors.InputError`.
        """
        if time.monotonic() < self.wait_until:
            return []
        query = {"limit": str(self.limit)}
        if self.since_id is not None:
            query["since_id"] = self.since_id
        request = urllib.request.Request(  # noqa: S310 - the operator configures the URL
            f"{self.url}?{urllib.parse.urlencode(query)}", headers={"User-Agent": USER_AGENT}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                body = response.read()
                self._slow_down(response.headers.get("X-RateLimit-Remaining"),
                                response.headers.get("X-RateLimit-Reset"))  # fmt: skip
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                self.wait_until = time.monotonic() + _seconds(exc.headers.get("Retry-After"), 60.0)
                return []
            raise InputError(f"HTTP {exc.code} from the timeline", path=self.url) from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise InputError(f"cannot reach the timeline: {exc}", path=self.url) from exc
        try:
            statuses = _decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise InputError(f"the timeline is not JSON: {exc}", path=self.url) from exc
        if not isinstance(statuses, list):
            raise InputError("the timeline is not a JSON array", path=self.url)
        lines = [msgspec.json.encode(s) for s in reversed(statuses)]
        ids = [s.get("id") for s in statuses if isinstance(s, dict)]
        numeric = [i for i in ids if isinstance(i, str) and i.isdigit()]
        if numeric:
            self.since_id = max(numeric, key=lambda i: (len(i), i))
        return lines

    def _slow_down(self, remaining: str | None, reset: str | None) -> None:
        if remaining is not None and remaining.strip() == "0" and reset:
            try:
                self.wait_until = time.monotonic() + max(0.0, parse_time(reset) - time.time())
            except ValueError:
                self.wait_until = time.monotonic() + 60.0


def _seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
