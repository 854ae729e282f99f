"""``citywatch crawlers refresh`` against operators served on loopback, and what a run makes of
the ranges it fetched."""

from __future__ import annotations

import http.client
import io
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import msgspec
import pytest
from typer.testing import CliRunner

from citywatch.app import job_detectors
from citywatch.cli import app
from citywatch.config import Settings
from citywatch.detect.portal import crawler_refresh
from citywatch.detect.portal.behaviour import PortalBehaviour
from citywatch.detect.portal.crawlers import (
    RANGES_FILE,
    CrawlerRanges,
    RangesFile,
    packaged_lists,
)
from citywatch.errors import InputError

runner = CliRunner()

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
NEW_RANGE = "66.249.79.96/27"
"""A range Google adds (between two of the package's /27s)."""
NEW_ADDRESS = "66.249.79.100"


def _published(ipv4: list[str], ipv6: list[str]) -> bytes:
    """A list in the shape Google, Microsoft, Apple and DuckDuckGo publish."""
    prefixes = [{"ipv4Prefix": p} for p in ipv4] + [{"ipv6Prefix": p} for p in ipv6]
    return json.dumps({"creationTime": "2026-11-20T23:00:00", "prefixes": prefixes}).encode()


def _current() -> dict[str, bytes]:
    """Each operator's list as it is published now: the package's, and Google's new range."""
    out = {}
    for name, lst in packaged_lists().items():
        extra = [NEW_RANGE] if name == "google-googlebot" else []
        out[f"/{name}.json"] = _published([*lst.ipv4, *extra], list(lst.ipv6))
    return out


