"""The social benchmark: classification quality, event detection, and speed end to end.

- Classification: per-post precision, recall and F1 of "high-risk" on the
  held-out part of the project's corpus (held-out templates and every
  hand-written post), overall, recall per kind of high-risk post (people's
  reports, news headlines) and false positives per kind of negative post
  (chatter, headlines and each kind of hard negative): the fast model
  alone, with the stronger model on its uncertain posts (when installed),
  and a keyword baseline (a post is high-risk when it holds a risk word).
- Events: simulated runs of Aldmere's posts and news feed (one per seed); an
  event is found when a detection's evidence holds its posts, on time when it
  fired within :data:`TARGET_LATENCY_S` of the event's first post (sudden
  events and slow waves such as an extortion series alike), placed right
  when its district is one of the event's; a detection that matches no event
  is a false one.
- Speed: ``citywatch analyse --in posts-jsonl:FILE --no-store`` as a child
  process on a long stream of posts, with the detector's defaults (the
  stronger model on when installed); posts per CPU-second of that process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from citywatch.bench.runner import run_cli
from citywatch.detect.social.classify import PostClassifier
from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.features import LEXICON
from citywatch.detect.social.gazetteer import Gazetteer
from citywatch.detect.social.model import LinearModel
from citywatch.detect.social.strong import StrongModel, available
from citywatch.detect.social.text import tokens
from citywatch.model import Event, TextPost
from citywatch.simulate.social.corpus import HANDWRITTEN_DE, LabelledPost, corpus, handwritten
from citywatch.simulate.social.writer import NEWS, POSTS, TRUTH, PostTruth, write_social
from citywatch.simulate.writers import Clock

TARGET_F1: Final = 0.90
TARGET_LATENCY_S: Final = 300.0
TARGET_POSTS_PER_CPU_S: Final = 2000.0
START_MS: Final = 1_773_471_600_000  # 2026-03-14 08:00+01:00
_GAZETTEER: Final = Path(__file__).resolve().parents[1] / "detect" / "social" / "gazetteer.json"


@dataclass
class Scores:
    """Confusion counts and the figures from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, gold: bool) -> None:
        if predicted and gold:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / max(1, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return self.tp / max(1, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Classification:
    """One classifier's figures on the held-out posts."""

    name: str
    posts: int
    scores: Scores
    category_accuracy: float
    fp_rate_by_kind: dict[str, float]
    recall_by_kind: dict[str, float]
    cpu_s: float
    strong_calls: int = 0
    brier: float | None = None
    ece: float | None = None
    """Calibration of the scores (None for the keyword baseline, which has none)."""


@dataclass
class EventResult:
    id: str
    seed: int
    category: str
    found: bool
    latency_s: float | None
    district_ok: bool
    districts: list[str]
    placed: str | None
    slow: bool
    """A slow wave (an extortion series), shown as such; the latency target is the same."""
    news: bool
    """The outlet's report of the event is among its detection's evidence."""

    @property
    def on_time(self) -> bool:
        """Detected within the latency target of the event's first post."""
        return self.latency_s is not None and self.latency_s <= TARGET_LATENCY_S

    @property
    def ok(self) -> bool:
        """Found, placed in its district, and within the latency target."""
        return self.found and self.district_ok and self.on_time


@dataclass
class SocialReport:
    classification: list[Classification]
    german: Classification
    events: list[EventResult]
    false_events: int
    speed: list[Speed]
    targets: dict[str, float] = field(
        default_factory=lambda: {
            "f1": TARGET_F1,
            "latency_s": TARGET_LATENCY_S,
            "posts_per_cpu_s": TARGET_POSTS_PER_CPU_S,
        }
    )


def classifiers() -> list[tuple[str, PostClassifier | None]]:
    """The classifiers compared: fast alone, fast + strong (when installed), keywords (None)."""
    gazetteer = Gazetteer.load(_GAZETTEER)
    out: list[tuple[str, PostClassifier | None]] = [
        ("fast (linear, n-grams)", PostClassifier(LinearModel.load(), gazetteer))
    ]
    if available():
        both = PostClassifier(LinearModel.load(), gazetteer, strong=StrongModel.load())
        out.append(("fast + MiniLM on uncertain", both))
    out.append(("keyword baseline", None))
    return out


def classification(
    name: str, classify: PostClassifier | None, posts: list[LabelledPost], lang: str = "en"
) -> Classification:
    """Scores of one classifier (None: the keyword baseline) on ``posts``."""
    scores = Scores()
    right = positives = 0
    by_kind: dict[str, list[int]] = {}
    found_by_kind: dict[str, list[int]] = {}
    probabilities: list[tuple[float, bool]] = []
    start = time.process_time()
    for n, post in enumerate(posts):
        gold = post.label != "none"
        if classify is None:
            high = any(LEXICON.get(w) == "lex:risk" for w in tokens(post.text))
            category = "none"
        else:
            event = Event(
                id=str(n), timestamp=0.0, dataset="social.post",
                payload=TextPost(text=post.text, lang=lang),
            )  # fmt: skip
            verdict = classify(event)
            assert verdict is not None
            high, category = verdict.high_risk, verdict.category
            probabilities.append((verdict.score, gold))
        scores.add(high, gold)
        row = (found_by_kind if gold else by_kind).setdefault(post.kind, [0, 0])
        row[0] += 1
        row[1] += high
        if gold:
            positives += 1
            right += category == post.label
    strong = classify.strong if classify is not None else None
    return Classification(
        name=name,
        posts=len(posts),
        scores=scores,
        category_accuracy=right / max(1, positives),
        fp_rate_by_kind={k: r[1] / r[0] for k, r in sorted(by_kind.items())},
        recall_by_kind={k: r[1] / r[0] for k, r in sorted(found_by_kind.items())},
        cpu_s=time.process_time() - start,
        strong_calls=strong.calls if strong is not None else 0,
        brier=_brier(probabilities),
        ece=_ece(probabilities),
    )


def _brier(pairs: list[tuple[float, bool]]) -> float | None:
    """Mean squared error of the scores as probabilities (0 is perfect)."""
    return sum((p - y) ** 2 for p, y in pairs) / len(pairs) if pairs else None


def _ece(pairs: list[tuple[float, bool]], bins: int = 10) -> float | None:
    """Expected calibration error: per score decile, |mean score - share high-risk|, weighted."""
    if not pairs:
        return None
    total = 0.0
    for b in range(bins):
        inside = [
            (p, y)
            for p, y in pairs
            if b / bins <= p < (b + 1) / bins or (b == bins - 1 and p == 1.0)
        ]
        if inside:
            mean = sum(p for p, _ in inside) / len(inside)
            share = sum(y for _, y in inside) / len(inside)
            total += len(inside) * abs(mean - share)
    return total / len(pairs)


class _Detection(msgspec.Struct):
    timestamp: datetime = msgspec.field(name="@timestamp")
    entity: dict[str, str] = {}
    evidence: list[str] = []


def events(work: Path, seeds: list[int], hours: float) -> tuple[list[EventResult], int]:
    """The simulated events of each seed, found or missed; and detections matching none."""
    results: list[EventResult] = []
    false_events = 0
    for seed in seeds:
        out = work / f"events-{seed}"
        out.mkdir(parents=True, exist_ok=True)
        write_social(out, seed, START_MS, int(hours * 3_600_000), Clock(60))
        dets_path = out / "detections.jsonl"
        run_cli(
            ["analyse", "--in", f"posts-jsonl:{out / POSTS}", "--in", f"news-feed:{out / NEWS}",
             "--no-store", "-o", str(dets_path), "--data-dir", str(out / "data")],
            cwd=out,
        )  # fmt: skip
        truths = msgspec.json.Decoder(PostTruth).decode_lines((out / TRUTH).read_bytes())
        first: dict[str, float] = {}
        members: dict[str, set[str]] = {}
        news: dict[str, set[str]] = {}
        districts: dict[str, set[str]] = {}
        category: dict[str, str] = {}
        times = _post_times(out / POSTS)
        for t in truths:
            if t.event is None:
                continue
            members.setdefault(t.event, set()).add(t.id)
            if t.id in times:  # a post (news items follow the posts in the truth file)
                first.setdefault(t.event, times[t.id])
            else:
                news.setdefault(t.event, set()).add(t.id)
            category[t.event] = t.category
            if t.district:
                districts.setdefault(t.event, set()).add(t.district)
        detections = msgspec.json.Decoder(_Detection).decode_lines(dets_path.read_bytes())
        matched: set[int] = set()
        for event_id, ids in members.items():
            best = None
            joined = False
            for i, det in enumerate(detections):
                evidence = set(det.evidence)
                if len(ids & evidence) * 2 >= min(len(evidence), len(ids)):
                    matched.add(i)
                    joined = joined or bool(news.get(event_id, set()) & evidence)
                    if best is None or det.timestamp < best.timestamp:
                        best = det
            placed = best.entity.get("district") if best else None
            # a city-wide hazard (an earthquake) is placed at the city, in no district
            city_wide = category[event_id] in SocialConfig().city_wide
            results.append(
                EventResult(
                    id=event_id,
                    seed=seed,
                    category=category[event_id],
                    found=best is not None,
                    latency_s=best.timestamp.timestamp() - first[event_id] if best else None,
                    district_ok=(
                        best is not None and placed is None
                        if city_wide
                        else placed in districts.get(event_id, set())
                    ),
                    districts=sorted(districts.get(event_id, set())),
                    placed=placed,
                    slow=category[event_id] in SocialConfig().slow_categories,
                    news=joined,
                )
            )
        false_events += len(detections) - len(matched)
    return results, false_events


def _post_times(path: Path) -> dict[str, float]:
    class _Post(msgspec.Struct):
        id: str
        created_at: datetime

    posts = msgspec.json.Decoder(_Post).decode_lines(path.read_bytes())
    return {p.id: p.created_at.timestamp() for p in posts}


@dataclass
class Speed:
    """One end-to-end run over the long stream of posts."""

    name: str
    posts: int
    cpu_s: float
    wall_s: float
    strong: bool
    posts_per_cpu_s: float


def speed(work: Path, hours: float) -> list[Speed]:
    """``citywatch analyse`` on a long stream of posts, as configured by default and fast only."""
    out = work / "speed"
    out.mkdir(parents=True, exist_ok=True)
    write_social(out, 1, START_MS, int(hours * 3_600_000), Clock(60))
    posts = sum(1 for line in (out / POSTS).read_bytes().splitlines() if line.strip())
    fast_only = out / "fast-only.toml"
    fast_only.write_text("[detectors.social-events]\nstrong = false\n", encoding="utf-8")
    runs = [("defaults", None, available()), ("fast model only", fast_only, False)]
    results = []
    for name, config, strong in runs:
        args = ["analyse", "--in", f"posts-jsonl:{out / POSTS}", "--no-store",
                "--data-dir", str(out / "data")]  # fmt: skip
        if config is not None:
            args += ["--config", str(config)]
        m = run_cli(args, cwd=out)
        results.append(Speed(name, posts, m.cpu_s, m.wall_s, strong, posts / max(m.cpu_s, 1e-9)))
    return results


def run(
    work: Path, *, seeds: int = 5, hours: float = 6.0, speed_hours: float = 100.0
) -> SocialReport:
    """Every figure of the social benchmark."""
    _, held_out = corpus(1)
    fast = classifiers()[0][1]
    german = classification("German (lexicon)", fast, handwritten(HANDWRITTEN_DE), lang="de")
    found, false_events = events(work, list(range(1, seeds + 1)), hours)
    speeds = speed(work, speed_hours)
    return SocialReport(
        classification=[classification(n, c, held_out) for n, c in classifiers()],
        german=german,
        events=found,
        false_events=false_events,
        speed=speeds,
    )
