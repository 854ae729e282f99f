"""The social detector's keyed state and its per-post annotation, as checkpointed structs."""

from __future__ import annotations

import os

import msgspec

from citywatch.detect.base import Episode


class PostRef(msgspec.Struct, array_like=True, gc=False):
    """A high-risk post in a cluster: when, which, its author's token, score, place, news or not."""

    ts: float
    id: str
    author: str
    score: float
    place: str
    news: bool


class SocialState(msgspec.Struct, kw_only=True):
    """The recent high-risk posts of one (category, place) and its open event.

    Authors are kept only as tokens keyed by this state's own random ``salt``:
    enough to count distinct authors here, useless to follow anyone from one
    place, topic or event to another, even in a checkpoint.
    """

    salt: bytes = msgspec.field(default_factory=lambda: os.urandom(16))
    posts: list[PostRef] = msgspec.field(default_factory=list)
    """Posts within the burst window."""
    wave: list[PostRef] = msgspec.field(default_factory=list)
    """Posts within the (longer) wave window."""
    episode: Episode | None = None
    slow: bool = False
    """Whether the open event is of a slow category (it then closes after a wave window)."""
    authors: list[str] = msgspec.field(default_factory=list)
    """Distinct author tokens of the open event: counted, never output."""
    places: dict[str, int] = msgspec.field(default_factory=dict)
    terms: dict[str, int] = msgspec.field(default_factory=dict)
    news: int = 0
    score_sum: float = 0.0


class Annotation(msgspec.Struct, omit_defaults=True, gc=False):
    """One post's line in ``--annotate`` output (FORMATS.md)."""

    id: str
    high_risk: bool
    category: str
    score: float
    lang: str
    place: str | None = None
    h3: str | None = None
    event: str | None = None
