"""How a social event is worded and ranked: severity per category, its one-line summary and
what the city can do about it.

>>> describe("fire", "Kaptolje", 5, 4, 1)
'fire at Kaptolje: 5 posts from 4 authors, 1 news item'
"""

from __future__ import annotations

from typing import Final

SEVERITY: Final[dict[str, int]] = {
    "violence": 65,
    "explosion-terror": 80,
    "fire": 60,
    "civil-unrest": 60,
    "organised-crime": 50,
    "natural-hazard": 75,
    "crowd-danger": 75,
    "infrastructure-cyber": 55,
    "public-health": 60,
}
"""Base severity (1–100) of an event per category; more independent authors add to it."""


_VERIFY: Final = "The posts are unverified: confirm with {who} before any public message"
MEASURES: Final[dict[str, tuple[str, ...]]] = {
    "violence": (
        "Pass the place to the police control room: posts report violence at {place}",
        _VERIFY.format(who="the police"),
    ),
    "explosion-terror": (
        "Alert the police and fire control rooms now: posts report an explosion or an attack "
        "at {place}",
        _VERIFY.format(who="the police") + "; a false warning of an attack causes panic of its own",
        "Prepare a public alert to avoid {place}, for the officers to approve once confirmed",
    ),
    "fire": (
        "Ask the fire service's control room whether it has a call at {place}",
        "Once confirmed, advise residents near {place} to keep windows shut and stay away",
    ),
    "civil-unrest": (
        "Tell the police: posts show unrest building at {place}",
        "Consider diverting traffic and public transport around {place}",
        _VERIFY.format(who="the police"),
    ),
    "organised-crime": (
        "Pass the posts and news to the police's organised crime unit ({place})",
        "No public alert: it would warn those involved, and the posts are unverified",
    ),
    "natural-hazard": (
        "Compare with the city's sensors and the national warning service for {place}",
        "Prepare a public alert for the area the posts name, for the officers to approve",
    ),
    "crowd-danger": (
        "Call the venue's safety officer and check its crowd counts at {place}",
        "Once confirmed, stop the inflow and open more exits at {place}",
    ),
    "infrastructure-cyber": (
        "Ask the city's IT and utility operators whether a service at {place} is down or "
        "under attack",
        _VERIFY.format(who="the operators"),
    ),
    "public-health": (
        "Tell the public health office: posts report illness at {place}",
        _VERIFY.format(who="the public health office"),
    ),
}
"""What the city can do about an event per category, at ``{place}``: whom to tell, what to
verify first (posts are people's words, not facts) and what to prepare."""


def measures(category: str, place: str) -> list[str]:
    """The measures of an event of ``category`` at ``place`` (:data:`MEASURES`); for a
    category without its own, to verify the posts with the services concerned.

    >>> measures("organised-crime", "Brückenfeld")[1]
    'No public alert: it would warn those involved, and the posts are unverified'
    """
    said = MEASURES.get(category, (_VERIFY.format(who="the services concerned"),))
    return [m.format(place=place) for m in said]


def describe(category: str, place: str, posts: int, authors: int, news: int) -> str:
    """The event in one line: what, where, how much evidence."""
    text = (
        f"{category.replace('-', ' ')} at {place}: {posts} post{'s' * (posts != 1)} "
        f"from {authors} author{'s' * (authors != 1)}"
    )
    if news:
        text += f", {news} news item{'s' * (news != 1)}"
    return text
