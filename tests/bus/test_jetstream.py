"""The JetStream bus against a real NATS server: streams, message ids, consumers, errors.

Every test has streams of its own (``bus_config``), deleted after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from nats.aio.msg import Msg
from tests.contracts.test_store_contract import detection, letter

from citywatch.bus.config import BusConfig
from citywatch.bus.jetstream import JetStreamBus
from citywatch.bus.seal import Sealer
from citywatch.config import load_settings
from citywatch.errors import BusError, ConfigError
from citywatch.model import Event
from citywatch.scaleout.consume import Handled, Part, consume
from citywatch.store import open_store

EVENT = Event(id="portal-1:7", timestamp=1772359200.0, dataset="portal.access", source_ip="1.2.3.4")
SEALER = Sealer(b"test-bus-key-" * 3)


def on_bus(
    url: str, config: BusConfig, work: Callable[[JetStreamBus], Awaitable[object]]
) -> object:
    async def run() -> object:
        bus = await JetStreamBus.connect(url, config, SEALER)
        try:
            return await work(bus)
        finally:
            await bus.close()

    return asyncio.run(run())


async def stored(bus: JetStreamBus, stream: str) -> int:
    info = await bus.js.stream_info(stream)
    return info.state.messages


def test_an_event_published_twice_is_stored_once(nats_url: str, bus_config: BusConfig) -> None:
    async def work(bus: JetStreamBus) -> None:
        names = bus.subjects
        first = await bus.settle([await bus.publish_event(EVENT)])
        again = await bus.settle([await bus.publish_event(EVENT), await bus.publish_event(EVENT)])
        assert (first, again) == (0, 2)
        assert await stored(bus, names.events_stream) == 1
        subject = names.events("portal.access")
        msg = await bus.js.get_last_msg(names.events_stream, subject)
        assert b"1.2.3.4" not in (msg.data or b""), "sealed"
        assert (msg.headers or {})["Citywatch-Key"] == SEALER.key_id
        opened = SEALER.open(msg.data or b"", subject.encode())
        assert msgspec.json.decode(opened, type=Event) == EVENT, "the model's own JSON"

    on_bus(nats_url, bus_config, work)


def test_each_new_revision_of_a_detection_is_kept_and_a_replay_is_not(
    nats_url: str, bus_config: BusConfig
) -> None:
    first = detection("det-1")
    grown = detection("det-1", evidence=["ev-1", "ev-2"])

    async def work(bus: JetStreamBus) -> tuple[int, int]:
        pending = [await bus.publish_detection(d) for d in (first, grown, first, grown)]
        duplicates = await bus.settle(pending)
        return duplicates, await stored(bus, bus.subjects.detections_stream)

    assert on_bus(nats_url, bus_config, work) == (2, 2)


def test_dead_letters_that_differ_only_in_when_are_one(
    nats_url: str, bus_config: BusConfig
) -> None:
    bad = letter("portal.log", 3)
    later = msgspec.structs.replace(bad, received=bad.received + 60)
    other = letter("portal.log", 4)

    async def work(bus: JetStreamBus) -> tuple[int, int]:
        pending = [await bus.publish_dead_letter(x) for x in (bad, later, other)]
        return await bus.settle(pending), await stored(bus, bus.subjects.dead_stream)

    assert on_bus(nats_url, bus_config, work) == (1, 2)


def test_a_late_event_turned_back_by_several_detectors_is_one_dead_letter(
    nats_url: str, bus_config: BusConfig
) -> None:
    # Each detector worker wrote its own, differing only in its clock: two or more per record.
    late = msgspec.structs.replace(
        letter("portal.log", 3, "late"), stage="pipeline", reason="event time is 21296 s behind"
    )
    other_clock = msgspec.structs.replace(late, reason="event time is 21299 s behind")

    async def work(bus: JetStreamBus) -> tuple[int, int]:
        pending = [await bus.publish_dead_letter(x) for x in (late, other_clock)]
        return await bus.settle(pending), await stored(bus, bus.subjects.dead_stream)

    assert on_bus(nats_url, bus_config, work) == (1, 1)


def test_a_dead_letter_rests_on_the_bus_sealed(nats_url: str, bus_config: BusConfig) -> None:
    # Events were sealed and their dead letters not: a login that could not be parsed lay on
    # the server's disk with its password for bus.max_age_s.
    login = letter("portal.http.jsonl", 3, raw=b'{"body":"username=ana&password=Tajna123!"')

    async def work(bus: JetStreamBus) -> None:
        names = bus.subjects
        await bus.settle([await bus.publish_dead_letter(login)])
        msg = await bus.js.get_last_msg(names.dead_stream, names.dead_letters)
        assert b"Tajna123!" not in (msg.data or b"")
        assert (msg.headers or {})["Citywatch-Key"] == SEALER.key_id

    on_bus(nats_url, bus_config, work)


def test_a_durable_consumer_keeps_its_place_and_refuses_a_new_filter(
    nats_url: str, bus_config: BusConfig
) -> None:
    async def work(bus: JetStreamBus) -> None:
        names = bus.subjects
        await bus.settle([await bus.publish_event(EVENT)])
        sub = await bus.consumer(names.events_stream, "detect-x", names.events("portal.access"))
        (msg,) = await bus.fetch(sub, 2.0)
        await bus.ack([msg])
        await sub.unsubscribe()
        again = await bus.consumer(names.events_stream, "detect-x", names.events("portal.access"))
        assert await bus.fetch(again, 0.5) == []
        assert await bus.backlog(again) == 0
        await again.unsubscribe()
        with pytest.raises(
            BusError, match=r"detect-x .* reads 'test\.\w+\.events\.portal\.access'"
        ):
            await bus.consumer(names.events_stream, "detect-x", names.all_events)

    on_bus(nats_url, bus_config, work)


def test_an_unreachable_server_is_a_bus_error_saying_so() -> None:
    url = "nats://127.0.0.1:1"  # nothing listens on port 1
    with pytest.raises(
        BusError, match=r"^nats://127\.0\.0\.1:1: cannot reach .*Connect call failed"
    ) as caught:
        asyncio.run(JetStreamBus.connect(url, BusConfig(connect_timeout_s=1.0)))
    assert caught.value.url == url


def test_bus_url_comes_from_the_config_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(data_dir=tmp_path).bus_url == "", "embedded by default"
    prod = tmp_path / "prod.toml"
    prod.write_text('bus_url = "nats://nats.city.internal:4222"\n[bus]\nstream_prefix = "NORTH"\n')
    settings = load_settings(prod)
    assert (settings.bus_url, settings.bus.stream_prefix) == (
        "nats://nats.city.internal:4222",
        "NORTH",
    )
    monkeypatch.setenv("CITYWATCH_BUS_URL", "tls://nats.city.internal:4443")
    assert load_settings(prod).bus_url == "tls://nats.city.internal:4443"
    monkeypatch.setenv("CITYWATCH_BUS_URL", "http://nats.city.internal")
    with pytest.raises(ConfigError, match="bus_url"):
        load_settings(prod)


def test_a_process_without_the_bus_key_cannot_publish_events(
    nats_url: str, bus_config: BusConfig
) -> None:
    async def work() -> None:
        bus = await JetStreamBus.connect(nats_url, bus_config)
        try:
            with pytest.raises(BusError, match="this process has no bus key"):
                await bus.publish_event(EVENT)
        finally:
            await bus.close()

    asyncio.run(work())


def test_messages_redelivered_while_a_slow_batch_waits_for_its_checkpoint_are_handled_once(
    nats_url: str, bus_config: BusConfig, tmp_path: Path
) -> None:
    config = bus_config.model_copy(update={"ack_wait_s": 1.0, "checkpoint_s": 60.0})
    handled: list[int] = []

    class Slow(Part):
        async def handle(self, messages: list[Msg]) -> list[Msg]:
            handled.extend(m.metadata.sequence.stream for m in messages)
            self.stats.processed += len(messages)
            await asyncio.sleep(1.5)  # past ack_wait: the server sends them again
            return messages

        def states(self) -> dict[str, bytes]:
            return {}

    async def work(bus: JetStreamBus) -> None:
        names = bus.subjects
        events = [msgspec.structs.replace(EVENT, id=f"portal-1:{i}") for i in range(5)]
        await bus.settle([await bus.publish_event(e) for e in events])
        store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        part = Slow(
            bus, store, consumer="slow", stream=names.events_stream, subject=names.all_events
        )
        stats = await consume(part, asyncio.Event(), once=True)
        assert stats.messages > 5, "redelivered while waiting for the checkpoint"

    on_bus(nats_url, config, work)
    assert sorted(handled) == sorted(set(handled)) and len(handled) == 5


def delivery(seq: int, delivered: int = 1) -> Msg:
    """A message as JetStream delivers it: its metadata is in the ack subject."""
    reply = f"$JS.ACK.EVENTS.detect-x.{delivered}.{seq}.{seq}.1764150000000000000.0"
    return Msg(_client=None, subject="cw.events.portal.http", reply=reply, data=b"")


def test_copies_of_held_or_resumed_messages_are_acked_and_of_acked_ones_dropped() -> None:
    # A slow batch ran past ack_wait: the server sent copies. A delivery can wait in the
    # client's queue until its copy comes too, or until after the ack.
    done = Handled(resumed={3}, horizon_s=10.0)
    fresh, copies = done.sort(
        [delivery(1), delivery(2), delivery(3, delivered=2), delivery(2, delivered=2)]
    )
    assert (
        [m.metadata.sequence.stream for m in fresh],
        [m.metadata.sequence.stream for m in copies],
    ) == ([1, 2], [3, 2]), "a delivery and its copy in one fetch: handled once"
    done.held.update({1, 2})
    fresh, copies = done.sort([delivery(2, delivered=2), delivery(4)])
    assert (
        [m.metadata.sequence.stream for m in fresh],
        [m.metadata.sequence.stream for m in copies],
    ) == ([4], [2])
    done.acked([1, 2, 3, 2], now=100.0)
    assert (done.held, done.resumed) == (set(), set())
    fresh, copies = done.sort([delivery(1, delivered=2), delivery(5)])
    assert ([m.metadata.sequence.stream for m in fresh], copies) == ([5], []), (
        "the server has its ack"
    )
    done.acked([5], now=111.0)  # 1-3 were acked before the horizon: forgotten
    fresh, _ = done.sort([delivery(1, delivered=3), delivery(5, delivered=2)])
    assert [m.metadata.sequence.stream for m in fresh] == [1]


def test_the_bus_password_is_never_shown(capsys: pytest.CaptureFixture[str]) -> None:
    # A worker's logs and errors printed nats://user:password@… in clear.
    secret = "natsS3cret"
    url = f"nats://cwuser:{secret}@127.0.0.1:1"
    with pytest.raises(BusError) as caught:
        asyncio.run(JetStreamBus.connect(url, BusConfig(connect_timeout_s=1.0)))
    assert secret not in str(caught.value) and caught.value.url == "nats://cwuser:***@127.0.0.1:1"
    out = capsys.readouterr()
    assert secret not in out.out + out.err and "cwuser:***@" in out.out + out.err


class _Hop:
    """A TCP hop to the NATS server that can be cut and put back: a network outage."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.server: asyncio.Server | None = None
        self.links: list[asyncio.StreamWriter] = []

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in self.links:
            writer.close()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.links += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def test_a_busy_worker_rides_out_a_short_outage(nats_url: str, bus_config: BusConfig) -> None:
    # An ack during a reconnect raised "cannot ack: outbound buffer limit exceeded" and the
    # busy worker stopped; an idle one rode the outage out.
    config = bus_config.model_copy(
        update={"ack_wait_s": 60.0, "connect_timeout_s": 1.0, "outage_s": 30.0}
    )

    async def run() -> None:
        hop = _Hop(int(nats_url.rsplit(":", 1)[1]))
        await hop.up()
        bus = await JetStreamBus.connect(f"nats://127.0.0.1:{hop.port}", config, SEALER)
        try:
            names = bus.subjects
            await bus.settle([await bus.publish_event(EVENT)])
            sub = await bus.consumer(names.events_stream, "detect-y", names.events("portal.access"))
            (msg,) = await bus.fetch(sub, 2.0)
            await hop.cut()
            acking = asyncio.create_task(bus.ack([msg]))
            await asyncio.sleep(2.5)  # longer than an ack waits for its answer
            assert not acking.done(), "waiting for the connection, not failed"
            await hop.up()
            await asyncio.wait_for(acking, 20)
            assert await bus.backlog(sub) == 0, "acked"
        finally:
            await bus.close()
            await hop.cut()

    asyncio.run(run())
