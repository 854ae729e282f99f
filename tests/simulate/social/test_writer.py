"""The social simulator: deterministic posts, ground truth beside them, shared situations."""

from __future__ import annotations

import json
from pathlib import Path

from citywatch.simulate.social.writer import NEWS, POSTS, TRUTH, write_social
from citywatch.simulate.writers import Clock

START = 1_773_471_600_000


def test_posts_truth_and_situations(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    inputs, situations = write_social(a, 1, START, 6 * 3_600_000, Clock(60))
    write_social(b, 1, START, 6 * 3_600_000, Clock(60))
    assert (a / POSTS).read_bytes() == (b / POSTS).read_bytes(), "same seed, same posts"
    assert [(i.format, i.path) for i in inputs] == [("posts-jsonl", POSTS), ("news-feed", NEWS)]
    posts = [json.loads(x) for x in (a / POSTS).read_text().splitlines()]
    truth = [json.loads(x) for x in (a / TRUTH).read_text().splitlines()]
    assert [p["id"] for p in posts] == [t["id"] for t in truth][: len(posts)]
    news = [t for t in truth[len(posts) :] if t["event"]]
    assert (
        len(news) == 6
        and f'<guid isPermaLink="false">{news[0]["id"]}</guid>' in (a / NEWS).read_text()
    ), "the news items' truth follows the posts'"
    assert all("event" not in p for p in posts), "truth beside the records, never inside"
    ids = {s.id for s in situations}
    assert {
        "stadium-emergency",
        "earthquake",
        "social-stabbing",
        "social-fire",
        "social-unrest",
        "social-extortion",
    } == ids
    for s in situations:
        assert s.records == sum(t["event"] == s.id for t in truth)
    (stadium,) = [s for s in situations if s.id == "stadium-emergency"]
    assert stadium.entities["district"] == ["Gornja Vas"]
