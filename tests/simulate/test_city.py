"""The city model: districts that tile the map, residents with real-world names."""

from __future__ import annotations

import itertools
import math
import string
from random import Random

import h3
from hypothesis import given
from hypothesis import strategies as st

from citywatch.simulate import build_city
from citywatch.simulate.names import ascii_fold
from citywatch.simulate.net import iban

from .conftest import Run


def _area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def test_districts_are_closed_counter_clockwise_polygons(run: Run) -> None:
    city = run.city
    assert city["type"] == "FeatureCollection"
    assert city["properties"]["city"] == "Aldmere"
    assert city["properties"]["centre"] == {"lat": 45.815, "lon": 15.9819}
    features = city["features"]
    assert 12 <= len(features) <= 16
    assert len({f["properties"]["id"] for f in features}) == len(features)
    for feature in features:
        props = feature["properties"]
        assert props["name"]
        assert isinstance(props["population"], int)
        assert props["population"] > 0
        assert feature["geometry"]["type"] == "Polygon"
        (ring,) = feature["geometry"]["coordinates"]
        assert len(ring) >= 4
        assert ring[0] == ring[-1]
        for lon, lat in ring:  # [lon, lat], within ~11 km of the centre
            assert 15.83 < lon < 16.13
            assert 45.71 < lat < 45.92
        assert _area(ring) > 0  # counter-clockwise, as RFC 7946 asks of exterior rings


def test_districts_tile_a_disc_of_about_nine_and_a_half_km(run: Run) -> None:
    km2_per_deg2 = 110.574 * 111.320 * math.cos(math.radians(45.815))
    total = sum(_area(f["geometry"]["coordinates"][0]) for f in run.city["features"]) * km2_per_deg2
    assert 0.85 * math.pi * 9.5**2 < total < 1.15 * math.pi * 9.5**2
    # neighbours share their boundary vertices exactly: no gaps, no overlaps
    vertices = [
        tuple(p) for f in run.city["features"] for p in f["geometry"]["coordinates"][0][:-1]
    ]
    shared = [v for v in set(vertices) if vertices.count(v) > 1]
    assert len(shared) > 90


def test_district_centroids_fall_in_different_h3_cells(run: Run) -> None:
    centroids = [f["properties"]["centroid"] for f in run.city["features"]]
    for resolution in (7, 8):
        cells = {h3.latlng_to_cell(c["lat"], c["lon"], resolution) for c in centroids}
        assert len(cells) == len(centroids)


def test_residents_have_international_names_and_ascii_accounts() -> None:
    city = build_city(11, residents=1200)
    names = " ".join(r.name for r in city.residents)
    assert any(not c.isascii() for c in names)
    assert "'" in names
    for letter in "ĐØıễшÕ":
        assert letter in names or letter.lower() in names.lower(), letter
    allowed = set(string.ascii_lowercase + string.digits + "._")
    assert len({r.username for r in city.residents}) == len(city.residents)
    for r in city.residents:
        assert set(r.username) <= allowed, r.username
        assert r.email.count("@") == 1
        assert r.email.isascii()
        assert r.device in {"desktop", "mobile", "app"}
    sites = {s.id for s in city.sites}
    assert sites == {"library", "university"}
    assert sum(r.site is not None for r in city.residents) > 50


def test_city_depends_on_the_seed_only() -> None:
    assert build_city(5, residents=200) == build_city(5, residents=200)
    assert build_city(5, residents=200) != build_city(6, residents=200)


@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(["HR", "DE", "IE", "IT", "TR"]))
def test_ibans_carry_valid_check_digits(seed: int, country: str) -> None:
    text = iban(Random(seed), country).replace(" ", "")
    assert text.startswith(country)
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    assert int(digits) % 97 == 1


@given(st.text(max_size=40))
def test_ascii_fold_gives_ascii(text: str) -> None:
    assert ascii_fold(text).isascii()
