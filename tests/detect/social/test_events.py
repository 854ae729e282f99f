"""Social events: a burst of reports is one placed detection; no author profile anywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import msgspec

from citywatch.app import analyse
from citywatch.config import Settings
from citywatch.detect import DetectorRunner
from citywatch.detect.social import SocialConfig, SocialEvents
from citywatch.enrich import Enricher, Pseudonymiser
from citywatch.ingest.news import NewsFeedAdapter
from citywatch.ingest.posts import PostsJsonlAdapter
from citywatch.model import Detection, Event
from citywatch.pipeline import InputSpec
from citywatch.simulate.social.writer import NEWS, POSTS, write_social
from citywatch.simulate.writers import Clock
from citywatch.store import open_store

T0 = 1_773_478_800.0
REPORTS = [
    "Someone just got stabbed outside the bakery in Kaptolje, ambulance is here",
    "Stabbing at Kaptolje, police have taped off the street",
    "A man was knifed near the cathedral, there is blood on the pavement",
    "Witnessed a stabbing at Kaptolje tonight, still shaking",
]


EXTORTION = [
    "Extortion racket hitting restaurants at Maksimirska cesta, owners too scared to talk",
    "Police raid at Brückenfeld, weapons and drugs seized from a gang hideout",
    "Masked men smashed up the cafe at Vlaška ulica because the owner would not pay",
    "Another shop at Brückenfeld torched after the owner refused to pay the gang",
    "They left a threatening note at my shop at Bruckenfeld demanding money",
]
"""A gang's extortion wave in Brückenfeld, as people post about it: at streets and the district."""


def run(
    lines: list[bytes],
    detector: SocialEvents,
    checkpoints: list[bytes] | None = None,
    news: list[Event] | None = None,
) -> list[Detection]:
    """The detections of ``lines`` (posts-jsonl) and ``news`` (news-feed events), in time order."""
    enrich = Enricher(Pseudonymiser(b"k" * 32))
    runner = DetectorRunner(detector, lambda name, ev, exc: (_ for _ in ()).throw(exc))
    out: list[Detection] = []
    events = [e for e in PostsJsonlAdapter().parse("posts", lines) if isinstance(e, Event)]
    assert len(events) == len(lines)
    events = sorted(events + (news or []), key=lambda e: e.timestamp)
    for n, item in enumerate(events):
        runner.process(enrich(item), out)
        if checkpoints is not None and n % 50 == 0:
            checkpoints.append(runner.snapshot())
    assert all(":" not in key.split("|")[0] for key in runner.states), "keys are topics, not people"
    runner.flush(out)
    return out


def post(n: int, text: str, author: str, dt: float) -> bytes:
    rec = {"id": f"p{n}", "created_at": T0 + dt, "text": text, "author": author}
    return json.dumps(rec).encode()


def test_a_burst_of_reports_is_one_placed_event() -> None:
    lines = [post(i, t, f"author-{i}", 40.0 * i) for i, t in enumerate(REPORTS)]
    detector = SocialEvents(SocialConfig(annotate=True, strong=False))
    found = run(lines, detector)
    assert found and len({d.id for d in found}) == 1
    last = found[-1]
    assert last.entity["place"] in ("Kaptolje", "Aldmere Cathedral")
    assert last.entity["district"] == "Kaptolje"
    assert last.geo is not None and last.geo.h3
    assert last.evidence == ["p0", "p1", "p2", "p3"]
    social = last.attributes["social"]
    assert (social["category"], social["posts"], social["authors"]) == ("violence", 4, 4)
    assert found[0].timestamp.timestamp() - T0 <= 300, "within five minutes of the first post"
    assert {a.event for a in detector.annotations.values()} == {last.id}


