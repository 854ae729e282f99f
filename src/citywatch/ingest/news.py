"""``news-feed``: news items from RSS or Atom feeds (feedparser), and a polite feed poller.

The input is one feed document (RSS 0.9x/1.0/2.0 or Atom). Each entry becomes
a ``social.news`` event: its id (``guid``/``id``, else its link), its time
(``published``, else ``updated``), its text (title and summary, HTML
removed) and its outlet (the feed's title, or the entry's ``author``) as
the author, so corroboration counts outlets as independent sources. An
entry without a time or any text is a dead letter; so is each line of a
document that is no feed at all. Entries come out oldest first, whatever the feed's order.

A dead letter keeps no author identifier, as the posts' do
(:class:`~citywatch.ingest.posts.AuthorMaskingAdapter`): a bad entry is kept
as JSON of its id, title, link, times and authors, the authors (bylines,
``dc:creator``, e-mail addresses) and any ``@handle`` in it masked; the
lines of a document that is no feed, or a feed too long to read, are not
JSON and cannot be masked reliably, so their bytes are not kept (the reason
says so).

:class:`FeedPoller` fetches a feed URL politely: conditional requests
(``If-None-Match`` with the last ``ETag``, ``If-Modified-Since`` with the
last ``Last-Modified``; a ``304`` gives nothing), no more often than
``every_s``, longer when the server says ``Retry-After``. A document that
brings no entry the previous one did not have gives nothing either, so a
server that ignores conditional requests does not have every entry analysed
again (as late) at every poll.
"""

from __future__ import annotations

import calendar
import hashlib
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar, Final

import msgspec

from citywatch.errors import InputError
from citywatch.ingest.base import MAX_RECORD_BYTES
from citywatch.ingest.fields import MissingFieldError
from citywatch.ingest.mastodon import USER_AGENT, html_text
from citywatch.ingest.posts import MAX_TEXT, AuthorMaskingAdapter
from citywatch.model import DeadLetter, Event, TextPost

if TYPE_CHECKING:
    import feedparser

DATASET: Final = "social.news"
MAX_FEED_BYTES: Final = MAX_RECORD_BYTES * 16


class NewsFeedAdapter(AuthorMaskingAdapter):
    """News items of one RSS or Atom document; its dead letters keep no author identifier."""

    name: ClassVar[str] = "news-feed"
    dataset: ClassVar[str] = DATASET
    description: ClassVar[str] = "news items from an RSS or Atom feed document"

    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        doc = b"\n".join(line.rstrip(b"\r\n") for line in lines)
        if not doc.strip():
            return
        if len(doc) > MAX_FEED_BYTES:
            yield self.dead_letter(source, 1, "too-long", f"feed of {len(doc)} bytes", doc)
            return
        import feedparser  # noqa: PLC0415 - lazy: loads only where feeds are read

        try:
            feed = feedparser.parse(doc)
        except Exception as exc:  # a hostile document can trip the parser (a bad encoding name)
            yield from self._bad_feed(source, doc, f"the feed parser failed ({exc!r:.200})")
            return
        if not feed.entries:
            if feed.get("bozo") or not feed.get("version"):
                why = feed.get("bozo_exception")
                reason = "not part of an RSS or Atom feed" + (f" ({why})" if why else "")
                yield from self._bad_feed(source, doc, reason)
            return
        outlet = str(feed.feed.get("title") or source)
        kind = "atom" if str(feed.get("version", "")).startswith("atom") else "rss"
        events: list[Event] = []
        for n, entry in enumerate(feed.entries, 1):
            try:
                events.append(entry_event(entry, source, n, outlet, kind))
            except ValueError as exc:
                yield self.field_error(source, n, entry_record(entry), exc)
        events.sort(key=_time)  # feeds list the newest first; the pipeline reads in event time
        yield from events

    def _bad_feed(self, source: str, doc: bytes, reason: str) -> Iterator[DeadLetter]:
        """A dead letter for each line of a document that is no feed, kept as it came."""
        for n, line in enumerate(doc.split(b"\n"), 1):
            if line.strip():
                yield self.dead_letter(source, n, "bad-feed", reason, line)


def _time(event: Event) -> float:
    return event.timestamp


_KEPT: Final = ("id", "title", "link", "published", "updated")
"""An entry's fields a dead letter keeps (besides its authors, masked)."""
_PERSON: Final = ("name", "email", "href")


