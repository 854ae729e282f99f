"""The social detector's settings (``[detectors.social-events]`` in ``citywatch.toml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

DATASETS: Final = frozenset({"social.post", "social.news", "social.mastodon"})
_GAZETTEER: Final = Path(__file__).with_name("gazetteer.json")


class SocialConfig(BaseModel):
    """Where the gazetteer and weights are, and when a cluster of posts is an event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gazetteer: Path = Field(_GAZETTEER, description="the city gazetteer (JSON); default Aldmere's")
    weights: Path | None = Field(None, description="classifier weights (JSON); default shipped")
    threshold: float = Field(0.5, gt=0, lt=1, description="score from which a post is high-risk")
    window_s: float = Field(900.0, gt=0, description="time window of a burst, seconds")
    gap_s: float = Field(900.0, gt=0, description="quiet time that closes an event, seconds")
    min_posts: int = Field(3, ge=1, description="high-risk posts in the window to fire")
    min_authors: int = Field(2, ge=1, description="independent authors in the window to fire")
    sure: float = Field(
        0.8, gt=0, lt=1, description="score from which a high-risk post joins an event's cluster"
    )
    city_factor: int = Field(
        2, ge=1, description="how many times more posts and authors a city-wide event needs"
    )
    burst_factor: float = Field(3.0, ge=1, description="times the baseline a burst must exceed")
    baseline_halflife_s: float = Field(
        21600.0, gt=0, description="half-life of each place's and topic's baseline rate, seconds"
    )
    city_wide: tuple[str, ...] = Field(
        ("natural-hazard",), description="categories clustered across the whole city"
    )
    annotate: bool = Field(False, description="keep a verdict per post for --annotate")
    strong: bool = Field(
        True, description="ask the stronger model (all-MiniLM-L6-v2) when installed"
    )
    uncertain: tuple[float, float] = Field(
        (0.3, 0.7), description="fast-model scores [low, high) that the stronger model re-scores"
    )
    strong_threads: int = Field(1, ge=1, description="CPU threads of the stronger model")
    slow_categories: tuple[str, ...] = Field(
        ("organised-crime",),
        description="categories whose events come as slow waves (an extortion series)",
    )
    wave_window_s: float = Field(
        14400.0,
        gt=0,
        description="time window of a slow wave (its posts and the news that corroborates them), "
        "and the quiet that ends it, seconds",
    )
    wave_posts: int = Field(5, ge=1, description="high-risk posts in the wave window to fire")
    wave_authors: int = Field(4, ge=1, description="independent authors in the wave window")
