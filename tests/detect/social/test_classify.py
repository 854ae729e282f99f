"""The classifier: reports are high-risk, hard negatives are not; languages; shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citywatch.detect.social.classify import PostClassifier
from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.gazetteer import Gazetteer
from citywatch.detect.social.model import LinearModel
from citywatch.model import Event, TextPost
from citywatch.simulate.social.train import train


@pytest.fixture(scope="module")
def classify() -> PostClassifier:
    return PostClassifier(LinearModel.load(), Gazetteer.load(SocialConfig().gazetteer))


def verdict(classify: PostClassifier, text: str, lang: str = ""):  # type: ignore[no-untyped-def]
    event = Event(
        id="p", timestamp=0.0, dataset="social.post", payload=TextPost(text=text, lang=lang)
    )
    result = classify(event)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (
            "Someone just got stabbed outside the tram stop in Kaptolje, ambulance is here",
            "violence",
        ),
        ("Huge fire at the Port Market Hall, black smoke everywhere", "fire"),
        (
            "Earthquake! A building collapsed in Zelena Dolina, people under the rubble",
            "natural-hazard",
        ),
        (
            "Fans clash with police in Stari Grad after the match, shop windows smashed",
            "civil-unrest",
        ),
        ("Rioters set bins on fire at Central Station, police charging the crowd", "civil-unrest"),
        (
            "The gang said they will burn down his restaurant in Brückenfeld unless he pays",
            "organised-crime",
        ),
    ],
)
def test_reports_are_high_risk(classify: PostClassifier, text: str, category: str) -> None:
    v = verdict(classify, text)
    assert v.lang == "en"
    assert v.high_risk and v.category == category and v.score > 0.8


@pytest.mark.parametrize(
    "text",
    [
        "The striker exploded through the defence and scored, what a goal",
        "Just watched Die Hard again, the explosion scene at the end is insane",
        "This heat is killing me",
        "On this day in 1927 the great fire destroyed half of Stari Grad",
        "Tram 6 late as usual",
        "My cooking set off the smoke alarm again, nothing new",
        "Aldmere FC sign a new striker before the derby",
    ],
)
def test_hard_negatives_are_not(classify: PostClassifier, text: str) -> None:
    assert not verdict(classify, text).high_risk


def test_a_repeated_feature_counts_once_as_in_training(classify: PostClassifier) -> None:
    model = classify.model
    assert model.classify(["fire", "fire", "fire"]) == model.classify(["fire", "fire"])


def test_german_by_lexicon_other_languages_counted(classify: PostClassifier) -> None:
    de = verdict(classify, "Messerstecherei in Brückenfeld, ein Mann liegt verletzt auf der Straße")
    assert (de.lang, de.high_risk, de.category) == ("de", True, "violence")
    assert de.place is not None and de.place.name == "Brückenfeld"
    hr = verdict(classify, "Gužva u tramvaju opet, ništa novo, idemo na kavu")
    assert hr.lang not in ("en", "de")
    assert not hr.high_risk


def test_shipped_weights_are_what_training_makes() -> None:
    shipped = Path(SocialConfig().gazetteer).with_name("weights.json")
    assert json.loads(shipped.read_text()) == json.loads(json.dumps(train(1)))