class _Operators(BaseHTTPRequestHandler):
    """Answers each path from ``routes``: a body (200), an HTTP status, or ``("cut", body)``:
    the headers of the whole body, half of it, and the connection closed."""

    routes: ClassVar[dict[str, bytes | int | tuple[str, bytes]]] = {}

    def do_GET(self) -> None:
        answer = self.routes.get(self.path, 404)
        if isinstance(answer, int):
            self.send_error(answer)
            return
        body = answer[1] if isinstance(answer, tuple) else answer
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if isinstance(answer, tuple) else body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test says what went wrong."""


@pytest.fixture
def operators() -> Iterator[tuple[str, dict[str, bytes | int | tuple[str, bytes]]]]:
    """A loopback server of the operators' lists: its base URL and its routes (to change)."""
    routes = _current()
    handler = type("Handler", (_Operators,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes  # type: ignore[misc]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _refresh(data: Path, base: str) -> tuple[int, str]:
    urls = [f"--url={name}={base}/{name}.json" for name in packaged_lists()]
    result = runner.invoke(app, ["crawlers", "refresh", "--data-dir", str(data), *urls])
    return result.exit_code, result.output


def _in_use(data: Path) -> CrawlerRanges:
    """The ranges a job on ``data`` uses."""
    [portal] = [d for d in job_detectors(Settings(data_dir=data)) if isinstance(d, PortalBehaviour)]
    return portal.crawlers


def _dead_links_log(path: Path) -> Path:
    """Googlebot, from its new range, re-fetching 40 old news pages that are gone."""
    lines = [
        f'{NEW_ADDRESS} - - [14/Mar/2026:08:{i // 20:02d}:{i * 3 % 60:02d} +0000] "GET'
        f' /vijesti/2019/{i % 12 + 1:02d}/clanak-{i} HTTP/1.1" 404 153 "-" "{GOOGLEBOT}"'
        for i in range(40)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _scans(data: Path, log: Path, out: Path) -> list[str]:
    analyse = ["analyse", "--in", f"access-log:{log}", "--no-store", "-o", str(out)]
    result = runner.invoke(app, [*analyse, "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    rules = [json.loads(line)["rule.id"] for line in out.read_text().splitlines()]
    return [r for r in rules if r == "portal.behaviour.scan"]


def test_a_refreshed_list_is_used_googlebots_new_range_is_googlebot(
    tmp_path: Path, operators: tuple[str, dict[str, bytes | int | tuple[str, bytes]]]
) -> None:
    # Google added a range: its crawler's dead links from there were "Web scanning" by a
    # forged Googlebot, for as long as the package's snapshot was the only list
    base, _ = operators
    data = tmp_path / "data"
    log = _dead_links_log(tmp_path / "access.log")
    assert _in_use(data).forged(GOOGLEBOT, NEW_ADDRESS)
    assert _scans(data, log, tmp_path / "before.jsonl") == ["portal.behaviour.scan"]

    code, output = _refresh(data, base)

    assert code == 0, output
    assert output.count("refreshed │ new") == len(packaged_lists()), output
    assert (data / RANGES_FILE).is_file()
    ranges = _in_use(data)
    assert not ranges.forged(GOOGLEBOT, NEW_ADDRESS)
    assert ranges.forged(GOOGLEBOT, "203.0.113.66")  # a forger is a forger still
    assert ranges.refreshed == set(packaged_lists())
    assert _scans(data, log, tmp_path / "after.jsonl") == []


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        pytest.param(404, "HTTP 404", id="not-found"),
        pytest.param(503, "HTTP 503", id="unavailable"),
        pytest.param(b"<html><body>We moved!</body></html>", "JSON is malformed", id="html"),
        pytest.param(("cut", _published(["66.249.64.0/27"] * 50, [])), "cut short", id="cut-short"),
        pytest.param(_published([], []), "no prefixes", id="empty"),
        pytest.param(
            _published(["66.249.64.0/27", "0.0.0.0/0"], []), "wider than a /8", id="everything"
        ),
        pytest.param(
            _published(["66.249.64.0/27", "not-a-prefix"], []), "'not-a-prefix'", id="garbage"
        ),
        pytest.param(
            b'{"prefixes": [{"ipv4Prefix": "66.249.64.0/27"}, {}]}', "names no prefix", id="blank"
        ),
    ],
)
def test_a_bad_download_keeps_the_previous_ranges_and_says_so(
    tmp_path: Path,
    operators: tuple[str, dict[str, bytes | int | tuple[str, bytes]]],
    answer: bytes | int | tuple[str, bytes],
    why: str,
) -> None:
    base, routes = operators
    data = tmp_path / "data"
    assert _refresh(data, base)[0] == 0
    before = json.loads((data / RANGES_FILE).read_bytes())["sources"]["google-googlebot"]
    routes["/google-googlebot.json"] = answer
    routes["/bing-bingbot.json"] = _published(["40.77.167.0/24", "157.55.39.0/24"], [])

    code, output = _refresh(data, base)

    assert code == 1
    said = " ".join(output.replace("│", " ").split())  # the table wraps the reason
    assert "kept the previous copy" in said
    assert why in said
    assert "1 of 4 lists could not be refreshed" in output
    kept = json.loads((data / RANGES_FILE).read_bytes())["sources"]
    assert kept["google-googlebot"] == before
    ranges = _in_use(data)
    assert not ranges.forged(GOOGLEBOT, NEW_ADDRESS)  # the previous refresh's range
    assert ranges.lists["bing-bingbot"].ipv4 == ("40.77.167.0/24", "157.55.39.0/24")


def test_when_every_list_fails_the_package_s_ranges_stay_and_no_file_is_written(
    tmp_path: Path, operators: tuple[str, dict[str, bytes | int | tuple[str, bytes]]]
) -> None:
    base, routes = operators
    routes.clear()
    code, output = _refresh(tmp_path, base)
    assert code == 1
    assert "4 of 4 lists could not be refreshed" in output
    assert "HTTP 404" in output
    assert not (tmp_path / RANGES_FILE).exists()
    assert _in_use(tmp_path).forged(GOOGLEBOT, NEW_ADDRESS)


def test_refreshed_ranges_older_than_the_threshold_are_said_to_be_stale_with_the_command() -> None:
    packaged = packaged_lists()
    snapshot = max(lst.fetched_at for lst in packaged.values())
    fetched = snapshot + timedelta(days=1)
    refreshed = {
        name: msgspec.structs.replace(lst, fetched_at=fetched) for name, lst in packaged.items()
    }
    ranges = CrawlerRanges(refreshed)
    assert ranges.notices(fetched + timedelta(days=29), 30) == []
    [notice] = ranges.notices(fetched + timedelta(days=45), 30)
    assert "last refreshed 45 days ago" in notice
    assert "google-googlebot" in notice
    assert "citywatch crawlers refresh" in notice
    # the package's own lists are as new as the release: no warning at every command's start
    # that a deployment without a refresh could not act on
    assert CrawlerRanges().notices(snapshot + timedelta(days=400), 30) == []


def test_a_run_says_once_that_the_refreshed_ranges_are_stale(
    tmp_path: Path, operators: tuple[str, dict[str, bytes | int | tuple[str, bytes]]]
) -> None:
    base, _ = operators
    data = tmp_path / "data"
    config = tmp_path / "citywatch.toml"
    config.write_text("[detectors.portal-behaviour]\ncrawler_ranges_days = 1\n")
    log = _dead_links_log(tmp_path / "access.log")
    analyse = ["analyse", "--in", f"access-log:{log}", "--no-store", "--data-dir", str(data)]

    packaged = runner.invoke(app, [*analyse, "--config", str(config)])
    assert packaged.exit_code == 0, packaged.output
    assert "crawlers refresh" not in packaged.output

    assert _refresh(data, base)[0] == 0
    kept = msgspec.json.decode((data / RANGES_FILE).read_bytes(), type=RangesFile).sources
    two_days_ago = datetime.now(tz=UTC) - timedelta(days=2)  # and the schedule stopped since
    aged = {n: msgspec.structs.replace(lst, fetched_at=two_days_ago) for n, lst in kept.items()}
    (data / RANGES_FILE).write_bytes(msgspec.json.encode(RangesFile(aged)))
    stale = runner.invoke(app, [*analyse, "--config", str(config)])
    assert stale.exit_code == 0, stale.output
    assert stale.output.count("citywatch crawlers refresh") == 1, stale.output
    fresh = runner.invoke(app, analyse)
    assert fresh.exit_code == 0, fresh.output
    assert "crawlers refresh" not in fresh.output


def test_a_ranges_file_that_cannot_be_read_is_set_aside_said_and_replaced(
    tmp_path: Path, operators: tuple[str, dict[str, bytes | int | tuple[str, bytes]]]
) -> None:
    (tmp_path / RANGES_FILE).write_text('{"sources": {"google-googlebot": {"fetched_at": 3}}}')
    ranges = _in_use(tmp_path)
    assert ranges.forged(GOOGLEBOT, NEW_ADDRESS)
    assert not ranges.forged(GOOGLEBOT, "66.249.66.1")  # the package's
    [notice] = ranges.notices(packaged_lists()["google-googlebot"].fetched_at, 30)
    assert "cannot be used" in notice
    assert "citywatch crawlers refresh" in notice

    assert _refresh(tmp_path, operators[0])[0] == 0
    ranges = _in_use(tmp_path)
    assert ranges.problem is None
    assert not ranges.forged(GOOGLEBOT, NEW_ADDRESS)


def test_a_list_fetched_over_https_is_never_redirected_to_plain_http() -> None:
    # urllib follows a redirect from https to http: anyone on the path could then write
    # which addresses are Googlebot
    handler = crawler_refresh._NoDowngrade()
    request = urllib.request.Request("https://developers.google.com/googlebot.json")
    with pytest.raises(InputError, match="redirected off https"):
        handler.redirect_request(
            request, io.BytesIO(), 302, "Found", http.client.HTTPMessage(), "http://x/g.json"
        )
    onward = handler.redirect_request(
        request, io.BytesIO(), 301, "Moved", http.client.HTTPMessage(), "https://y/g.json"
    )
    assert onward is not None and onward.full_url == "https://y/g.json"
