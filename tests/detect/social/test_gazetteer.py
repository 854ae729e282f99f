"""Geoparsing: names, aliases and misspellings to places; coordinates to districts."""

from __future__ import annotations

import pytest

from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.gazetteer import Gazetteer
from citywatch.detect.social.text import tokens
from citywatch.errors import ConfigError


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load(SocialConfig().gazetteer)


@pytest.mark.parametrize(
    ("text", "name", "district"),
    [
        ("Stabbing in Kaptolje right now", "Kaptolje", "Kaptolje"),
        ("fire near sveti djuro", "Sveti Đuro", "Sveti Đuro"),
        ("Crush at the Aldmere Arena gates", "Aldmere Arena", "Gornja Vas"),
        ("crush at Aldmre Arena", "Aldmere Arena", "Gornja Vas"),
        ("smoke over Bruckenfeld", "Brückenfeld", "Brückenfeld"),
        ("Rauch in Brückenfeld", "Brückenfeld", "Brückenfeld"),
        ("Riot in Kaptolje near the cathedral", "Aldmere Cathedral", "Kaptolje"),
    ],
)
def test_names_aliases_and_misspellings(
    gaz: Gazetteer, text: str, name: str, district: str
) -> None:
    place = gaz.find(tokens(text))
    assert place is not None
    assert (place.name, place.district) == (name, district)
    assert place.h3


def test_no_place_in_ordinary_words(gaz: Gazetteer) -> None:
    assert gaz.find(tokens("what a lovely morning for a walk")) is None


def test_coordinates_give_the_district(gaz: Gazetteer) -> None:
    centre = gaz.district("Stari Grad")
    assert centre is not None
    place = gaz.locate(centre.lat, centre.lon)
    assert place is not None and place.district == "Stari Grad"
    assert gaz.locate(0.0, 0.0) is None


def test_a_bad_gazetteer_file_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "g.json"
    bad.write_text('{"city": 1}')
    with pytest.raises(ConfigError):
        Gazetteer.load(bad)
