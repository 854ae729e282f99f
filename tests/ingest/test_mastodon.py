"""Mastodon statuses: the API's JSON, public only; the poller against a local fake instance."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from citywatch.errors import InputError
from citywatch.ingest.mastodon import MastodonAdapter, MastodonPoller, html_text
from citywatch.ingest.posts import DROPPED, MASK
from citywatch.model import DeadLetter, Event, TextPost


def status(sid: int, text: str, **extra: object) -> dict[str, object]:
    return {
        "id": str(sid),
        "created_at": f"2026-03-14T09:{sid % 60:02d}:00.000Z",
        "visibility": "public",
        "language": "en",
        "content": f"<p>{text}</p>",
        "account": {"acct": f"user{sid}@aldmere.social"},
        "url": f"https://aldmere.social/@u/{sid}",
        "in_reply_to_id": None,
        "reblog": None,
        **extra,
    }


def test_an_api_array_gives_events_and_private_statuses_dead_letters() -> None:
    boosted = status(1, "Fire at the Port Market Hall")
    doc = json.dumps(
        [
            status(3, "Stabbing at Kaptolje &amp; police everywhere<br>stay away"),
            status(4, "secret", visibility="direct"),
            status(5, "", reblog=boosted),
        ]
    ).encode()
    items = list(MastodonAdapter().parse("m", doc.splitlines(keepends=True)))
    first, private, boost = items
    assert isinstance(first, Event) and isinstance(first.payload, TextPost)
    assert first.payload.text == "Stabbing at Kaptolje & police everywhere stay away"
    assert (first.user_id, first.payload.platform) == ("user3@aldmere.social", "mastodon")
    assert isinstance(private, DeadLetter) and "not public" in private.reason
    assert isinstance(boost, Event) and isinstance(boost.payload, TextPost)
    assert boost.id == "5" and boost.user_id == "user1@aldmere.social", "the boosted author"
    assert boost.payload.text == "Fire at the Port Market Hall"


class FakeInstance(BaseHTTPRequestHandler):
    """A tiny Mastodon: a public timeline of statuses 1..N, newest first, with since_id."""

    statuses: ClassVar[list[dict[str, object]]] = []
    seen: ClassVar[list[str]] = []
    throttle: ClassVar[bool] = False

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.seen.append(self.path)
        if self.throttle:
            self.send_response(429)
            self.send_header("Retry-After", "30")
            self.end_headers()
            return
        if url.path != "/api/v1/timelines/tag/aldmere":
            self.send_error(404)
            return
        since = int(parse_qs(url.query).get("since_id", ["0"])[0])
        body = json.dumps([s for s in reversed(self.statuses) if int(str(s["id"])) > since])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def instance() -> Iterator[str]:
    FakeInstance.statuses = [status(i, f"post {i}") for i in range(1, 4)]
    FakeInstance.seen = []
    FakeInstance.throttle = False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeInstance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_poller_reads_each_status_once_oldest_first(instance: str) -> None:
    poller = MastodonPoller(instance, tag="aldmere")
    first = poller.poll()
    assert [json.loads(line)["id"] for line in first] == ["1", "2", "3"]
    assert poller.poll() == []
    FakeInstance.statuses.append(status(4, "post 4"))
    (line,) = poller.poll()
    assert json.loads(line)["id"] == "4"
    assert FakeInstance.seen[-1].endswith("since_id=3")
    events = list(MastodonAdapter().parse("poll", first))
    assert all(isinstance(e, Event) for e in events)


def test_the_poller_backs_off_when_told(instance: str) -> None:
    poller = MastodonPoller(instance, tag="aldmere")
    FakeInstance.throttle = True
    assert poller.poll() == []
    assert poller.poll() == [], "waits as Retry-After says, without asking again"
    assert len(FakeInstance.seen) == 1


def test_a_missing_timeline_is_an_input_error(instance: str) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        MastodonPoller(instance).poll()


def test_a_dead_letter_masks_the_account_mentions_and_links() -> None:
    mention = (
        '<span class="h-card"><a href="https://aldmere.social/@bob_k" class="u-url mention">'
        "@<span>bob_k</span></a></span>"
    )
    private = status(
        7, f"{mention} meet me, bob_k", visibility="direct",
        mentions=[{"id": "55", "username": "bob_k", "acct": "bob_k", "url": "https://x/@bob_k"}],
        in_reply_to_account_id="55", uri="https://aldmere.social/users/user7/statuses/7",
    )  # fmt: skip
    as_line = json.dumps(private).encode()
    as_array = json.dumps([private]).encode()
    for lines in ([as_line], as_array.splitlines(keepends=True)):
        (dead,) = MastodonAdapter().parse("m", lines)
        assert isinstance(dead, DeadLetter) and dead.position == 1 and "not public" in dead.reason
        kept = json.loads(dead.raw)
        assert kept["account"] == {"acct": MASK}
        assert kept["mentions"] == [{"id": MASK, "username": MASK, "acct": MASK, "url": MASK}]
        assert kept["url"] == kept["uri"] == kept["in_reply_to_account_id"] == MASK
        assert (kept["id"], kept["visibility"]) == ("7", "direct"), "the rest is kept"
        assert "meet me" in kept["content"] and 'class="u-url mention"' in kept["content"]
        assert not re.search(r"user7|bob_k", dead.raw.decode(), re.I), dead.raw


def test_broken_json_keeps_no_bytes_and_deep_nesting_is_a_dead_letter() -> None:
    (cut,) = MastodonAdapter().parse("m", [json.dumps(status(1, "x"))[:-30].encode()])
    assert isinstance(cut, DeadLetter) and cut.raw == DROPPED and "not kept" in cut.reason
    (deep,) = MastodonAdapter().parse("m", [b"[" * 5000 + b"]" * 5000])
    assert isinstance(deep, DeadLetter) and deep.code == "bad-json" and deep.raw == DROPPED


def test_html_text_takes_linear_time() -> None:
    started = time.monotonic()
    assert html_text("<" * 1_000_000 + "x") == "<" * 1_000_000 + "x"
    assert time.monotonic() - started < 5.0, "a quadratic pattern would take minutes"
