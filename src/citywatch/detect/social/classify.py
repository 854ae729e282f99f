"""One post in, a verdict out: language, high-risk score and category, place.

English posts go through the fast linear model (:mod:`.model`), and those it
is unsure of (a score in the ``uncertain`` band) also through the stronger
one (:mod:`.strong`), the two scores averaged; German
posts through the German lexicon (:mod:`.german`); posts in any other
language are scored 0 and marked with their language, so they are counted
and can be triaged, never silently dropped. Every post is geoparsed against
the gazetteer, its coordinates used when its text names no place.
"""

from __future__ import annotations

from typing import Final

import msgspec

from citywatch.detect.social import german
from citywatch.detect.social.gazetteer import Gazetteer, Place
from citywatch.detect.social.language import detect
from citywatch.detect.social.model import LinearModel
from citywatch.detect.social.strong import StrongModel
from citywatch.detect.social.text import tokens
from citywatch.model import Event, TextPost

SCORED: Final = frozenset({"en", "de"})
"""Languages the classifier scores; others are counted."""


class Verdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the classifier made of one post."""

    lang: str
    score: float
    high_risk: bool
    category: str
    place: Place | None
    words: list[str]


class PostClassifier:
    """Classifies and geoparses posts; ``threshold`` is the score from which a post is high-risk."""

    def __init__(
        self,
        model: LinearModel,
        gazetteer: Gazetteer,
        threshold: float = 0.5,
        strong: StrongModel | None = None,
        uncertain: tuple[float, float] = (0.3, 0.7),
    ) -> None:
        self.model = model
        self.gazetteer = gazetteer
        self.threshold = threshold
        self.strong = strong
        self.low, self.high = uncertain

    def __call__(self, event: Event) -> Verdict | None:
        """The verdict on a post event; None when the event carries no post."""
        post = event.payload
        if post.__class__ is not TextPost:
            return None
        assert isinstance(post, TextPost)
        text = post.text
        words = tokens(text)
        lang = detect(text)
        if lang == "en" or (lang not in SCORED and post.lang == "en"):
            lang = "en"
            score, feats = self.model.classify(words)
            if self.strong is not None and self.low <= score < self.high:
                score = (score + self.strong.score(text)) / 2
            high = score >= self.threshold
            category = self.model.category(feats) if high else "none"
        elif lang == "de":
            score, category = german.score(words)
            high = score >= self.threshold
        else:
            score, high, category = 0.0, False, "none"
        place = self.gazetteer.find(words)
        if place is None and event.geo is not None:
            place = self.gazetteer.locate(event.geo.lat, event.geo.lon)
        return Verdict(
            lang=lang,
            score=score,
            high_risk=high,
            category=category if high else "none",
            place=place,
            words=words,
        )
