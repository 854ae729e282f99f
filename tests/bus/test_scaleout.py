"""The scale-out mode end to end on a real NATS server: publish, detect, correlate.

A slice of the synthetic city (every silo but the two largest logs) is
analysed once by the embedded pipeline and once through the bus by workers;
both must find the same detections, with the same evidence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import structlog
from pydantic import SecretStr

from citywatch.app import analyse, bus_sealer, city_store
from citywatch.bus.config import BusConfig
from citywatch.bus.jetstream import JetStreamBus
from citywatch.bus.subjects import Subjects
from citywatch.config import Settings, load_settings
from citywatch.detect import DETECTORS
from citywatch.errors import BusError, ConfigError, StoreError
from citywatch.pipeline import InputSpec, Job
from citywatch.plugins import build_detectors
from citywatch.scaleout import consume as consume_module
from citywatch.scaleout import publish, run_worker
from citywatch.scaleout.consume import _Guard
from citywatch.scaleout.detect import DetectPart
from citywatch.scaleout.publish import Published
from citywatch.simulate import simulate
from citywatch.simulate.iot.write import with_inventory
from citywatch.store import open_store

LARGEST = {"iot-conn.log", "iot-flood.http.jsonl", "portal.http.jsonl"}
Found = dict[str, tuple[str, str, tuple[str, ...]]]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[InputSpec]]:
    out = tmp_path_factory.mktemp("city")
    manifest = simulate(1, out, hours=1.0)
    specs = [
        InputSpec(format=i.format, path=out / i.path)
        for i in [*manifest.inputs, *manifest.also]
        if i.path not in LARGEST
    ]
    assert {s.format for s in specs} >= {"access-log", "zone-counts", "mqtt-jsonl", "posts-jsonl"}
    return out, specs


def settings_for(tmp_path: Path, city: Path, url: str, config: BusConfig) -> Settings:
    settings = load_settings(data_dir=tmp_path / "data", bus_url=url, bus=config)
    return settings.model_copy(update={"detectors": with_inventory(settings.detectors, city)})


def portal_on_the_bus(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], url: str, config: BusConfig
) -> tuple[Settings, list[InputSpec], Published]:
    """Settings on the test's bus, the city's access logs, and what publishing them sent."""
    out, specs = city
    settings = settings_for(tmp_path, out, url, config)
    portal = [s for s in specs if s.format == "access-log"]
    return settings, portal, publish(settings, portal)


def embedded_job(settings: Settings, specs: list[InputSpec]) -> Job:
    alone = settings.model_copy(update={"bus_url": ""})
    return analyse(alone, specs, None, command="test").job


def embedded(settings: Settings, specs: list[InputSpec]) -> Found:
    job = embedded_job(settings, specs)
    return {d.id: (d.detector, d.rule_id, tuple(d.evidence)) for d in job.detections()}


def stored(settings: Settings) -> Found:
    with open_store(settings.store) as store:
        return {d.id: (d.detector, d.rule_id, tuple(d.evidence)) for d in store.detections()}


@pytest.mark.slow
def test_workers_find_what_analyse_finds(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, specs = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)
    job = embedded_job(settings, specs)
    expected = {d.id: (d.detector, d.rule_id, tuple(d.evidence)) for d in job.detections()}
    assert len({detector for detector, _, _ in expected.values()}) >= 5, "several silos detect"

    published = publish(settings, specs)
    assert published.events == sum(published.stats.events.values()) > 5000
    assert published.duplicates == 0
    detect = run_worker(settings, "detect", once=True)
    assert {s.consumer for s in detect} == {f"detect-{name}" for name in DETECTORS}
    correlate = run_worker(settings, "correlate", once=True)

    assert stored(settings) == expected
    with open_store(settings.store) as store:
        incidents = store.incidents()
        (run,) = store.runs()
    live = [i for i in incidents if i.detections]  # the rest were merged into others
    assert {frozenset(i.detections) for i in live} == {
        frozenset(i.detections) for i in job.incidents()
    }, "the same detections fused into the same incidents"
    assert run.command == "worker" and run.finished is not None
    assert run.stats["incidents"] == len(live) <= correlate[0].published


@pytest.mark.slow
def test_two_workers_with_half_the_detectors_each_find_the_union(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, specs = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)
    names = sorted(DETECTORS)
    half = len(names) // 2
    publish(settings, specs)
    one = run_worker(settings, "detect", detectors=names[:half], once=True)
    other = run_worker(settings, "detect", detectors=names[half:], once=True)
    assert {s.consumer for s in one}.isdisjoint({s.consumer for s in other})
    run_worker(settings, "correlate", once=True)
    found = stored(settings)
    assert {d for d, _, _ in found.values()} & set(names[:half])
    assert {d for d, _, _ in found.values()} & set(names[half:])
    assert found == embedded(settings, specs)


def test_publishing_the_same_input_again_adds_nothing(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    settings, portal, first = portal_on_the_bus(tmp_path, city, nats_url, bus_config)
    again = publish(settings, portal)
    assert again.events == first.events > 1000
    assert again.duplicates == first.events, "every event was on the bus already"
    (login,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert login.processed == first.events


def test_another_record_reusing_an_id_is_not_taken_for_a_repeat(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    # The message id was the record's id alone: a second source numbering its records as
    # the first did lost every one of them as "already on the bus".
    out, _ = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)
    line = '{"id": "r-%d", "method": "GET", "uri": "/%s", "@timestamp": "2026-03-14T08:00:0%dZ"}'
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(line % (i, "alerts", i) for i in range(3)))
    second.write_text("\n".join(line % (i, "traffic", i) for i in range(3)))
    one = publish(settings, [InputSpec("http-jsonl", first)])
    two = publish(settings, [InputSpec("http-jsonl", second)])
    again = publish(settings, [InputSpec("http-jsonl", second)])
    assert (one.duplicates, two.duplicates, again.duplicates) == (0, 0, 3)


def test_a_message_that_is_not_an_event_becomes_a_dead_letter_once(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    settings, portal, published = portal_on_the_bus(tmp_path, city, nats_url, bus_config)

    async def garbage() -> None:
        bus = await JetStreamBus.connect(nats_url, bus_config, bus_sealer(settings))
        try:
            subject = bus.subjects.events("portal.access")
            sealer = bus_sealer(settings)
            sealed = sealer.seal(b'{"id": "x", "@timestamp": "soon"}', subject.encode())
            await bus.js.publish(subject, sealed, headers={"Citywatch-Key": sealer.key_id})
            await bus.js.publish(subject, b"\xff not sealed")
        finally:
            await bus.close()

    asyncio.run(garbage())
    (login,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert (login.messages, login.processed) == (published.events + 2, published.events)
    assert login.dead_letters == 2
    (again,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert again.messages == 0, "terminated, never delivered again"
    run_worker(settings, "correlate", once=True)
    with city_store(settings) as store:  # the raw records are sealed with the bus key
        letters = store.dead_letters()
    assert sorted(letter.code for letter in letters) == ["bad-message", "bad-message"]
    assert all(letter.stage == "bus" and letter.format == "portal.access" for letter in letters)
    assert {letter.source for letter in letters} == {
        f"{bus_config.subject_prefix}.events.portal.access"
    }
    assert b"\xff not sealed" in {letter.raw for letter in letters}
    assert sorted(letter.reason for letter in letters) == [
        "not a valid event: Expected `float`, got `str` - at `$.@timestamp`",
        "not a valid event: not sealed (no Citywatch-Key header)",
    ]
    assert stored(settings) == {
        k: v for k, v in embedded(settings, portal).items() if v[0] == "login-abuse"
    }


def test_a_message_that_is_not_a_detection_becomes_a_dead_letter_once(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, _ = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)

    async def garbage() -> None:
        bus = await JetStreamBus.connect(nats_url, bus_config)
        try:
            await bus.js.publish(bus.subjects.detections, b'{"id": "det-x", "severity": "high"}')
        finally:
            await bus.close()

    asyncio.run(garbage())
    correlate, dead = run_worker(settings, "correlate", once=True)
    assert (correlate.messages, correlate.processed, correlate.dead_letters) == (1, 0, 1)
    assert dead.messages == 0
    with city_store(settings) as store:
        (letter,) = store.dead_letters()
        assert store.detections() == []
    assert (letter.stage, letter.format, letter.code) == ("bus", "detection", "bad-message")
    assert letter.source == bus_config.subject_prefix + ".detections"
    assert letter.raw == b'{"id": "det-x", "severity": "high"}'
    assert letter.reason.startswith("not a valid detection: ")
    again, _ = run_worker(settings, "correlate", once=True)
    assert again.messages == 0, "acked with its checkpoint, never delivered again"
    with open_store(settings.store) as store:
        assert len(store.dead_letters()) == 1


def test_a_worker_needs_a_bus_and_enabled_detectors(tmp_path: Path, nats_url: str) -> None:
    alone = load_settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="bus_url: no bus"):
        run_worker(alone, "detect", once=True)
    settings = load_settings(data_dir=tmp_path, bus_url=nats_url, disabled=["quake"])
    with pytest.raises(ConfigError, match="not an enabled detector: quake, nope"):
        run_worker(settings, "detect", detectors=["quake", "nope"], once=True)


def test_a_second_worker_for_the_same_detector_waits_for_the_first(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    # Two replicas of one detector's worker each took about half of the messages into a state
    # of its own: an attacker's 160 login attempts became two detections of 42 and 26.
    settings, _, published = portal_on_the_bus(tmp_path, city, nats_url, bus_config)
    consumer = f"consumer {Subjects.of(bus_config).events_stream}/detect-login-abuse"
    with open_store(settings.store) as store:
        first = store.claim(consumer)  # a worker at work on it
        assert first is not None
        with pytest.raises(ConfigError, match="detect-login-abuse: another worker runs it"):
            run_worker(settings, "detect", detectors=["login-abuse"], once=True)
        first.release()
    (alone,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert alone.processed == published.events


def test_a_consumer_removed_and_made_again_starts_after_the_checkpoint(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    # Removed (as a BusError advises when a filter changed), it was made again from the
    # stream's start: every event came again into the restored state, 1,561 "late" dead
    # letters, and those still within the lateness handled twice.
    settings, _, published = portal_on_the_bus(tmp_path, city, nats_url, bus_config)
    (first,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert first.processed == published.events

    async def remove() -> None:
        bus = await JetStreamBus.connect(nats_url, bus_config, bus_sealer(settings))
        try:
            await bus.js.delete_consumer(bus.subjects.events_stream, "detect-login-abuse")
        finally:
            await bus.close()

    asyncio.run(remove())
    (again,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert again.resumed and again.messages == 0, "nothing the checkpoint holds comes again"
    with open_store(settings.store) as store:
        assert not [d for d in store.dead_letters(limit=10_000) if d.code == "late"]


def test_messages_checkpointed_but_not_acked_before_a_crash_are_not_counted_twice(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    settings, portal, published = portal_on_the_bus(tmp_path, city, nats_url, bus_config)
    (login,) = [d for d in build_detectors({}, []) if d.name == "login-abuse"]

    async def crash_after_checkpoint() -> int:
        """Handle two batches and checkpoint them, then die before acking."""
        bus = await JetStreamBus.connect(nats_url, bus_config, bus_sealer(settings))
        try:
            with open_store(settings.store) as store:
                part = DetectPart(bus, login, store, lateness_s=settings.lateness_s)
                subscription = await bus.consumer(part.stream, part.consumer, part.subject)
                handled = []
                for _ in range(2):
                    handled += await part.handle(await bus.fetch(subscription, 2.0))
                part.save(handled, set())
                await subscription.unsubscribe()
                return len(handled)
        finally:
            await bus.close()

    before = asyncio.run(crash_after_checkpoint())
    assert before == 2 * bus_config.batch < published.events
    (after,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert after.resumed
    assert after.messages == published.events, "the unacked batches came again"
    assert after.processed == published.events - before, "…and were not handled again"
    run_worker(settings, "correlate", once=True)
    assert stored(settings) == {
        k: v for k, v in embedded(settings, portal).items() if v[0] == "login-abuse"
    }


def test_a_detector_keyed_by_client_runs_as_one_worker_per_partition(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, specs = city
    split = bus_config.model_copy(update={"partitions": 2})
    settings = settings_for(tmp_path, out, nats_url, split)
    trusted = InputSpec(format="http-jsonl", path=out / "portal.http.jsonl", learn=True)
    inputs = [trusted, *[s for s in specs if s.format == "access-log"]]
    published = publish(settings, inputs)
    learning = published.learning
    keyed = ["sigma", "web-attacks"]
    halves = [
        run_worker(settings, "detect", detectors=keyed, partition=(p, 2), once=True) for p in (0, 1)
    ]
    assert [s.consumer for s in halves[1]] == ["detect-sigma-1of2", "detect-web-attacks-1of2"]
    for one, other in zip(*halves, strict=True):  # each learns from all, analyses its share
        assert learning < one.processed < learning + published.events
        assert one.processed + other.processed == 2 * learning + published.events
        assert one.learned == other.learned == learning
    (login,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert login.processed == 2 * learning + published.events, "it reads every partition"
    # and learns from each trusted event once, not once per partition's copy
    assert login.learned == learning
    run_worker(settings, "correlate", once=True)
    expected = embedded(settings, inputs)
    assert {d for d, _, _ in expected.values()} >= {*keyed, "login-abuse"}
    assert stored(settings) == {
        k: v for k, v in expected.items() if v[0] in {*keyed, "login-abuse"}
    }


def test_only_a_detector_keyed_on_the_partition_key_can_be_partitioned(
    tmp_path: Path, nats_url: str, bus_config: BusConfig
) -> None:
    split = bus_config.model_copy(update={"partitions": 2})
    settings = load_settings(data_dir=tmp_path, bus_url=nats_url, bus=split)
    with pytest.raises(ConfigError, match="login-abuse needs all its events in one place"):
        run_worker(settings, "detect", detectors=["login-abuse"], partition=(0, 2))
    with pytest.raises(ConfigError, match="portal-profile needs all its events in one place"):
        run_worker(settings, "detect", detectors=["sigma", "portal-profile"], partition=(0, 2))
    with pytest.raises(ConfigError, match=r"0/3: the bus has 2 partitions"):
        run_worker(settings, "detect", detectors=["sigma"], partition=(0, 3))
    by_device = split.model_copy(update={"partition_key": "device.id"})
    other = load_settings(data_dir=tmp_path, bus_url=nats_url, bus=by_device)
    with pytest.raises(ConfigError, match=r"sigma keys its state on source\.pseudonym"):
        run_worker(other, "detect", detectors=["sigma"], partition=(1, 2))
    with pytest.raises(ConfigError, match="partition_key: Value error, not an event field"):
        load_settings(data_dir=tmp_path, bus={"partition_key": "venue"})


def test_events_rest_on_the_bus_sealed_and_a_worker_with_another_key_stops(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, _ = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)
    logins = InputSpec(format="http-jsonl", path=out / "portal.http.jsonl")
    raw = logins.path.read_bytes()
    private = [b"username=milos.djordjevic13", b"password="]
    assert all(s in raw for s in private), "the input has accounts and passwords"
    published = publish(settings, [logins])

    async def stream_bytes() -> bytes:
        bus = await JetStreamBus.connect(nats_url, bus_config)
        try:
            names = bus.subjects
            sub = await bus.js.pull_subscribe(names.all_events, stream=names.events_stream)
            data = b""
            while messages := await bus.fetch(sub, 1.0):
                data += b"".join(m.data for m in messages)
            return data
        finally:
            await bus.close()

    on_the_bus = asyncio.run(stream_bytes())
    assert len(on_the_bus) > published.events * 100
    assert not any(s in on_the_bus for s in [*private, b"milos", b"portal.http", b"POST"])

    other = settings.model_copy(
        update={"bus": bus_config.model_copy(update={"key": SecretStr("ab" * 32)})}
    )
    with pytest.raises(
        BusError, match=r"was sealed with bus key \w+, this worker has \w+: give it the publishers'"
    ):
        run_worker(other, "detect", detectors=["login-abuse"], once=True)
    (login,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    assert login.processed == published.events, "the other key's worker discarded nothing"


def test_workers_learn_from_the_learning_inputs_first_as_analyse_does(
    tmp_path: Path, city: tuple[Path, list[InputSpec]], nats_url: str, bus_config: BusConfig
) -> None:
    out, _ = city
    settings = settings_for(tmp_path, out, nats_url, bus_config)
    inputs = [
        InputSpec(format="access-log", path=out / "portal-access.log", learn=True),
        InputSpec(format="http-jsonl", path=out / "portal.http.jsonl"),
    ]
    expected = {k: v for k, v in embedded(settings, inputs).items() if v[0] == "portal-profile"}
    assert len(expected) > 50, "the profile flags what it did not learn"
    published = publish(settings, inputs)
    assert published.learning == sum(published.stats.learned.values()) > 4000
    (profile,) = run_worker(settings, "detect", detectors=["portal-profile"], once=True)
    assert profile.processed == published.learning + published.events
    run_worker(settings, "correlate", once=True)
    assert stored(settings) == expected


def test_a_worker_whose_claim_was_dropped_takes_it_again_or_stops_without_saving(
    tmp_path: Path,
    nats_url: str,
    bus_config: BusConfig,
    postgres_url: str,
    drop_claim_connection: Callable[[str, str], None],
) -> None:
    # A worker's claim in PostgreSQL lives on a connection of its own. When the server
    # dropped it (a restart) the worker ran on, and a second worker started then ran the
    # same consumer beside it: each held half of the stream in a state of its own.
    settings = load_settings(
        data_dir=tmp_path, bus_url=nats_url, bus=bus_config, store_url=postgres_url
    )
    (login,) = build_detectors(settings.detectors, [n for n in DETECTORS if n != "login-abuse"])

    async def scenario() -> None:
        bus = await JetStreamBus.connect(nats_url, bus_config, bus_sealer(settings))
        try:
            with open_store(postgres_url) as store, open_store(postgres_url) as other:
                part = DetectPart(bus, login, store, lateness_s=settings.lateness_s)
                name = f"consumer {part.stream}/{part.consumer}"
                claim = store.claim(name)
                assert claim is not None
                guard = _Guard(part, claim)
                guard.check()
                assert guard.claim is claim
                drop_claim_connection(postgres_url, name)
                guard.check()  # no other worker took it, nor saved since: taken again
                assert guard.claim is not claim and guard.claim.held()
                drop_claim_connection(postgres_url, name)
                rival = other.claim(name)
                assert rival is not None
                with pytest.raises(StoreError, match="another worker holds it: stopping"):
                    guard.check()
                other.save_states({f"{part.prefix}high": msgspec.msgpack.encode(7)})
                rival.release()
                with pytest.raises(StoreError, match="checkpointed it since"):
                    guard.check()  # the rival ran the consumer and stopped: its state rules
                again = other.claim(name)
                assert again is not None, "the stopped worker let go"
                again.release()
        finally:
            await bus.close()

    asyncio.run(scenario())


def test_a_running_worker_says_how_far_it_has_come_and_what_waits(
    tmp_path: Path,
    city: tuple[Path, list[InputSpec]],
    nats_url: str,
    bus_config: BusConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker ran for hours without a word: whether it kept up was seen only on the server.
    settings, _, published = portal_on_the_bus(tmp_path, city, nats_url, bus_config)
    monkeypatch.setattr(consume_module, "PROGRESS_S", 0.0)  # a line at every checkpoint
    with structlog.testing.capture_logs() as logs:
        (stats,) = run_worker(settings, "detect", detectors=["login-abuse"], once=True)
    progress = [e for e in logs if e["event"] == "consumer_progress"]
    assert progress, [e["event"] for e in logs]
    assert {e["consumer"] for e in progress} == {"detect-login-abuse"}
    assert progress[-1]["messages"] == stats.messages == published.events
    assert progress[-1]["backlog"] == 0
    assert [e["messages"] for e in progress] == sorted(e["messages"] for e in progress)
