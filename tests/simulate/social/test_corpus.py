"""The labelled corpus: every category reported by people and by the news, hard negatives beside."""

from __future__ import annotations

from citywatch.simulate.rand import substream
from citywatch.simulate.social.corpus import corpus
from citywatch.simulate.social.news import items
from citywatch.simulate.social.stream import scenarios
from citywatch.simulate.social.templates import HEADLINES, HIGH_RISK


def test_every_category_has_posts_and_headlines_in_both_splits() -> None:
    assert set(HEADLINES) == set(HIGH_RISK)
    train, test = corpus(1)
    for split in (train, test):
        news = {p.label for p in split if p.kind == "news"}
        assert "none" in news, "ordinary headlines are negatives"
        assert {p.label for p in split if p.kind == "report"} == set(HIGH_RISK)
    assert {p.label for p in train if p.kind == "news"} == {*HIGH_RISK, "none"}
    held = {p.template for p in test}
    assert not held & {p.template for p in train}, "a template is held out whole"


def test_the_outlet_reports_each_event_in_a_headline_of_its_category() -> None:
    news = items(substream(3, "social-news"), scenarios(6 * 3_600_000), 0, 6 * 3_600_000)
    reports = [n for n in news if n.event is not None]
    assert len(reports) == len(scenarios(6 * 3_600_000))
    for n in reports:
        assert n.place is not None
        templates = {t.format(p=n.place) for t in HEADLINES[n.category]}
        assert n.title in templates
    assert len(news) - len(reports) == 6, "and ordinary stories through the day"
