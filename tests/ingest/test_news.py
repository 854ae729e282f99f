"""News feeds: RSS and Atom entries become events; the poller asks politely (ETag, 304)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import msgspec
import pytest

from citywatch.ingest.news import FeedPoller, NewsFeedAdapter
from citywatch.ingest.posts import DROPPED, MASK
from citywatch.model import DeadLetter, Event, TextPost

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Aldmere Daily</title><link>https://news.example/</link>
<item><guid>news-1</guid><title>Fire at the Port Market Hall</title>
<description>&lt;p&gt;Firefighters are battling a blaze in Port d'Aldmere.&lt;/p&gt;</description>
<link>https://news.example/1</link><pubDate>Sat, 14 Mar 2026 10:10:00 +0100</pubDate></item>
<item><guid>news-2</guid><title>Council meets on Tuesday</title></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Aldmere Radio</title><id>urn:radio</id>
<updated>2026-03-14T12:10:00Z</updated>
<entry><id>urn:radio:7</id><title>Earthquake shakes Aldmere</title>
<updated>2026-03-14T12:10:00Z</updated>
<summary>Buildings damaged in Zelena Dolina.</summary></entry>
</feed>"""


def parse(doc: bytes) -> list[Event | DeadLetter]:
    return list(NewsFeedAdapter().parse("feed", doc.splitlines(keepends=True)))


def test_rss_items_are_news_events_and_an_undated_one_a_dead_letter() -> None:
    undated, fire = parse(RSS)  # dead letters first, then the events oldest first
    assert isinstance(fire, Event) and isinstance(fire.payload, TextPost)
    assert fire.id == "news-1" and fire.dataset == "social.news"
    assert fire.timestamp == 1773479400.0
    assert fire.payload.kind == "news" and fire.payload.platform == "rss"
    assert fire.payload.text.startswith("Fire at the Port Market Hall. Firefighters are battling")
    assert fire.user_id == "Aldmere Daily", "the outlet is the independent source"
    assert isinstance(undated, DeadLetter) and undated.code == "missing-field"


def test_atom_entries_too() -> None:
    (quake,) = parse(ATOM)
    assert isinstance(quake, Event) and isinstance(quake.payload, TextPost)
    assert quake.payload.platform == "atom" and "Zelena Dolina" in quake.payload.text


def test_a_document_that_is_no_feed_is_a_dead_letter() -> None:
    (dead,) = parse(b"<html><body>not a feed</body></html>")
    assert isinstance(dead, DeadLetter) and dead.code == "bad-feed"


def test_a_document_that_trips_the_feed_parser_is_a_dead_letter() -> None:
    # an encoding name that is no UTF-8 made feedparser raise (found by make fuzz)
    doc = b'<?xml version="1.0" encoding="ab\xdacd"?>\n<rss version="2.0"><channel/></rss>'
    letters = parse(doc)
    assert [d.code for d in letters if isinstance(d, DeadLetter)] == ["bad-feed", "bad-feed"]
    assert "the feed parser failed" in letters[0].reason


BYLINES = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Aldmere Daily</title>
<item><guid>news-3</guid><title>ivo_reporter: smoke over Dolac, cc @kap_watch</title>
<dc:creator>ivo_reporter</dc:creator><link>https://news.example/3</link></item>
<item><guid>news-4</guid><title></title><author>mara.k@news.example (Mara Kovač)</author>
<pubDate>Sat, 14 Mar 2026 10:10:00 +0100</pubDate></item>
</channel></rss>""".encode()
HANDLES = (b"ivo_reporter", b"kap_watch", b"mara.k", "Mara Kovač".encode())


def test_a_bad_entrys_dead_letter_keeps_it_with_its_authors_masked() -> None:
    """As a post's: the entry is kept, as JSON, with every byline and handle masked."""
    undated, untitled = parse(BYLINES)
    assert isinstance(undated, DeadLetter) and undated.code == "missing-field"
    assert isinstance(untitled, DeadLetter) and "no title" in untitled.reason
    kept = msgspec.json.decode(undated.raw)
    assert kept == {
        "id": "news-3",
        "title": f"{MASK}: smoke over Dolac, cc {MASK}",
        "link": "https://news.example/3",
        "author": [MASK] * len(kept["author"]),
    }
    assert kept["author"], "the byline is kept, masked"
    authors = msgspec.json.decode(untitled.raw)["author"]
    assert authors and set(authors) == {MASK}
    for letter in (undated, untitled):
        assert not any(h in letter.raw or h.decode() in letter.reason for h in HANDLES)


def test_the_lines_of_a_document_that_is_no_feed_are_not_kept() -> None:
    """Not JSON, so its authors cannot be masked reliably: no byte of it is kept."""
    doc = b"<html><body>\n<p>by ivo_reporter, mara.k@news.example</p>\n</body></html>"
    letters = parse(doc)
    assert len(letters) == 3
    for letter in letters:
        assert isinstance(letter, DeadLetter) and letter.code == "bad-feed"
        assert letter.raw == DROPPED and "not kept" in letter.reason
        assert not any(h.decode() in letter.reason for h in HANDLES)


class FakeFeed(BaseHTTPRequestHandler):
    """A feed server that honours If-None-Match (unless ``etag`` is off)."""

    requests: ClassVar[list[dict[str, str]]] = []
    etag: ClassVar[bool] = True
    doc: ClassVar[bytes] = RSS

    def do_GET(self) -> None:
        self.requests.append(dict(self.headers))
        if not self.etag:
            self.send_response(200)
            self.send_header("Last-Modified", "Sat, 14 Mar 2026 09:10:00 GMT")  # and ignore it
            self.end_headers()
            self.wfile.write(self.doc)
            return
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Last-Modified", "Sat, 14 Mar 2026 09:10:00 GMT")
        self.end_headers()
        self.wfile.write(self.doc)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    FakeFeed.requests = []
    FakeFeed.etag = True
    FakeFeed.doc = RSS
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeFeed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


def test_the_poller_uses_etag_and_waits_between_polls(feed_url: str) -> None:
    poller = FeedPoller(feed_url, every_s=0.0)
    (doc,) = poller.poll()
    assert doc == RSS
    assert poller.poll() == [], "304 Not Modified gives nothing"
    assert FakeFeed.requests[1]["If-None-Match"] == '"v1"'
    assert FakeFeed.requests[1]["If-Modified-Since"] == "Sat, 14 Mar 2026 09:10:00 GMT"
    slow = FeedPoller(feed_url, every_s=3600.0)
    assert slow.poll() and slow.poll() == []
    assert len(FakeFeed.requests) == 3, "no request before every_s has passed"


def test_a_document_with_nothing_new_gives_nothing(feed_url: str) -> None:
    FakeFeed.etag = False  # a server that answers every request in full
    poller = FeedPoller(feed_url, every_s=0.0)
    assert poller.poll() == [RSS]
    assert poller.poll() == [], "the same entries again are not news"
    FakeFeed.doc = RSS.replace(
        b"</channel>", b"<item><guid>news-3</guid><title>Storm</title></item></channel>"
    )
    assert poller.poll() == [FakeFeed.doc], "a new entry brings the document"
    FakeFeed.doc = RSS
    assert poller.poll() == [], "one gone is not news either"
    assert len(FakeFeed.requests) == 4
