"""The social benchmark's scoring: confusion counts, per-kind false positives, event verdicts."""

from __future__ import annotations

from pathlib import Path

from citywatch.bench.social import EventResult, classification, classifiers, events
from citywatch.simulate.social.corpus import LabelledPost


def post(text: str, label: str, kind: str) -> LabelledPost:
    return LabelledPost(text=text, label=label, kind=kind, split="test")


def test_classification_counts_and_hard_negative_rates() -> None:
    posts = [
        post("Someone got stabbed outside the station, ambulance on the way", "violence", "report"),
        post("The striker exploded through the defence, what a goal", "none", "sports"),
        post("Lovely walk by the lake this morning", "none", "chatter"),
    ]
    name, fast = classifiers()[0]
    result = classification(name, fast, posts)
    assert (result.scores.tp, result.scores.fn, result.scores.fp) == (1, 0, 0)
    assert result.scores.f1 == 1.0
    assert result.fp_rate_by_kind == {"chatter": 0.0, "sports": 0.0}
    assert result.category_accuracy == 1.0
    keywords = classification("keywords", None, posts)
    assert keywords.fp_rate_by_kind["sports"] == 1.0, "'exploded' fools the keyword baseline"


def test_event_verdicts() -> None:
    sudden = EventResult("e", 1, "fire", True, 400.0, True, ["A"], "A", slow=False)
    wave = EventResult("w", 1, "organised-crime", True, 4000.0, True, ["B"], "B", slow=True)
    misplaced = EventResult("m", 1, "fire", True, 60.0, False, ["A"], "C", slow=False)
    assert not sudden.ok, "too late"
    assert wave.ok, "a slow wave has no latency target"
    assert not misplaced.ok


def test_one_simulated_run_is_scored(tmp_path: Path) -> None:
    found, false_events = events(tmp_path, [1], 6.0)
    assert len(found) == 6
    assert all(e.found and e.district_ok for e in found)
    assert false_events == 0
