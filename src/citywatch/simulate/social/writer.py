"""Writes the social silo's demo inputs: posts, a news feed, their ground truth, the gazetteer.

``posts.jsonl`` is ``posts-jsonl`` (FORMATS.md), ``news.xml`` a local
outlet's RSS feed (``news-feed``); ``social.truth.jsonl`` has one line per
post and news item, ``{"id", "event", "high_risk", "category", "district"}``,
beside it, never inside it; ``gazetteer.json`` is the city's gazetteer, the
file the social detector reads. Each scenario is a situation in
``situations.json`` (the stadium alarm and the earthquake under the shared
ids of :mod:`citywatch.simulate.schedule`).
"""

from __future__ import annotations

import heapq
import json
from pathlib import Path
from typing import Final

import msgspec

from citywatch.simulate.manifest import ManifestFile, Situation
from citywatch.simulate.rand import substream
from citywatch.simulate.social.gazetteer import gazetteer
from citywatch.simulate.social.news import items, rss
from citywatch.simulate.social.stream import Post, chatter, scenario_posts, scenarios
from citywatch.simulate.writers import Clock

POSTS: Final = "posts.jsonl"
NEWS: Final = "news.xml"
TRUTH: Final = "social.truth.jsonl"
GAZETTEER: Final = "gazetteer.json"


class PostTruth(msgspec.Struct, frozen=True, kw_only=True):
    """The ground truth of one post."""

    id: str
    event: str | None
    high_risk: bool
    category: str
    district: str | None


def districts_by_name() -> dict[str, str]:
    """Every gazetteer name and alias → its district."""
    gaz = gazetteer()
    out: dict[str, str] = {}
    for d in gaz["districts"]:  # type: ignore[attr-defined]
        for name in [d["name"], *d["aliases"]]:
            out[name] = d["name"]
    for p in gaz["places"]:  # type: ignore[attr-defined]
        for name in [p["name"], *p["aliases"]]:
            out.setdefault(name, p["district"])
    return out


def posts(seed: int, start_ms: int, span_ms: int) -> list[Post]:
    """Every post of the run, in time order."""
    streams = [chatter(substream(seed, "social-chatter"), start_ms, start_ms + span_ms)]
    for i, scenario in enumerate(scenarios(span_ms)):
        rng = substream(seed, f"social-scenario-{i}")
        streams.append(iter(sorted(scenario_posts(rng, scenario, start_ms, span_ms))))
    return list(heapq.merge(*streams))


def write_social(
    out: Path, seed: int, start_ms: int, span_ms: int, clock: Clock
) -> tuple[list[ManifestFile], list[Situation]]:
    """Write posts, truth and gazetteer into ``out``; the inputs and situations to list."""
    (out / GAZETTEER).write_text(
        json.dumps(gazetteer(), ensure_ascii=False) + "\n", encoding="utf-8"
    )
    district_of = districts_by_name()
    rows: dict[str, list[tuple[str, Post]]] = {}
    encode = msgspec.json.Encoder().encode
    with (out / POSTS).open("wb") as fh, (out / TRUTH).open("wb") as truth:
        for n, post in enumerate(posts(seed, start_ms, span_ms), 1):
            pid = f"post-{n:06d}"
            record: dict[str, object] = {
                "id": pid,
                "created_at": clock.iso(post.ms),
                "text": post.text,
                "author": post.author,
            }
            if post.lang is not None:
                record["lang"] = post.lang
            fh.write(encode(record) + b"\n")
            district = district_of.get(post.place) if post.place else None
            truth.write(
                encode(
                    PostTruth(
                        id=pid,
                        event=post.event,
                        high_risk=post.event is not None,
                        category=post.category,
                        district=district,
                    )
                )
                + b"\n"
            )
            if post.event is not None:
                rows.setdefault(post.event, []).append((pid, post))
        news = items(substream(seed, "social-news"), scenarios(span_ms), start_ms, span_ms)
        for item in news:
            district = district_of.get(item.place) if item.place else None
            truth.write(
                encode(
                    PostTruth(
                        id=item.id,
                        event=item.event,
                        high_risk=item.event is not None,
                        category=item.category,
                        district=district,
                    )
                )
                + b"\n"
            )
    (out / NEWS).write_text(rss(news), encoding="utf-8")
    situations = []
    for scenario in scenarios(span_ms):
        members = rows.get(scenario.id, [])
        if not members:
            continue
        places = sorted({district_of[p.place] for _, p in members if p.place in district_of})
        situations.append(
            Situation(
                id=scenario.id,
                title=scenario.title,
                silo="social",
                start=clock.iso(members[0][1].ms),
                end=clock.iso(members[-1][1].ms),
                entities={"district": places, "social.category": [scenario.category]},
                techniques=[scenario.category],
                records=len(members) + sum(n.event == scenario.id for n in news),
            )
        )
    return [ManifestFile("posts-jsonl", POSTS), ManifestFile("news-feed", NEWS)], situations