def entry_record(entry: feedparser.FeedParserDict) -> bytes:
    """A bad entry as JSON for its dead letter: what identifies it, its authors under ``author``.

    Every author identifier is under ``author``, so that
    :func:`~citywatch.ingest.posts.redact` masks it, and masks it wherever
    else the entry repeats it (a byline in the title).
    """
    record: dict[str, object] = {}
    for key in _KEPT:
        value = dict.get(entry, key)  # dict.get: feedparser's own maps keys, warning
        if value:
            record[key] = str(value)[:500]
    people: list[str] = []
    if dict.get(entry, "author"):
        people.append(str(dict.get(entry, "author")))
    for person in [*dict.get(entry, "authors", []), *dict.get(entry, "contributors", [])]:
        people += [str(person[f]) for f in _PERSON if isinstance(person, dict) and person.get(f)]
    if dict.get(entry, "publisher"):
        people.append(str(dict.get(entry, "publisher")))
    if people:
        record["author"] = people
    return msgspec.json.encode(record)


def entry_event(
    entry: feedparser.FeedParserDict, source: str, n: int, outlet: str, kind: str
) -> Event:
    """The event for one feed entry; a ValueError says what is wrong with it."""
    # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed, warning
    when = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if when is None:
        raise MissingFieldError(f"entry {n} has no published or updated time")
    title = html_text(str(entry.get("title", "")))
    summary = html_text(str(entry.get("summary", "")))
    text = f"{title}. {summary}" if title and summary else title or summary
    if not text:
        raise ValueError(f"entry {n} has no title or summary")
    link = entry.get("link")
    rid = str(entry.get("id") or link or f"{source}:{n}")[:256]
    return Event(
        id=rid,
        timestamp=float(calendar.timegm(when)),
        dataset=DATASET,
        observer=source,
        user_id=str(entry.get("author") or outlet)[:256],
        payload=TextPost(
            text=text[:MAX_TEXT],
            kind="news",
            platform=kind,
            url=str(link) if link else None,
        ),
    )


class FeedPoller:
    """Fetches one feed URL with conditional requests, at most every ``every_s`` seconds."""

    def __init__(self, url: str, *, every_s: float = 300.0, timeout_s: float = 10.0) -> None:
        self.url = url
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.etag: str | None = None
        self.modified: str | None = None
        self.next_at = 0.0
        """Monotonic time of the next allowed request."""
        self.seen: frozenset[str] = frozenset()
        """The entries (ids, else links or titles) of the last document returned."""
        self.digest = b""
        """The hash of the last document returned."""

    def poll(self) -> list[bytes]:
        """The feed document if it has news since the last poll (one item), else nothing.

        Nothing either when called before the next allowed time. A network or
        HTTP failure raises :class:`~citywatch.errors.InputError`.
        """
        now = time.monotonic()
        if now < self.next_at:
            return []
        self.next_at = now + self.every_s
        headers = {"User-Agent": USER_AGENT}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.modified:
            headers["If-Modified-Since"] = self.modified
        request = urllib.request.Request(self.url, headers=headers)  # noqa: S310 - operator's URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                body: bytes = response.read(MAX_FEED_BYTES + 1)
                self.etag = response.headers.get("ETag") or self.etag
                self.modified = response.headers.get("Last-Modified") or self.modified
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return []
            if exc.code in (429, 503):
                retry = exc.headers.get("Retry-After")
                wait = (
                    float(retry) if retry and retry.isascii() and retry.isdigit() else self.every_s
                )
                self.next_at = now + max(self.every_s, wait)
                return []
            raise InputError(f"HTTP {exc.code} from the feed", path=self.url) from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise InputError(f"cannot reach the feed: {exc}", path=self.url) from exc
        return self._news(body)

    def _news(self, body: bytes) -> list[bytes]:
        import feedparser  # noqa: PLC0415 - lazy, as in NewsFeedAdapter.parse

        digest = hashlib.blake2b(body, digest_size=16).digest()
        entries = feedparser.parse(body).entries if len(body) <= MAX_FEED_BYTES else []
        keys = frozenset(str(e.get("id") or e.get("link") or e.get("title")) for e in entries)
        if digest == self.digest or (keys and keys <= self.seen):
            return []
        self.digest, self.seen = digest, keys
        return [body]
