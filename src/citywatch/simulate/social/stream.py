# ruff: noqa: E501 - data tables, one entry a line
"""Aldmere's public posts: everyday chatter, and the posts of the city's high-risk events.

Chatter (ordinary posts, the hard negatives people really write — sports
metaphors around the match, films, idioms, old news — and posts in other
languages) runs all day at a steady rate. Scenarios add posts about one
event at one place: a gang's extortion wave (a slow trickle over three
hours), a stabbing, a fire, the stadium alarm (``schedule.stadium_alarm``),
unrest in the old town after the match, and the earthquake
(``schedule.QUAKE_ORIGIN``, posts about damage and collapsed buildings
across the city). A sudden event's first posts come within a couple of
minutes, as they do when something happens in a city; more follow over the
next half hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from random import Random
from typing import Final, NamedTuple

from citywatch.simulate import schedule
from citywatch.simulate.social.corpus import place_names, render
from citywatch.simulate.social.templates import CHATTER, GERMAN, HARD_NEGATIVE, HIGH_RISK

OTHER_LANGUAGES: Final = (
    ("hr", "Dobro jutro Aldmere, kava na suncu"),
    ("hr", "Gužva u tramvaju opet, ništa novo"),
    ("hr", "Tko ide na utakmicu večeras?"),
    ("tr", "Bugün hava çok güzel, parkta yürüyüş yaptık"),
    ("uk", "Гарний день у місті, всі на вулиці"),
    ("fr", "Il fait beau aujourd'hui au bord de la rivière"),
)
AUTHORS: Final = 1500
CHATTER_EVERY_S: Final = 8.0


class Scenario(NamedTuple):
    """One high-risk event of the demo: what, where, when, and the places posts name."""

    id: str
    title: str
    category: str
    district: str
    places: tuple[str, ...]
    at: float
    posts: int
    spread_s: float
    early: int
    """Posts in the first two minutes: everyone feels an earthquake at once."""


def scenarios(span_ms: int) -> tuple[Scenario, ...]:
    """The demo's events, in time order (``at`` is the fraction of the span)."""
    alarm = schedule.stadium_alarm(span_ms)
    return (
        Scenario("social-extortion", "Gang extortion wave in Brückenfeld", "organised-crime",
                 "Brückenfeld", ("Brückenfeld", "Bruckenfeld", "Vlaška ulica", "Maksimirska cesta"),
                 0.15, 9, 10800, 0),
        Scenario("social-stabbing", "Stabbing in Kaptolje", "violence", "Kaptolje",
                 ("Kaptolje", "Kaptol hill", "Aldmere Cathedral", "the cathedral"), 0.30, 14, 1500, 3),
        Scenario("social-fire", "Fire at the Port Market Hall", "fire", "Port d'Aldmere",
                 ("Port Market Hall", "market hall", "Port d'Aldmere", "the port"), 0.52, 18, 1800, 3),
        Scenario(schedule.SITUATION_STADIUM, "Alarm and crush at Aldmere Arena", "crowd-danger",
                 "", ("Aldmere Arena", "the arena", "the stadium", "Aldmere stadium"),
                 alarm, 24, 1200, 5),
        Scenario("social-unrest", "Unrest in the Old Town after the match", "civil-unrest",
                 "Stari Grad", ("Stari Grad", "Old Town", "Central Station", "Ilica"),
                 alarm + 0.05, 16, 1500, 3),
        Scenario(schedule.SITUATION_QUAKE, "Earthquake: damage and collapsed buildings",
                 "natural-hazard", "", ("Zelena Dolina", "Sveti Đuro", "Novo Polje",
                 "Port d'Aldmere", "Stari Grad"), schedule.QUAKE_ORIGIN, 36, 1800, 10),
    )  # fmt: skip


class Post(NamedTuple):
    """One generated post and its ground truth (``event`` is a scenario id or None)."""

    ms: int
    text: str
    author: str
    lang: str | None
    place: str | None
    event: str | None
    category: str


def _author(rng: Random) -> str:
    return f"user{rng.randrange(AUTHORS):04d}"


def chatter(rng: Random, start_ms: int, end_ms: int) -> Iterator[Post]:
    """Ordinary posts (with hard negatives and other languages) over the whole span."""
    places = place_names()
    hard = [t for group in HARD_NEGATIVE.values() for t in group]
    ms = start_ms
    while True:
        ms += int(rng.expovariate(1.0 / CHATTER_EVERY_S) * 1000) + 1
        if ms >= end_ms:
            return
        roll = rng.random()
        lang: str | None = "en"
        if roll < 0.07:
            lang, text = rng.choice(OTHER_LANGUAGES)
        elif roll < 0.09:
            lang, text = "de", render(rng.choice(GERMAN["none"]), rng, places)
        elif roll < 0.35:
            text = render(rng.choice(hard), rng, places)
        else:
            text = render(rng.choice(CHATTER), rng, places)
        if rng.random() < 0.3:
            lang = None  # not every source declares a language
        yield Post(ms, text, _author(rng), lang, None, None, "none")


def scenario_posts(rng: Random, scenario: Scenario, start_ms: int, span_ms: int) -> Iterator[Post]:
    """The posts about one scenario: a quick first few, then a tail."""
    begin = schedule.at(start_ms, span_ms, scenario.at)
    templates = HIGH_RISK[scenario.category]
    german = GERMAN.get(scenario.category, ())
    for i in range(scenario.posts):
        if i < scenario.early:
            offset = 20_000 + i * 100_000 // scenario.early + rng.randrange(20_000)
        else:
            offset = int(rng.uniform(150_000, scenario.spread_s * 1000))
        place = rng.choice(scenario.places)
        template = rng.choice(german) if german and i % 7 == 6 else rng.choice(templates)
        lang = "de" if template in german else "en"
        yield Post(
            begin + offset,
            render(template, rng, [place]),
            _author(rng),
            lang if rng.random() < 0.7 else None,
            place,
            scenario.id,
            scenario.category,
        )