def test_a_summary_quotes_no_word_of_the_posts_but_signs_of_the_event() -> None:
    # A victim's name and street, repeated in the posts, were a summary's key terms
    # ("victim, babicevic, kaptolska"), exported word for word to partners in MISP.
    lines = [
        post(
            i, f"{text} The victim is Tomislav Babicevic, he lives on Kaptolska", f"a-{i}", 40.0 * i
        )
        for i, text in enumerate(REPORTS)
    ]
    detector = SocialEvents(SocialConfig(strong=False))
    (last, *_) = run(lines, detector)[::-1]
    terms = last.summary.rpartition("(")[2].rstrip(")").split(", ")
    assert terms and set(terms) <= detector.classify.model.event_words
    text = msgspec.json.encode(last).decode().lower()
    assert "babicevic" not in text and "tomislav" not in text and "kaptolska" not in text


QUAKE = [
    "Earthquake!! Everything is shaking at Port d'Aldmere",
    "Strong earthquake just now, a building collapsed at Port d'Aldmere",
    "The quake cracked the walls of our house at Stari Grad, we are outside",
    "Felt a strong tremor at Port d'Aldmere, things fell off the shelves",
    "Roof collapsed at Kaptolje in the earthquake, rescue teams needed",
    "Facade collapsed onto parked cars at Trnje after the quake",
]


def test_a_city_wide_hazard_is_at_the_city_not_at_its_most_named_district() -> None:
    # The earthquake incident said it was in Port d'Aldmere, the district most posts named.
    lines = [post(i, t, f"author-{i}", 20.0 * i) for i, t in enumerate(QUAKE)]
    detector = SocialEvents(SocialConfig(strong=False))
    found = run(lines, detector)
    assert found, "the posts are one event"
    last = found[-1]
    assert last.entity["social.category"] == "natural-hazard"
    assert last.entity["place"] == detector.gazetteer.city
    assert "district" not in last.entity
    centre = detector.gazetteer.centre
    assert last.geo is not None and (last.geo.lat, last.geo.lon) == (centre.lat, centre.lon)
    # its key terms say what happened, not where, nor filler ("aldmere, after, dolina")
    terms = last.summary.rpartition("(")[2].rstrip(")").split(", ")
    assert terms and not set(terms) & (detector.gazetteer.words | {"after", "there", "which"})


def report(title: str, dt: float) -> Event:
    """A local outlet's news item (through the real RSS adapter) at ``T0 + dt``."""
    when = format_datetime(datetime.fromtimestamp(T0 + dt, tz=UTC))
    doc = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Aldmere Daily</title>'
        f"<item><guid>news-1</guid><title>{title}</title><pubDate>{when}</pubDate></item>"
        "</channel></rss>"
    )
    (item,) = NewsFeedAdapter().parse("feed", [doc.encode()])
    assert isinstance(item, Event)
    return item


def fired(found: list[Detection]) -> float:
    """Seconds after ``T0`` that the first detection fired."""
    return found[0].timestamp.timestamp() - T0


UNREST = [
    (0.0, "Mob attacking cars at Ilica, avoid the area"),
    (33.5, "Mob attacking cars at Central Station, avoid the area"),
    (71.3, "Rioters set bins on fire at Central Station, police charging the crowd !!"),
    (287.7, "Rioters set bins on fire at Central Station, police charging the crowd"),
    (358.4, "rioters set bins on fire at old town, police charging the crowd"),
    (589.8, "Clashes at Ilica after the match, stones thrown, several arrests"),
]
"""Seed 11's unrest in the Old Town as the simulator once wrote it: its first posts, seconds
after the first, detected 358 s after it (the outlet's headline scored 0.002, the riots with
fire went to the fire category)."""


def test_seed_11s_unrest_is_found_within_five_minutes_in_the_old_town() -> None:
    lines = [post(i, text, f"author-{i}", dt) for i, (dt, text) in enumerate(UNREST)]
    news = [
        report("Fans clash with police in Stari Grad after the match, shop windows smashed", 238.4)
    ]
    found = run(lines, SocialEvents(SocialConfig(strong=False)), news=news)
    assert found and fired(found) <= 300
    assert found[0].entity["district"] == "Stari Grad"
    assert found[0].attributes["social"]["category"] == "civil-unrest"
    assert "news-1" in found[-1].evidence, "the outlet's report joins the event"


