"""Geoparsing: names, aliases and misspellings to places; coordinates to districts."""

from __future__ import annotations

import pytest

from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.gazetteer import DistrictEntry, Gazetteer, GazetteerFile, PlaceEntry
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
        ("smoke over Kaptolej", "Kaptolje", "Kaptolje"),
        ("shop torched on Maksimirksa cesta", "Maksimirska cesta", "Brückenfeld"),
        ("Mob attacking cars at Old Town, avoid the area", "Stari Grad", "Stari Grad"),
        ("riot at the riverside", "Riverside", "Riverside"),
        ("smoke over the Hafen", "Port d'Aldmere", "Port d'Aldmere"),
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
    assert gaz.find(tokens("avoid the area")) is None, "'the arena' has no word to misspell"
    assert gaz.find(tokens("a lovely stari gard")) is None, "words under seven letters are exact"


def test_a_place_name_is_never_another_place_alias() -> None:
    centre = DistrictEntry(name="Riverside", lat=45.0, lon=16.0, polygon=[(16.0, 45.0)])
    walk = PlaceEntry(
        name="Riverside Walk", kind="street", district="Docks", lat=45.1, lon=16.1,
        aliases=["Riverside", "the walk"],
    )  # fmt: skip
    gaz = Gazetteer(GazetteerFile(city="C", districts=[centre], places=[walk]))
    found = gaz.find(tokens("smoke at riverside"))
    assert found is not None and found.name == "Riverside"
    found = gaz.find(tokens("smoke at the walk"))
    assert found is not None and found.name == "Riverside Walk"


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
