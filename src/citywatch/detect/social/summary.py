"""How a social event is worded and ranked: severity per category and its one-line summary.

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


def describe(category: str, place: str, posts: int, authors: int, news: int) -> str:
    """The event in one line: what, where, how much evidence."""
    text = (
        f"{category.replace('-', ' ')} at {place}: {posts} post{'s' * (posts != 1)} "
        f"from {authors} author{'s' * (authors != 1)}"
    )
    if news:
        text += f", {news} news item{'s' * (news != 1)}"
    return text
