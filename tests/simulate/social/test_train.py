"""Training the fast classifier: word dropout, and cross-validation by template."""

from __future__ import annotations

import pytest

from citywatch.detect.social.features import features
from citywatch.detect.social.text import tokens
from citywatch.simulate.rand import substream
from citywatch.simulate.social.corpus import LabelledPost, corpus
from citywatch.simulate.social.train import DROPOUT_COPIES, cross_validate, main, with_dropout


def test_word_dropout_adds_copies_with_words_left_out() -> None:
    posts = [
        LabelledPost(text=text, label="none", kind="chatter", split="train")
        for text in ("Tram 6 late as usual", "Lovely morning walk along the river, coffee in hand")
    ]
    plain = with_dropout(posts, substream(1, "t"), 0.0)
    assert plain == [features(tokens(p.text)) for p in posts]
    rows = with_dropout(posts, substream(1, "t"), 0.5)
    assert len(rows) == len(posts) * (1 + DROPOUT_COPIES)
    assert rows[: len(posts)] == plain, "the posts themselves come first, whole"
    words = [set(tokens(p.text)) for p in posts]
    for n, row in enumerate(rows[len(posts) :]):
        kept = {f for f in row if " " not in f and ":" not in f and f != "0"}
        assert kept <= words[n % len(posts)]
    assert any(len(r) < len(plain[n % 2]) for n, r in enumerate(rows[2:])), "words were dropped"


def test_cross_validation_scores_each_fold_on_unseen_templates() -> None:
    train, _ = corpus(1)
    sample = train[::6]
    folds, negatives = cross_validate(sample, 3)
    assert len(folds) == 3
    for precision, recall, f1 in folds:
        assert 0.7 < f1 <= 1.0 and 0 < precision <= 1 and 0 < recall <= 1
    assert set(negatives) == {p.kind for p in sample if p.label == "none"}
    assert all(0 <= rate < 0.5 for rate in negatives.values())


def test_dropout_is_an_option_of_the_cross_validation_only() -> None:
    with pytest.raises(SystemExit):
        main(["--dropout", "0"])
