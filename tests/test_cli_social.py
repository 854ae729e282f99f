"""``citywatch ingest-social``: a timeline and a feed followed live into the store, stopped.

The instance and the feed are real HTTP servers on 127.0.0.1 in the test;
the commands run as child processes (``python -m citywatch``) stopped by
SIGINT and SIGTERM, or in-process for ``--seconds``. The store is read back
afterwards: the run with its counts, the detections, the dead letters and
each source's cursor.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from typer.testing import CliRunner

from citywatch.app import city_store
from citywatch.cli import app
from citywatch.cli_social import Follower, Source
from citywatch.config import load_settings
from citywatch.ingest.mastodon import MastodonPoller
from citywatch.ingest.posts import MASK
from citywatch.live import LivePipeline
from citywatch.store import Store, open_store

T0 = 1_773_478_800  # 2026-03-14 09:00 UTC
REPORTS = [
    "Someone just got stabbed outside the bakery in Kaptolje, ambulance is here",
    "Stabbing at Kaptolje, police have taped off the street",
    "A man was knifed near the cathedral, there is blood on the pavement",
    "Witnessed a stabbing at Kaptolje tonight, still shaking",
]
RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Aldmere Daily</title><link>https://news.example/</link>
<item><guid>news-1</guid><title>Fire at the Port Market Hall</title>
<link>https://news.example/1</link><pubDate>Sat, 14 Mar 2026 10:10:00 +0100</pubDate></item>
<item><guid>news-2</guid><title>Council meets on Tuesday</title></item>
</channel></rss>"""
runner = CliRunner()


def status(sid: int, text: str, **extra: object) -> dict[str, object]:
    name = f"witness{sid}"
    return {
        "id": str(sid),
        "created_at": T0 + 40 * sid,
        "visibility": "public",
        "language": "en",
        "content": f"<p>{text}</p>",
        "account": {"id": str(900 + sid), "acct": f"{name}@aldmere.social", "username": name},
        "url": f"https://aldmere.social/@{name}/{sid}",
        **extra,
    }


@dataclass
class Site:
    """What the fake servers serve and what they were asked."""

    statuses: list[dict[str, object]] = field(default_factory=list)
    feed: bytes = RSS
    fail: bool = False
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def asked(self, path: str) -> list[tuple[str, dict[str, str]]]:
        return [r for r in list(self.requests) if urlparse(r[0]).path == path]


def handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            site.requests.append((self.path, dict(self.headers)))
            if site.fail:
                self.send_error(500)
            elif url.path == "/api/v1/timelines/tag/aldmere":
                since = int(parse_qs(url.query).get("since_id", ["0"])[0])
                new = [s for s in reversed(site.statuses) if int(str(s["id"])) > since]
                self._send(json.dumps(new).encode(), "application/json")
            elif url.path == "/feed.xml":
                etag = f'"{hash(site.feed) & 0xFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self._send(site.feed, "application/rss+xml", etag=etag)
            else:
                self.send_error(404)

        def _send(self, body: bytes, kind: str, etag: str | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag is not None:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "citywatch.toml"
    path.write_text("[detectors.social-events]\nstrong = false\n")  # no need for the big model
    return path


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "COLUMNS": "120"}
    return subprocess.Popen(
        [sys.executable, "-m", "citywatch", "ingest-social", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        cwd=cwd,
    )


def stop(proc: subprocess.Popen[str], sig: signal.Signals) -> str:
    try:
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    return out


def first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready, "the command printed nothing in 60 s"
    return proc.stdout.readline()


def counts(out: str) -> dict[str, int]:
    return {
        k: int(v.replace(",", "")) for k, v in re.findall(r"│ ([a-z ]+?)\s+│\s+([\d,]+) │", out)
    }


def store_of(data: Path) -> Store:
    """The store as the commands open it (raw records sealed with the data dir's key)."""
    return city_store(load_settings(None, data_dir=data))


def test_mastodon_until_ctrl_c_leaves_detections_and_counts_in_the_store(
    site: tuple[Site, str], config: Path, tmp_path: Path
) -> None:
    state, base = site
    state.statuses = [status(i, REPORTS[i - 1]) for i in (1, 2)]
    state.statuses.append(status(3, "see you", visibility="direct"))
    data = tmp_path / "data"
    args = ["mastodon", "--instance", base, "--hashtag", "#aldmere", "--interval", "1"]
    args += ["--status-every", "1", "--config", str(config), "--data-dir", str(data)]
    proc = start(args, tmp_path)
    line = first_line(proc)
    path = "/api/v1/timelines/tag/aldmere"
    assert f"following mastodon {base}{path} every 1 s" in line, line
    wait_until(lambda: len(state.asked(path)) >= 1, 30, "the first poll")
    state.statuses += [status(i, REPORTS[i - 2]) for i in (4, 5)]  # two more posts come in
    wait_until(lambda: "since_id=5" in state.asked(path)[-1][0], 30, "a poll after the new posts")
    out = stop(proc, signal.SIGINT)
    assert re.search(r"^\d\d:\d\d:\d\d \d+ polls, 0 failed polls, ", out, re.M), out
    got = counts(out)
    assert (got["records"], got["events"], got["dead letters"]) == (5, 4, 1), out
    assert got["failed polls"] == got["failed batches"] == 0
    first, *later = state.asked(path)
    assert "since_id" not in first[0] and "limit=40" in first[0]
    assert all("since_id=" in p for p, _ in later), "each status is asked for once"
    assert all(h["User-Agent"].startswith("citywatch") for _, h in state.requests)

    store = store_of(data)
    try:
        (run,) = store.runs()
        assert run.command == "ingest-social mastodon" and run.finished is not None
        assert sum(v for k, v in run.stats.items() if k.startswith("events.")) == 4
        detections = store.detections()
        assert [d.detector for d in detections] == ["social-events"]
        assert detections[0].entity["district"] == "Kaptolje"
        assert {"1", "2", "4"} <= set(detections[0].evidence) <= {"1", "2", "4", "5"}
        (letter,) = store.dead_letters()
        assert "not public" in letter.reason and b"witness3" not in letter.raw
        assert json.loads(letter.raw)["account"]["acct"] == MASK
        cursor = store.load_state(
            Source("mastodon", MastodonPoller(base, tag="aldmere")).state_name
        )
        assert cursor is not None and json.loads(cursor) == {"since_id": "5"}
    finally:
        store.close()

    # a restart asks only for what is new: the cursor came back from the store
    result = runner.invoke(app, ["ingest-social", *args[:-4], "--seconds", "0.5", *args[-4:]])
    assert result.exit_code == 0, result.output
    assert "since_id=5" in state.asked(path)[-1][0]
    assert counts(result.output)["records"] == 0


def test_news_until_sigterm_asks_politely_and_stores_the_items(
    site: tuple[Site, str], config: Path, tmp_path: Path
) -> None:
    state, base = site
    data = tmp_path / "data"
    args = ["news", "--url", f"{base}/feed.xml", "--interval", "1", "--status-every", "1"]
    proc = start([*args, "--config", str(config), "--data-dir", str(data)], tmp_path)
    assert "following news-feed" in first_line(proc)
    wait_until(lambda: len(state.asked("/feed.xml")) >= 3, 30, "three polls")
    out = stop(proc, signal.SIGTERM)
    got = counts(out)
    assert got["polls"] >= 3 and got["batches"] == 1, "304 Not Modified brings nothing"
    assert (got["records"], got["events"], got["dead letters"]) == (1, 1, 1), out
    first, second, *_ = state.asked("/feed.xml")
    assert "If-None-Match" not in first[1] and second[1]["If-None-Match"].startswith('"')
    store = store_of(data)
    try:
        (run,) = store.runs()
        assert run.finished is not None and run.inputs == [f"news-feed:{base}/feed.xml"]
        assert sum(v for k, v in run.stats.items() if k.startswith("events.")) == 1
        assert [d.code for d in store.dead_letters()] == ["missing-field"]
    finally:
        store.close()


def test_a_failing_source_is_asked_again_later_and_later(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    state, base = site
    state.fail = True
    settings = load_settings(None, data_dir=tmp_path / "data")
    store = open_store(settings.store)
    warnings: list[str] = []
    try:
        live = LivePipeline(settings, store, command="test", inputs=["mastodon"])
        source = Source("mastodon", MastodonPoller(base, tag="aldmere"))
        follower = Follower(live, store, [source], interval=10.0, warn=warnings.append)
        waits = []
        for _ in range(3):
            source.due = 0.0
            before = time.monotonic()
            follower.poll_due(threading.Event())
            waits.append(round(source.due - before, -1))
        live.close()
    finally:
        store.close()
    assert waits == [20.0, 40.0, 80.0]
    assert follower.counts.failed_polls == 3 and follower.counts.polls == 0
    assert "HTTP 500" in warnings[0] and "asking again in 20 s" in warnings[0]


def test_only_http_urls_are_followed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest-social", "news", "--url", "file:///etc/passwd"])
    assert result.exit_code == 2 and "no http(s) URL" in result.output
    result = runner.invoke(app, ["ingest-social", "mastodon", "--instance", "x", "--interval", "0"])
    assert result.exit_code == 2
