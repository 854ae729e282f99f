"""The social benchmark's scoring: confusion counts, per-kind false positives, event verdicts."""

from __future__ import annotations

from pathlib import Path

from citywatch.bench.social import EventResult, classification, classifiers, events
from citywatch.simulate.social.corpus import LabelledPost


def post(text: str, label: str, kind: str) -> LabelledPost:
    return LabelledPost(text=text, label=label, kind=kind, split="test")


def test_classification_counts_and_rates_per_kind() -> None:
    posts = [
        post("Someone got stabbed outside the station, ambulance on the way", "violence", "report"),
        post("Police hunt attacker after stabbing in Kaptolje", "violence", "news"),
        post("Lovely walk by the lake, the ducks are back", "violence", "report"),  # mislabelled
        post("The striker exploded through the defence, what a goal", "none", "sports"),
        post("Lovely walk by the lake this morning", "none", "chatter"),
        post("Council approves the new tram line to Lučko Brdo", "none", "news"),
    ]
    name, fast = classifiers()[0]
    result = classification(name, fast, posts)
    assert (result.scores.tp, result.scores.fn, result.scores.fp) == (2, 1, 0)
    assert result.fp_rate_by_kind == {"chatter": 0.0, "news": 0.0, "sports": 0.0}
    assert result.recall_by_kind == {"news": 1.0, "report": 0.5}
    assert result.category_accuracy == 2 / 3
    keywords = classification("keywords", None, posts)
    assert keywords.fp_rate_by_kind["sports"] == 1.0, "'exploded' fools the keyword baseline"


def test_event_verdicts() -> None:
    sudden = EventResult("e", 1, "fire", True, 400.0, True, ["A"], "A", slow=False, news=True)
    wave = EventResult(
        "w", 1, "organised-crime", True, 2529.0, True, ["B"], "B", slow=True, news=True
    )
    quick = EventResult(
        "q", 1, "organised-crime", True, 0.0, True, ["B"], "B", slow=True, news=False
    )
    misplaced = EventResult("m", 1, "fire", True, 60.0, False, ["A"], "C", slow=False, news=True)
    missed = EventResult("x", 1, "fire", False, None, False, ["A"], None, slow=False, news=False)
    assert not sudden.ok, "too late"
    assert not wave.ok, "a slow wave has the same latency target"
    assert quick.ok
    assert not misplaced.ok
    assert not missed.ok and not missed.on_time


def test_simulated_runs_are_found_in_time_and_in_place(tmp_path: Path) -> None:
    """Seeds 1 and 2: every event within five minutes of its first post, at its district.

    The outlet reports seed 1's extortion wave 2 minutes after its first post,
    seed 2's 21 minutes before it (found 42 minutes late while a report
    corroborated posts only within a burst window). Chatter is no event.
    """
    found, false_events = events(tmp_path, [1, 2], 6.0)
    assert len(found) == 12
    late = [(e.seed, e.id, e.latency_s) for e in found if not e.on_time]
    assert late == [], "every event, the slow wave too, within the latency target"
    assert all(e.found and e.district_ok for e in found)
    waves = [e for e in found if e.id == "social-extortion"]
    assert [e.placed for e in waves] == ["Brückenfeld", "Brückenfeld"]
    assert false_events == 0, "no detection on background chatter"
    assert [e.category for e in found[:6]] == [
        "organised-crime", "violence", "fire", "crowd-danger", "civil-unrest", "natural-hazard",
    ]  # fmt: skip
    assert all(e.news for e in found), "the outlet's report of each event joins its detection"
