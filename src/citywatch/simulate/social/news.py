"""Aldmere's local news feed (RSS 2.0): ordinary stories, and reports on the city's events.

An outlet reports an event four to ten minutes after it begins: after the
first posts about a sudden event, which come within a couple of minutes;
for the extortion wave, whose posts trickle in over three hours, often
before anyone posts (shop owners told a reporter: the outlet breaks the
story). Ordinary stories (council, culture, sport, anniversaries) run
through the day. Headlines are the corpus's (``HEADLINES`` and
``ORDINARY_HEADLINES`` in :mod:`.templates`). Each item is one
``news-feed`` record; its ground truth goes beside it, in the social truth
file, like the posts'.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from random import Random
from typing import Final, NamedTuple
from xml.sax.saxutils import escape

from citywatch.simulate import schedule
from citywatch.simulate.social.corpus import fill, place_names
from citywatch.simulate.social.stream import Scenario
from citywatch.simulate.social.templates import HEADLINES, ORDINARY_HEADLINES

OUTLET: Final = "Aldmere Daily"
ORDINARY: Final = 6
"""Ordinary stories a run's feed carries."""


class NewsItem(NamedTuple):
    ms: int
    id: str
    title: str
    event: str | None
    category: str
    place: str | None


def items(
    rng: Random, scenarios: tuple[Scenario, ...], start_ms: int, span_ms: int
) -> list[NewsItem]:
    """The feed's items, oldest first."""
    times = [schedule.at(start_ms, span_ms, s.at) + rng.randrange(240_000, 600_000)
             for s in scenarios]  # fmt: skip
    out = [
        NewsItem(ms, f"aldmere-daily-event-{n + 1}",
                 fill(rng.choice(HEADLINES[s.category]), rng, [s.places[0]]), s.id, s.category,
                 s.places[0])
        for n, (s, ms) in enumerate(zip(scenarios, times, strict=True))
    ]  # fmt: skip
    places = place_names()
    out += [
        NewsItem(start_ms + int(span_ms * (i + 0.5) / ORDINARY), f"aldmere-daily-{i + 1}",
                 fill(template, rng, places), None, "none", None)
        for i, template in enumerate(rng.sample(ORDINARY_HEADLINES, ORDINARY))
    ]  # fmt: skip
    return sorted(out)


def _date(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, tz=UTC))


def rss(news: list[NewsItem]) -> str:
    """The items as an RSS 2.0 document, newest first as feeds list them."""
    entries = "".join(
        f'<item><guid isPermaLink="false">{n.id}</guid><title>{escape(n.title)}</title>'
        f"<link>https://news.aldmere.invalid/{n.id}</link>"
        f"<pubDate>{_date(n.ms)}</pubDate></item>\n"
        for n in reversed(news)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{OUTLET}</title><link>https://news.aldmere.invalid/</link>"
        "<description>Local news of Aldmere</description>\n"
        f"{entries}</channel></rss>\n"
    )
