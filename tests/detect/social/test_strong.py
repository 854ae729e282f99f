"""The stronger model: asked only about the posts the fast model is unsure of."""

from __future__ import annotations

import pytest

from citywatch.detect.social.classify import PostClassifier
from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.gazetteer import Gazetteer
from citywatch.detect.social.model import LinearModel
from citywatch.detect.social.strong import StrongModel, available
from citywatch.model import Event, TextPost

pytestmark = pytest.mark.skipif(not available(), reason="the optional 'ml' extra is not installed")


@pytest.fixture(scope="module")
def strong() -> StrongModel:
    return StrongModel.load()


def test_it_tells_reports_from_hard_negatives(strong: StrongModel) -> None:
    assert strong.score("A man was stabbed outside the station, he is bleeding badly") > 0.7
    assert strong.score("Our striker murdered their defence tonight, what a game") < 0.5


def test_only_uncertain_posts_reach_it(strong: StrongModel) -> None:
    classify = PostClassifier(
        LinearModel.load(), Gazetteer.load(SocialConfig().gazetteer), strong=strong
    )
    before = strong.calls
    for text in (
        "Someone just got stabbed outside the tram stop in Kaptolje, ambulance is here",
        "Lovely morning walk along the river, coffee in hand",
    ):
        event = Event(id="p", timestamp=0.0, dataset="social.post", payload=TextPost(text=text))
        classify(event)
    assert strong.calls == before, "the fast model is sure of both"
