"""``citywatch ingest-social``: follow a Mastodon timeline or news feeds into the store.

Each source is polled every ``--interval`` seconds, politely: a Mastodon
timeline is asked only for what is new (``since_id``), a feed with
conditional requests (``ETag``, ``Last-Modified``); both wait as long as the
server says when told to slow down, and a source that fails is asked again
later and later (doubling, up to :data:`MAX_BACKOFF_S`). What a poll brings
is analysed live into the store (:class:`~citywatch.live.LivePipeline`):
detections, incidents, dead letters; with a bus (``--bus`` or ``bus_url``),
it is published for the workers instead. Each source's cursor is kept in the
store, so a restart asks only for what is new. A status line comes every
``--status-every`` seconds; Ctrl-C or SIGTERM stops cleanly, after
checkpointing the state and recording the run with its counts.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Annotated

import msgspec
import structlog
import typer
from rich.table import Table

from citywatch.app import city_store
from citywatch.cli_console import console, err
from citywatch.cli_options import ConfigOpt, DataDirOpt
from citywatch.cli_worker import BusOpt, print_destination
from citywatch.config import load_settings
from citywatch.errors import InputError
from citywatch.ingest.mastodon import MastodonAdapter, MastodonPoller
from citywatch.ingest.news import FeedPoller, NewsFeedAdapter
from citywatch.live import LiveInput, open_live
from citywatch.store import Store

MAX_BACKOFF_S = 900.0
"""The longest wait before asking a failing source again, seconds."""

social_app = typer.Typer(
    name="ingest-social",
    help="Follow a Mastodon timeline or news feeds into the store until stopped.",
    no_args_is_help=True,
)
_log = structlog.get_logger(__name__)

Poller = MastodonPoller | FeedPoller

SecondsOpt = Annotated[
    float | None,
    typer.Option(min=0.0, help="stop after this many seconds (default: at Ctrl-C)"),
]
StatusOpt = Annotated[
    float, typer.Option("--status-every", min=1.0, help="seconds between status lines")
]


class Cursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where a source's poller stands: what the next request asks for."""

    since_id: str | None = None
    etag: str | None = None
    modified: str | None = None


@dataclass
class Counts:
    """What the sources gave so far."""

    polls: int = 0
    failed_polls: int = 0
    batches: int = 0
    records: int = 0
    events: int = 0
    dead_letters: int = 0
    failed_batches: int = 0

    def line(self) -> str:
        """The counts as one status line."""
        return ", ".join(
            f"{getattr(self, f.name):,} {f.name.replace('_', ' ')}" for f in fields(self)
        )


@dataclass
class Source:
    """One followed source: its format, its poller and when to ask it next (monotonic)."""

    fmt: str
    poller: Poller
    due: float = 0.0
    failures: int = 0

    @property
    def state_name(self) -> str:
        """The name of its cursor in the store (the URL hashed: it may carry a token)."""
        return f"poller/{self.fmt}/{hashlib.sha256(self.poller.url.encode()).hexdigest()[:16]}"

    def cursor(self) -> Cursor:
        """Where the poller stands."""
        if isinstance(self.poller, MastodonPoller):
            return Cursor(since_id=self.poller.since_id)
        return Cursor(etag=self.poller.etag, modified=self.poller.modified)

    def resume(self, cursor: Cursor) -> None:
        """Put the poller where ``cursor`` says."""
        if isinstance(self.poller, MastodonPoller):
            self.poller.since_id = cursor.since_id
        else:
            self.poller.etag, self.poller.modified = cursor.etag, cursor.modified

    def held_until(self) -> float:
        """The monotonic time before which the server asked not to be called."""
        if isinstance(self.poller, MastodonPoller):
            return self.poller.wait_until
        return self.poller.next_at


class Follower:
    """Polls its sources when due and feeds what they bring to a live pipeline."""

    def __init__(
        self,
        live: LiveInput,
        store: Store,
        sources: Sequence[Source],
        *,
        interval: float,
        warn: Callable[[str], None],
    ) -> None:
        self.live = live
        self.store = store
        self.sources = list(sources)
        self.interval = interval
        self.warn = warn
        self.counts = Counts()
        self._batches = 0
        for source in self.sources:
            if (blob := store.load_state(source.state_name)) is not None:
                source.resume(msgspec.json.decode(blob, type=Cursor))

    def next_due(self) -> float:
        """The monotonic time when the next source is due."""
        return min(s.due for s in self.sources)

    def poll_due(self, stop: threading.Event) -> None:
        """Poll every source that is due (until ``stop`` is set)."""
        for source in self.sources:
            if stop.is_set():
                return
            if time.monotonic() >= source.due:
                self._poll(source)

    def _poll(self, source: Source) -> None:
        counts = self.counts
        before = source.cursor()
        try:
            lines = source.poller.poll()
        except InputError as exc:
            source.failures += 1
            counts.failed_polls += 1
            wait = min(
                self.interval * 2 ** min(source.failures, 16), max(MAX_BACKOFF_S, self.interval)
            )
            source.due = time.monotonic() + wait
            self.warn(f"{exc}; asking again in {wait:.0f} s")
            return
        source.failures = 0
        counts.polls += 1
        source.due = max(time.monotonic() + self.interval, source.held_until())
        if lines and not self._ingest(source, lines):
            return  # not saving the cursor: a restart asks for these again
        if source.cursor() != before:
            self.store.save_state(source.state_name, msgspec.json.encode(source.cursor()))

    def _ingest(self, source: Source, lines: list[bytes]) -> bool:
        counts = self.counts
        self._batches += 1
        where = urllib.parse.urlsplit(source.poller.url).netloc
        name = f"{source.fmt}/{where}/{self.live.run_id}-{self._batches}"
        try:
            result = self.live.ingest(source.fmt, name, lines)
        except Exception as exc:  # one bad batch never stops the others
            counts.failed_batches += 1
            _log.warning("social_batch_failed", source=name, error=type(exc).__name__)
            self.warn(f"a batch from {where} failed ({type(exc).__name__}); going on")
            return False
        counts.batches += 1
        counts.records += len(lines)
        counts.events += result.accepted
        counts.dead_letters += result.dead_letters
        return True


