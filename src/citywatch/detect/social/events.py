"""Social events: high-risk posts clustered by topic, place and time into detections.

Each post is classified and geoparsed (:mod:`.classify`). A post that is
surely high-risk (score at least ``sure``; the others are annotated, not
clustered) joins the cluster of its category at its district (natural hazards, which
strike the whole city at once, cluster city-wide); a post that names no place
joins its category's most recently active placed cluster, else a city-wide
one. A cluster fires (burst detection) when, within ``window_s``, it holds at
least ``min_posts`` posts from at least ``min_authors`` independent authors
and more than ``burst_factor`` times what its key's baseline expects, or as
soon as a news item corroborates a post within ``window_s``. The categories
that come as slow waves (``slow_categories``: an extortion series) are
reported over hours, a post every twenty minutes or so, and an outlet may
break the story before anyone posts; at one place their posts and news
items belong together for ``wave_window_s``: a news item corroborates a post
within that window, either way round, and ``wave_posts`` posts from
``wave_authors`` authors within it fire without news. A slow category's
event holds the wave window's posts and stays open until a whole wave
window passes quietly. Its first post is the first story: the detection's
first-seen time. The detection carries the evidence posts, the place, the
category and a short summary, and grows as posts come in.

Events, not people: an author is counted in a cluster by a token salted
per cluster state (see :class:`SocialState`), never by a name or a stable
pseudonym; no state is keyed by author and no output names one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import ClassVar, Final

import msgspec
from pydantic import BaseModel

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.social.classify import PostClassifier, Verdict
from citywatch.detect.social.config import DATASETS, SocialConfig
from citywatch.detect.social.gazetteer import Gazetteer, Place
from citywatch.detect.social.model import LinearModel
from citywatch.detect.social.state import Annotation, PostRef, SocialState
from citywatch.detect.social.strong import StrongModel, available
from citywatch.detect.social.summary import SEVERITY, describe, measures
from citywatch.model import Detection, Event, GeoPoint, TextPost

_FILLERS: Final = frozenset({
    "about", "above", "after", "again", "against", "along", "among", "around", "because",
    "before", "behind", "being", "below", "beside", "between", "could", "during", "every",
    "everyone", "everything", "first", "going", "never", "other", "outside", "people", "please",
    "really", "right", "since", "still", "their", "there", "these", "thing", "things", "think",
    "those", "through", "today", "tonight", "under", "until", "where", "which", "while", "whose",
    "would",
})  # fmt: skip
"""Words of more than four letters that say nothing of an event (a summary's key terms)."""


class _Model(msgspec.Struct):
    """What the detector learns across keys, for checkpoints."""

    baseline: dict[str, tuple[float, float]]
    recent: dict[str, tuple[str, float]]
    places: dict[str, Place] = msgspec.field(default_factory=dict)
    """Where posts were put: a cluster's detection is placed by them after a restart too."""


class SocialEvents(Detector[SocialState]):
    """High-risk events in public posts and news, placed on the city map."""

    name: ClassVar[str] = "social-events"
    description: ClassVar[str] = "high-risk events in social media and news, geoparsed, clustered"
    config_model: ClassVar[type[BaseModel]] = SocialConfig
    state_type: ClassVar[type[msgspec.Struct]] = SocialState
    datasets: ClassVar[frozenset[str]] = DATASETS

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, SocialConfig)
        self.cfg: SocialConfig = self.config
        self.gazetteer = Gazetteer.load(self.cfg.gazetteer)
        strong = (
            StrongModel.load(threads=self.cfg.strong_threads)
            if self.cfg.strong and available()
            else None
        )
        self.classify = PostClassifier(
            LinearModel.load(self.cfg.weights),
            self.gazetteer,
            self.cfg.threshold,
            strong,
            self.cfg.uncertain,
        )
        self.languages: Counter[str] = Counter()
        self.annotations: dict[str, Annotation] = {}
        self._verdict: tuple[str, Verdict] | None = None
        self._recent: dict[str, tuple[str, float]] = {}
        """Category → its most recently active placed key, and when."""
        self._baseline: dict[str, tuple[float, float]] = {}
        """Key → (decayed count of high-risk posts, time of the last update)."""
        self._places: dict[str, Place] = {}
        """Place name → place, for the places posts were put at."""

    def keys(self, event: Event) -> tuple[str, ...]:
        verdict = self.classify(event)
        if verdict is None:
            return ()
        self.languages[verdict.lang] += 1
        if self.cfg.annotate:
            self.annotations[event.id] = Annotation(
                id=event.id,
                high_risk=verdict.high_risk,
                category=verdict.category,
                score=round(verdict.score, 3),
                lang=verdict.lang,
                place=verdict.place.name if verdict.place else None,
                h3=verdict.place.h3 if verdict.place else None,
            )
        if verdict.score < self.cfg.sure:
            return ()
        self._verdict = (event.id, verdict)
        if verdict.place is not None:
            known = verdict.place
            if known.kind == "point":  # a post's own coordinates: the event is at its district
                known = self.gazetteer.district(known.district) or known
            self._places.setdefault(known.name, known)
        category = verdict.category
        if category in self.cfg.city_wide:
            return (f"{category}|{self.gazetteer.city}",)
        if verdict.place is not None:
            key = f"{category}|{verdict.place.district}"
            self._recent[category] = (key, event.timestamp)
            return (key,)
        recent = self._recent.get(category)
        if recent is not None and event.timestamp - recent[1] <= self.cfg.window_s:
            return (recent[0],)
        return (f"{category}|{self.gazetteer.city}",)

    def snapshot_model(self) -> bytes | None:
        """The baselines of every place and topic, each category's latest placed cluster, and
        the places posts were put at."""
        return msgspec.msgpack.encode(
            _Model(baseline=self._baseline, recent=self._recent, places=self._places)
        )

    def restore_model(self, blob: bytes) -> None:
        model = msgspec.msgpack.decode(blob, type=_Model)
        self._baseline, self._recent, self._places = model.baseline, model.recent, model.places

    def new_state(self, key: str) -> SocialState:
        return SocialState()

    def update(self, key: str, state: SocialState, event: Event, out: list[Detection]) -> None:
        assert self._verdict is not None
        assert self._verdict[0] == event.id
        verdict = self._verdict[1]
        ts = event.timestamp
        post = event.payload
        ref = PostRef(
            ts=ts,
            id=event.id,
            author=hashlib.blake2b(
                (event.user_id or event.id).encode(), key=state.salt, digest_size=8
            ).hexdigest(),
            score=verdict.score,
            place=verdict.place.name if verdict.place else "",
            news=isinstance(post, TextPost) and post.kind == "news",
        )
        if state.episode is not None and ts - state.episode.last > self._gap(state):
            self._close(key, state, out)
        if any(p.id == event.id for p in state.wave) or (
            state.episode is not None and event.id in state.episode.evidence
        ):
            return  # the same post or news item delivered again (a feed polled twice)
        self._window(state, ts)
        state.posts.append(ref)
        state.wave.append(ref)
        expected = self._observe(key, ts)
        if state.episode is not None:
            self._absorb(state, ref, verdict.words)
            if state.episode.add(event.id, ts):
                out.append(self._emit(key, state))
            return
        scale = self.cfg.city_factor if key.endswith("|" + self.gazetteer.city) else 1
        posts = state.posts
        slow = scale == 1 and key.partition("|")[0] in self.cfg.slow_categories
        # a slow wave's posts and reports belong together for a whole wave window, not a burst's
        members = state.wave if slow else posts
        corroborated = any(p.news for p in members) and len(members) >= 2
        burst = (
            len(posts) >= self.cfg.min_posts * scale
            and len({p.author for p in posts}) >= self.cfg.min_authors * scale
            and len(posts) > self.cfg.burst_factor * expected
        )
        wave = (
            slow
            and len(state.wave) >= self.cfg.wave_posts
            and len({p.author for p in state.wave}) >= self.cfg.wave_authors
        )
        if not (burst or corroborated or wave):
            return
        state.slow = key.partition("|")[0] in self.cfg.slow_categories
        state.episode = Episode(
            id=detection_id(self.name, "social", key, members[0].ts),
            fired=ts,
            first=members[0].ts,
            last=ts,
            evidence=[],
        )
        for p in members:
            self._absorb(state, p, verdict.words if p is ref else [])
            state.episode.evidence.append(p.id)
        out.append(self._emit(key, state))

    def _gap(self, state: SocialState) -> float:
        """The quiet time that closes the state's event: a slow category's is a wave window."""
        return self.cfg.wave_window_s if state.slow else self.cfg.gap_s

    def _window(self, state: SocialState, now: float) -> None:
        """Forget posts older than the burst and the wave windows."""
        state.posts = [p for p in state.posts if p.ts >= now - self.cfg.window_s]
        state.wave = [p for p in state.wave if p.ts >= now - self.cfg.wave_window_s]

    def _observe(self, key: str, ts: float) -> float:
        """Count a post in its key's baseline; the posts the baseline expected in a window."""
        count, last = self._baseline.get(key, (0.0, ts))
        decay: float = 0.5 ** (max(0.0, ts - last) / self.cfg.baseline_halflife_s)
        expected = count * decay * self.cfg.window_s / self.cfg.baseline_halflife_s
        self._baseline[key] = (count * decay + 1.0, ts)
        return expected

    def _absorb(self, state: SocialState, ref: PostRef, words: list[str]) -> None:
        if ref.author not in state.authors:
            state.authors.append(ref.author)
        if ref.place:
            state.places[ref.place] = state.places.get(ref.place, 0) + 1
        state.news += ref.news
        state.score_sum += ref.score
        names = self.gazetteer.words
        signs = self.classify.model.event_words  # never a word of the posts' own: a name
        for w in words:
            if len(w) > 4 and w in signs and w not in _FILLERS and w not in names:
                state.terms[w] = state.terms.get(w, 0) + 1

    def expire(self, key: str, state: SocialState, watermark: float, out: list[Detection]) -> bool:
        self._window(state, watermark)
        if state.episode is not None and watermark - state.episode.last > self._gap(state):
            self._close(key, state, out)
        return state.episode is None and not state.wave

    def _close(self, key: str, state: SocialState, out: list[Detection]) -> None:
        out.append(self._emit(key, state))
        state.episode = None
        state.slow = False
        state.wave = []  # its posts belonged to the event that just closed
        state.authors = []
        state.places = {}
        state.terms = {}
        state.news = 0
        state.score_sum = 0.0

    def _emit(self, key: str, state: SocialState) -> Detection:
        episode = state.episode
        assert episode is not None
        category, _, where = key.partition("|")
        top = max(state.places, key=state.places.__getitem__) if state.places else None
        place = self._places.get(top) if top is not None else self.gazetteer.district(where)
        city_wide = where == self.gazetteer.city
        if city_wide and category in self.cfg.city_wide:  # a quake: the city, not a street of it
            place = self.gazetteer.centre
        posts = len(episode.evidence)
        authors = len(state.authors)
        social = posts - state.news
        if self.cfg.annotate:
            for pid in episode.evidence:
                note = self.annotations.get(pid)
                if note is not None:
                    note.event = episode.id
        terms = sorted(state.terms, key=lambda t: (-state.terms[t], t))[:3]
        name = where if city_wide or place is None else place.name
        summary = describe(category, name, posts, authors, state.news)
        if terms:
            summary += f" ({', '.join(terms)})"
        mean = state.score_sum / max(1, posts)
        confidence = mean * (1 - 0.5 ** min(authors + state.news, 10))
        # not ECS's event.category, whose values are fixed (web, network...): SIEMs reject others
        entity = {"place": name, "social.category": category}
        if place is not None and place.district:
            entity["district"] = place.district
            if place.id is not None and not city_wide:
                entity["venue.id"] = place.id
        detection = self.detection(
            episode,
            rule_id=f"social.event.{category}",
            rule_name=f"Social media: {category.replace('-', ' ')}",
            severity=SEVERITY.get(category, 50) + min(15, 3 * authors),
            confidence=confidence,
            category="public_safety",
            summary=summary,
            entity=entity,
            tags=["social", f"social.{category}"],
            attributes={
                "social": {
                    "category": category,
                    "place": entity["place"],
                    "district": entity.get("district"),
                    "first_seen": episode.first,
                    "posts": posts,
                    "authors": authors,
                    "sources": {"social": social, "news": state.news},
                    "pattern": "wave" if state.slow else "burst",
                    "places": dict(sorted(state.places.items(), key=lambda kv: -kv[1])[:5]),
                    "measures": measures(category, name),
                }
            },
        )
        if place is None:
            return detection
        geo = GeoPoint(lat=place.lat, lon=place.lon, h3=place.h3)
        return msgspec.structs.replace(detection, geo=geo)