def test_a_slow_wave_the_news_broke_fires_at_its_first_post() -> None:
    """An outlet breaks an extortion story; the first post about it comes 25 minutes later.

    The report is older than a burst window, yet it is the same slow wave: the
    first post corroborates it, and the event fires at once, at its district.
    """
    news = [report("Shop owners in Brückenfeld report a gang demanding protection money", 0.0)]
    lines = [post(0, EXTORTION[0], "author-0", 1500.0)]
    found = run(lines, SocialEvents(SocialConfig(strong=False)), news=news)
    assert found and fired(found) == 1500.0, "fired at the first post"
    first = found[0]
    assert first.entity["district"] == "Brückenfeld"
    assert first.attributes["social"]["pattern"] == "wave"
    assert first.evidence == ["news-1", "p0"]
    assert first.first_seen.timestamp() == T0, "first seen when the outlet reported it"


def test_a_report_an_hour_after_a_slow_waves_first_post_still_corroborates_it() -> None:
    lines = [post(0, EXTORTION[0], "author-0", 0.0)]
    news = [report("Shop owners in Brückenfeld report a gang demanding protection money", 3600.0)]
    found = run(lines, SocialEvents(SocialConfig(strong=False)), news=news)
    assert found and fired(found) == 3600.0
    assert found[0].entity["district"] == "Brückenfeld"


def test_a_report_does_not_corroborate_a_sudden_event_after_a_burst_window() -> None:
    """A stabbing reported 25 minutes before a lone post about one: two events, neither sure."""
    news = [report("Man stabbed in Kaptolje, police search for the attacker", 0.0)]
    lines = [post(0, REPORTS[0], "author-0", 1500.0)]
    assert run(lines, SocialEvents(SocialConfig(strong=False)), news=news) == []


def test_a_slow_wave_without_news_fires_at_its_wave_of_authors() -> None:
    """Posts alone, twenty minutes apart: no single post or pair is an event; the wave is."""
    lines = [post(i, t, f"author-{i}", 1200.0 * i) for i, t in enumerate(EXTORTION)]
    config = SocialConfig(strong=False)
    assert run(lines[:4], SocialEvents(config)) == [], "four posts, four authors: not yet"
    found = run(lines, SocialEvents(config))
    assert found and fired(found) == 1200.0 * 4, "the fifth post from the fourth author"
    assert found[0].evidence == [f"p{i}" for i in range(5)]
    assert found[0].entity["district"] == "Brückenfeld"


def test_one_author_alone_is_no_event() -> None:
    lines = [post(i, t, "same-person", 40.0 * i) for i, t in enumerate(REPORTS)]
    assert run(lines, SocialEvents(SocialConfig(strong=False))) == []


def test_no_author_reaches_any_output(tmp_path: Path) -> None:
    write_social(tmp_path, 1, int(T0 * 1000), 6 * 3_600_000, Clock(60))
    lines = (tmp_path / POSTS).read_bytes().splitlines()
    authors = {json.loads(line)["author"] for line in lines}
    detector = SocialEvents(SocialConfig(annotate=True))
    checkpoints: list[bytes] = []
    found = run(lines, detector, checkpoints)
    assert len({d.id for d in found}) >= 4
    pseudo = Pseudonymiser(b"k" * 32)
    secrets = authors | {pseudo("user", a) for a in authors}
    blobs = [msgspec.json.encode(d) for d in found]
    blobs += [msgspec.json.encode(a) for a in detector.annotations.values()]
    blobs.append(detector.snapshot_model() or b"")
    text = b"\n".join(blobs)
    assert not any(s.encode() in text for s in secrets), "no author, raw or pseudonymised"
    states = b"\n".join(checkpoints)
    assert any(b"violence|Kaptolje" in c for c in checkpoints), "checkpoints were taken mid-event"
    assert not any(s.encode() in states for s in secrets), "nor in a checkpoint of the state"
    assert not any(s.split(":", 1)[-1].encode() in states for s in secrets if ":" in s)
    for det in found:
        assert isinstance(det.attributes["social"]["authors"], int), "authors as a count only"


