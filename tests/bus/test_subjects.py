"""The bus's names: one consumer filter covers a detector's datasets, and no more than needed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from citywatch.bus.config import BusConfig
from citywatch.bus.subjects import Subjects, covering
from citywatch.detect import DETECTORS


def matches(filter_: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    want, got = filter_.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or token not in ("*", got[i]):
            return False
    return len(got) == len(want)


tokens = st.sampled_from(["cw", "events", "portal", "iot", "http", "access", "a", "b"])
subjects = st.lists(tokens, min_size=1, max_size=5).map(".".join)


@given(st.lists(subjects, min_size=1, max_size=6))
def test_the_covering_filter_matches_every_subject(given_subjects: list[str]) -> None:
    filter_ = covering(given_subjects)
    assert all(matches(filter_, s) for s in given_subjects), filter_


@given(subjects)
def test_one_subject_is_its_own_filter(subject: str) -> None:
    assert covering([subject]) == subject


def test_each_built_in_detector_filters_on_its_silo_where_it_has_one() -> None:
    names = Subjects.of(BusConfig())
    filters = {name: names.events_filter(cls.datasets) for name, cls in DETECTORS.items()}
    assert filters["web-attacks"] == "cw.events.portal.*"
    assert filters["crowd-safety"] == "cw.events.crowd.*"
    assert filters["quake"] == "cw.events.quake.*"
    assert filters["social-events"] == "cw.events.social.*"
    for portal in ("login-abuse", "portal-behaviour", "portal-profile", "sigma"):
        assert filters[portal] == "cw.events.portal.*"  # the portal's detectors, its requests only
    assert filters["threat-intel"] == "cw.events.>"  # reads every dataset
    for name, cls in DETECTORS.items():
        for dataset in cls.datasets:
            assert matches(filters[name], names.events(dataset)), (name, dataset)


def test_prefixes_keep_two_cities_apart() -> None:
    one = Subjects.of(BusConfig(subject_prefix="north", stream_prefix="NORTH"))
    other = Subjects()
    assert one.events_stream == "NORTH_EVENTS"
    assert not matches(one.all_events, other.events("portal.access"))
    assert one.dataset(one.events("portal.access")) == "portal.access"
