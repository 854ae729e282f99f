"""Aldmere's local news feed (RSS 2.0): ordinary stories, and reports on the city's events.

An outlet reports an event four to ten minutes after it begins: after the
first posts about a sudden event, which come within a couple of minutes;
for the extortion wave, whose posts trickle in over three hours, often
before anyone posts (shop owners told a reporter: the outlet breaks the
story). Ordinary stories (council, culture, sport, anniversaries) run
through the day. Each item is one ``news-feed`` record; its ground truth
goes beside it, in the social truth file, like the posts'.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from random import Random
from typing import Final, NamedTuple
from xml.sax.saxutils import escape

from citywatch.simulate import schedule
from citywatch.simulate.social.stream import Scenario

OUTLET: Final = "Aldmere Daily"
ORDINARY: Final = (
    "Council approves the new tram line to Lučko Brdo",
    "Aldmere FC sign a new striker before the derby",
    "Museum marks 60 years since the 1964 flood with an exhibition",
    "Jarun Lake swimming season opens early this year",
    "Road works on Savska cesta to last until May",
    "Film festival at the Old Town brings a record crowd",
)
REPORTS: Final = {
    "organised-crime": "Shop owners in {p} report a gang demanding protection money",
    "civil-unrest": "Fans clash with police in {p} after the match, shop windows smashed",
    "violence": "Man stabbed in {p}, police search for the attacker",
    "fire": "Firefighters battle a large blaze at {p}, residents told to keep windows shut",
    "crowd-danger": "Alarm at {p} sets off a crush at the exits, several injured",
    "natural-hazard": "Earthquake strikes Aldmere: buildings damaged in {p}, rescue teams deployed",
}


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
    out = [
        NewsItem(start_ms + int(span_ms * (i + 0.5) / len(ORDINARY)), f"aldmere-daily-{i + 1}",
                 title, None, "none", None)
        for i, title in enumerate(ORDINARY)
    ]  # fmt: skip
    for n, s in enumerate(scenarios):
        place = s.places[0]
        ms = schedule.at(start_ms, span_ms, s.at) + rng.randrange(240_000, 600_000)
        title = REPORTS[s.category].format(p=place)
        out.append(NewsItem(ms, f"aldmere-daily-event-{n + 1}", title, s.id, s.category, place))
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