def follow(
    follower: Follower,
    stop: threading.Event,
    *,
    seconds: float | None,
    status_every: float,
    say: Callable[[str], None],
) -> Counts:
    """Poll until ``stop`` is set (or ``seconds`` have passed), with a status line now and then."""
    start = time.monotonic()
    deadline = None if seconds is None else start + seconds
    next_status = start + status_every
    while not stop.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        follower.poll_due(stop)
        now = time.monotonic()
        if now >= next_status:
            say(f"{datetime.now():%H:%M:%S} {follower.counts.line()}")
            next_status = now + status_every
        wake = min(follower.next_due(), next_status)
        if deadline is not None:
            wake = min(wake, deadline)
        stop.wait(max(0.05, wake - time.monotonic()))
    return follower.counts


def _http_url(value: str, option: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise typer.BadParameter(f"{value!r} is no http(s) URL", param_hint=option)
    return value


def _run(
    fmt: str,
    pollers: Sequence[Poller],
    *,
    interval: float,
    seconds: float | None,
    status_every: float,
    bus: str | None,
    config: Path | None,
    data_dir: Path | None,
) -> None:
    settings = load_settings(config, data_dir=data_dir, bus_url=bus)
    stop = threading.Event()
    store = city_store(settings)  # the cursors are kept in it, with a bus too
    try:
        live = open_live(
            settings,
            store,
            command=f"ingest-social {fmt}",
            inputs=[f"{fmt}:{p.url}" for p in pollers],
        )
        sources = [Source(fmt, p) for p in pollers]
        follower = Follower(live, store, sources, interval=interval, warn=_warn)
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            urls = ", ".join(p.url for p in pollers)
            _say(f"following {fmt} {urls} every {interval:g} s (Ctrl-C stops)")
            counts = follow(follower, stop, seconds=seconds, status_every=status_every, say=_say)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        live.close()
    finally:
        store.close()
    table = Table(title=f"{fmt} ingestion", title_justify="left")
    table.add_column("count")
    table.add_column("", justify="right")
    for f in fields(counts):
        table.add_row(f.name.replace("_", " "), f"{getattr(counts, f.name):,}")
    console.print(table)
    print_destination(settings)


def _say(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _warn(line: str) -> None:
    err.print(line, markup=False, highlight=False, soft_wrap=True, style="yellow")


@social_app.command("mastodon")
def mastodon_cmd(
    instance: Annotated[
        str, typer.Option(help="the instance's base URL, e.g. https://mastodon.social")
    ],
    hashtag: Annotated[
        str | None, typer.Option(help="follow this hashtag's timeline (default: the public one)")
    ] = None,
    interval: Annotated[float, typer.Option(min=1.0, help="seconds between polls")] = 60.0,
    limit: Annotated[int, typer.Option(min=1, max=40, help="statuses per request")] = 40,
    seconds: SecondsOpt = None,
    status_every: StatusOpt = 60.0,
    bus: BusOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Follow a Mastodon instance's public (or hashtag) timeline live into the store."""
    url = _http_url(instance, "--instance")
    poller = MastodonPoller(url, tag=hashtag.lstrip("#") if hashtag else None, limit=limit)
    _run(
        MastodonAdapter.name,
        [poller],
        interval=interval,
        seconds=seconds,
        status_every=status_every,
        bus=bus,
        config=config,
        data_dir=data_dir,
    )


@social_app.command("news")
def news_cmd(
    urls: Annotated[list[str], typer.Option("--url", help="RSS or Atom feed URL (repeatable)")],
    interval: Annotated[float, typer.Option(min=1.0, help="seconds between polls")] = 300.0,
    seconds: SecondsOpt = None,
    status_every: StatusOpt = 60.0,
    bus: BusOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Follow RSS or Atom news feeds live into the store."""
    pollers = [FeedPoller(_http_url(u, "--url"), every_s=interval) for u in dict.fromkeys(urls)]
    _run(
        NewsFeedAdapter.name,
        pollers,
        interval=interval,
        seconds=seconds,
        status_every=status_every,
        bus=bus,
        config=config,
        data_dir=data_dir,
    )