def test_no_author_in_the_store(tmp_path: Path) -> None:
    """A whole run into SQLite: the database file holds no author, raw or pseudonymised."""
    city = tmp_path / "city"
    city.mkdir()
    write_social(city, 2, int(T0 * 1000), 6 * 3_600_000, Clock(60))
    key = "ab" * 32
    settings = Settings(data_dir=tmp_path / "data", pseudonym_key=key)
    store = open_store(settings.store)
    try:
        result = analyse(
            settings,
            [InputSpec(format="posts-jsonl", path=city / POSTS),
             InputSpec(format="news-feed", path=city / NEWS)],
            store,
            command="test",
        )  # fmt: skip
    finally:
        store.close()
    assert result.stats.detections["social-events"] >= 4
    authors = {json.loads(line)["author"] for line in (city / POSTS).read_bytes().splitlines()}
    pseudo = Pseudonymiser(bytes.fromhex(key))
    db = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("citywatch.db*"))
    for author in sorted(authors):
        assert author.encode() not in db
        assert pseudo("user", author).split(":", 1)[1].encode() not in db


def test_baselines_survive_a_checkpoint() -> None:
    lines = [post(i, t, f"author-{i}", 40.0 * i) for i, t in enumerate(REPORTS)]
    first = SocialEvents(SocialConfig(strong=False))
    run(lines, first)
    blob = first.snapshot_model()
    assert blob is not None
    second = SocialEvents(SocialConfig(strong=False))
    second.restore_model(blob)
    assert second.snapshot_model() == blob
    assert "violence|Kaptolje" in msgspec.msgpack.decode(blob)["baseline"]


def test_a_restarted_detector_still_places_what_it_detects() -> None:
    # The places posts were put at went unsaved: after a worker's restart, a cluster's
    # detection lost its point and district, and place-time incident rules missed it.
    lines = [post(i, t, f"author-{i}", 40.0 * i) for i, t in enumerate(REPORTS)]
    enrich = Enricher(Pseudonymiser(b"k" * 32))
    events = [enrich(e) for e in PostsJsonlAdapter().parse("posts", lines) if isinstance(e, Event)]

    def failed(name: str, event: Event | None, exc: Exception) -> None:
        raise exc

    first = DetectorRunner(SocialEvents(SocialConfig(strong=False)), failed)
    out: list[Detection] = []
    for event in events:
        first.process(event, out)
    second = DetectorRunner(SocialEvents(SocialConfig(strong=False)), failed)
    second.restore(first.snapshot())
    second.detector.restore_model(first.detector.snapshot_model() or b"")
    closing: list[Detection] = []
    second.flush(closing)  # the episode closes in the restarted detector
    (last,) = closing
    assert last.geo is not None and last.entity["district"] == "Kaptolje"


def test_an_event_says_what_the_city_can_do_and_what_it_must_verify_first() -> None:
    # Social incidents listed no measures: the duty officer read "violence in Kaptolje" and
    # nothing of what to do with unverified posts. Each category now says it, at its place.
    lines = [post(i, t, f"author-{i}", 40.0 * i) for i, t in enumerate(REPORTS)]
    violence = run(lines, SocialEvents(SocialConfig(strong=False)))[-1]
    said = violence.attributes["social"]["measures"]
    place = violence.entity["place"]
    assert said and all(isinstance(m, str) for m in said)
    assert any("police" in m and place in m for m in said)
    assert any("unverified" in m for m in said), "posts are not yet facts"
    # a gang's extortion wave: to the police's unit, and no public alert that would warn them
    news = [report("Shop owners in Brückenfeld report a gang demanding protection money", 0.0)]
    wave = [post(0, EXTORTION[0], "author-0", 1500.0)]
    crime = run(wave, SocialEvents(SocialConfig(strong=False)), news=news)[-1]
    measures = crime.attributes["social"]["measures"]
    assert any("organised crime unit" in m for m in measures)
    assert any("No public alert" in m for m in measures)
