"""The bus of the scale-out mode: NATS JetStream streams, publishing, durable pull consumers.

How the work is split across machines (the lead's design decision):
**functional partitioning by detector.** Detectors key their state on
different entities (portal: client, account, session; IoT: device; crowd:
venue; quake: region; social: place), so no single partition key of the
events can serve them all. Instead:

1. a publisher (``citywatch analyse --bus nats://…``) parses and enriches
   (pseudonymises) the input and publishes each enriched event, in the
   model's own JSON sealed with ``bus.key`` (:mod:`citywatch.bus.seal`), on
   ``cw.events.<dataset>``, its id as the message id
   (JetStream drops a second copy within ``bus.duplicate_window_s``); bad
   input goes to ``cw.dead-letters``, sealed too;
2. a detector worker (``citywatch worker --detectors a,b``) runs each of its
   detectors on a **durable pull consumer** named after the detector and
   filtered on the datasets it reads, so every detector sees every event of
   its datasets and its per-entity state is whole. It acks after the event is
   processed *and* checkpointed (at least once), in event time with the
   pipeline's watermark and lateness rule; its detections go to
   ``cw.detections``;
3. the correlator worker (``citywatch worker --role correlate``) consumes
   ``cw.detections`` and ``cw.dead-letters`` and writes detections, incidents
   and dead letters to the store, where ``citywatch serve`` shows them; after
   each store write it sends a notice on ``cw.live.<kind>`` (core NATS, kept
   by no stream), which a ``citywatch serve`` on the bus turns into its live
   feed (:mod:`citywatch.scaleout.live`).

A message that cannot be decoded becomes a dead letter with the reason and is
terminated (``term``): never redelivered for ever, never a crash.

nats-py is asyncio; this module is the only one that talks to it, and it
turns its errors into :class:`~citywatch.errors.BusError`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable

import msgspec
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    PubAck,
    StorageType,
    StreamConfig,
)

from citywatch.bus.config import EVENT_FIELDS, BusConfig
from citywatch.bus.seal import KEY_HEADER, Sealer, SealError
from citywatch.bus.subjects import Subjects, partition
from citywatch.errors import BusError, masked_url
from citywatch.model import DeadLetter, Detection, Event
from citywatch.model.deadletter import RAW_LIMIT

_log = structlog.get_logger(__name__)
_encode = msgspec.json.Encoder().encode
_MSG_ID = "Nats-Msg-Id"
LEARN_HEADER = "Citywatch-Learn"
"""Marks an event to learn normal behaviour from (``analyse --learn``), not to analyse."""
_NATS_ERRORS = (nats.errors.Error, OSError)
"""What nats-py raises for a failed request (its timeouts are ``OSError`` s too)."""


def detection_msg_id(payload: bytes, detection: Detection) -> str:
    """A detection's message id: its id and a digest of this revision's content."""
    return f"{detection.id}/{hashlib.blake2b(payload, digest_size=8).hexdigest()}"


def dead_letter_msg_id(letter: DeadLetter) -> str:
    """A dead letter's message id: a digest of what it says (not of when it was made).

    A late event's reason is left out: each detector worker measures the lateness on its
    own clock ("21296 s behind", "21299 s"), and one record turned back by seven
    detectors is one dead letter, not seven.
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(f"{letter.stage}|{letter.source}|{letter.position}|{letter.code}|".encode())
    if letter.code != "late":
        h.update(letter.reason.encode())
    h.update(letter.raw)
    return h.hexdigest()


def poison(msg: Msg, what: str, exc: Exception, fmt: str = "") -> DeadLetter:
    """The dead letter for a message on the bus that is not a valid ``what`` (of format ``fmt``).

    Its source is the subject, its position the stream sequence.
    """
    return DeadLetter(
        source=msg.subject,
        position=msg.metadata.sequence.stream,
        stage="bus",
        format=fmt or what,
        code="bad-message",
        reason=f"not a valid {what}: {exc}",
        raw=bytes(msg.data[:RAW_LIMIT]),
        received=msg.metadata.timestamp.timestamp(),
    )


class JetStreamBus:
    """One connection to a NATS server with JetStream, and the citywatch streams on it."""

    def __init__(
        self, client: Client, url: str, config: BusConfig, sealer: Sealer | None = None
    ) -> None:
        self.client = client
        self.sealer = sealer
        """Seals and opens events; None in a process that handles none (the correlator)."""
        self.js: JetStreamContext = client.jetstream()
        self.url = masked_url(url)
        """The server's address, without its password (for messages and logs)."""
        self.config = config
        self.subjects = Subjects.of(config)
        self._key = EVENT_FIELDS[config.partition_key]

    @classmethod
    async def connect(
        cls,
        url: str,
        config: BusConfig,
        sealer: Sealer | None = None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> JetStreamBus:
        """Connect (reconnecting for ever once connected) and create or update the streams.

        ``on_reconnect`` is awaited each time the connection comes back after a loss:
        core NATS messages sent meanwhile (the live notices) were not kept.
        Raises :class:`BusError` when the server cannot be reached within
        ``connect_timeout_s`` or has no JetStream.
        """
        problems: list[str] = []
        shown = masked_url(url)

        async def error(exc: Exception) -> None:
            problems.append(str(exc) or type(exc).__name__)
            _log.warning("bus_connection_error", url=shown, error=problems[-1])

        async def reconnected() -> None:
            _log.warning("bus_reconnected", url=shown)
            if on_reconnect is not None:
                await on_reconnect()

        try:
            client = await asyncio.wait_for(
                nats.connect(
                    url,
                    connect_timeout=config.connect_timeout_s,
                    max_reconnect_attempts=-1,
                    error_cb=error,
                    reconnected_cb=reconnected,
                ),
                timeout=config.connect_timeout_s,
            )
        except (TimeoutError, *_NATS_ERRORS) as exc:
            why = problems[-1] if problems else str(exc) or type(exc).__name__
            raise BusError(f"cannot reach the NATS server ({why})", url=url) from exc
        bus = cls(client, url, config, sealer)
        try:
            await bus._streams()
        except BaseException:
            await client.close()
            raise
        return bus

    async def close(self) -> None:
        """Send what is buffered, then close the connection."""
        try:
            await self.client.drain()
        except _NATS_ERRORS as exc:
            _log.warning("bus_close_failed", url=self.url, error=str(exc))

    async def _streams(self) -> None:
        names = self.subjects
        for name, subject in (
            (names.events_stream, names.all_events),
            (names.detections_stream, names.detections),
            (names.dead_stream, names.dead_letters),
        ):
            config = StreamConfig(
                name=name,
                subjects=[subject],
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                max_age=self.config.max_age_s,
                duplicate_window=self.config.duplicate_window_s,
            )
            try:
                try:
                    await self.js.add_stream(config)
                except nats.js.errors.BadRequestError:  # there, with other settings
                    await self.js.update_stream(config)
            except nats.errors.NoRespondersError as exc:
                raise BusError(
                    "JetStream is not enabled on the server (-js)", url=self.url
                ) from exc
            except _NATS_ERRORS as exc:
                raise BusError(f"cannot create stream {name}: {exc}", url=self.url) from exc

    # -- publishing -----------------------------------------------------------------------

    async def _publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        try:
            return await self.js.publish_async(subject, payload, headers=headers)
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot publish on {subject}: {exc}", url=self.url) from exc

    async def publish_event(self, event: Event) -> asyncio.Future[PubAck]:
        """Publish an enriched event on its dataset's subject; await the future for the ack.

        On a partitioned bus, the subject ends in the partition of the event's
        ``bus.partition_key`` field.
        """
        names = self.subjects
        part = 0
        if names.partitions > 1:
            value = getattr(event, self._key)
            part = partition(None if value is None else str(value), names.partitions)
        return await self._publish_sealed(event, names.events(event.dataset, part), {})

    async def publish_learning(self, event: Event) -> list[asyncio.Future[PubAck]]:
        """Publish a trusted event to learn from (``--learn``), to every partition.

        Its message id is not the analysed event's, so both are kept.
        """
        names = self.subjects
        return [
            await self._publish_sealed(
                event, names.events(event.dataset, part), {LEARN_HEADER: "1"}
            )
            for part in range(names.partitions)
        ]

    async def _publish_sealed(
        self, event: Event, subject: str, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        sealer = self._sealer()
        plain = _encode(event)
        sealed = sealer.seal(plain, subject.encode())
        # the id and the content: a batch published twice is kept once, and another record
        # that reuses an id (a second source's numbering) is not taken for a repeat
        msg_id = f"{event.id}#{hashlib.blake2b(plain, digest_size=8).hexdigest()}"
        if headers:
            msg_id = f"learn/{subject}/{msg_id}"
        headers = {**headers, _MSG_ID: msg_id, KEY_HEADER: sealer.key_id}
        return await self._publish(subject, sealed, headers)

    @staticmethod
    def learning(msg: Msg) -> bool:
        """The message is an event to learn from, not to analyse."""
        return LEARN_HEADER in (msg.headers or {})

    def opened(self, msg: Msg) -> bytes:
        """The JSON sealed in a message (an event, a dead letter); :class:`SealError` when it
        is not one sealed here.

        Raises :class:`BusError` when it was sealed with another key: the worker
        is configured wrong, and the message must stay for one that is not.
        """
        sealer = self._sealer()
        key_id = (msg.headers or {}).get(KEY_HEADER)
        if key_id is None:
            raise SealError(f"not sealed (no {KEY_HEADER} header)")
        if key_id != sealer.key_id:
            raise BusError(
                f"{msg.subject} #{msg.metadata.sequence.stream} was sealed with bus key {key_id},"
                f" this worker has {sealer.key_id}: give it the publishers' bus.key",
                url=self.url,
            )
        return sealer.open(msg.data, msg.subject.encode())

    def _sealer(self) -> Sealer:
        if self.sealer is None:
            raise BusError("events are sealed, and this process has no bus key", url=self.url)
        return self.sealer

    async def publish_detection(self, detection: Detection) -> asyncio.Future[PubAck]:
        """Publish one revision of a detection."""
        payload = _encode(detection)
        msg_id = detection_msg_id(payload, detection)
        return await self._publish(self.subjects.detections, payload, {_MSG_ID: msg_id})

    async def publish_dead_letter(self, letter: DeadLetter) -> asyncio.Future[PubAck]:
        """Publish a dead letter, sealed: its raw record may be a login with its password."""
        sealer, subject = self._sealer(), self.subjects.dead_letters
        sealed = sealer.seal(_encode(letter), subject.encode())
        headers = {_MSG_ID: dead_letter_msg_id(letter), KEY_HEADER: sealer.key_id}
        return await self._publish(subject, sealed, headers)

    async def settle(self, pending: Iterable[asyncio.Future[PubAck]]) -> int:
        """Wait for the server to store what was published; how many it dropped as duplicates.

        Raises :class:`BusError` if it refused one or did not answer.
        """
        try:
            acks = await asyncio.gather(*pending)
        except (TimeoutError, *_NATS_ERRORS) as exc:
            raise BusError(f"a message was not stored: {exc}", url=self.url) from exc
        return sum(1 for ack in acks if ack.duplicate)

    # -- notices: core NATS, kept by no stream ---------------------------------------------

    async def notify(self, subject: str, payload: bytes) -> None:
        """Send a notice to whoever listens now (none listening: it is gone).

        A notice that cannot be sent is logged, not raised: what it tells of is stored.
        """
        try:
            await self.client.publish(subject, payload)
        except _NATS_ERRORS as exc:
            _log.warning("bus_notice_lost", subject=subject, error=str(exc))

    async def listen(self, subject: str, handler: Callable[[Msg], Awaitable[None]]) -> Subscription:
        """Call ``handler`` with every notice on ``subject`` (a filter) from now on."""
        try:
            return await self.client.subscribe(subject, cb=handler)
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot listen on {subject}: {exc}", url=self.url) from exc

    # -- consuming ------------------------------------------------------------------------

    async def consumer(
        self, stream: str, name: str, filter_subject: str, after: int = 0
    ) -> JetStreamContext.PullSubscription:
        """Bind to the durable pull consumer ``name`` on ``stream``, creating it if need be,
        to deliver what comes after stream sequence ``after`` (what the worker's checkpoint
        already holds: a consumer removed and made again does not replay it).

        One worker owns a consumer. If the last one died holding messages, they
        would come again only after ``ack_wait_s``, behind newer ones, and be
        late: so the consumer is made again to deliver everything after its ack
        floor, in stream order (what was handled and checkpointed but not acked
        is recognised by the worker and not handled twice).

        Raises :class:`BusError` when it exists with another filter: its position
        belongs to other subjects, so it is not silently reused.
        """
        try:
            try:
                info = await self.js.consumer_info(stream, name)
            except nats.js.errors.NotFoundError:
                if after:
                    _log.warning("consumer_created_after_checkpoint", consumer=name, after=after)
                config = self._consumer_config(name, filter_subject, after)
                await self.js.add_consumer(stream, config)
            else:
                found = info.config.filter_subject
                if found != filter_subject:
                    raise BusError(
                        f"consumer {name} of {stream} reads {found!r}, not {filter_subject!r};"
                        f" remove it to start it anew (nats consumer rm {stream} {name})",
                        url=self.url,
                    )
                if info.num_ack_pending:
                    floor = info.ack_floor.stream_seq if info.ack_floor else 0
                    _log.warning("consumer_reclaimed", consumer=name, after=floor)
                    await self.js.delete_consumer(stream, name)
                    config = self._consumer_config(name, filter_subject, floor)
                    await self.js.add_consumer(stream, config)
            return await self.js.pull_subscribe_bind(durable=name, stream=stream)
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot open consumer {name} of {stream}: {exc}", url=self.url) from exc

    def _consumer_config(self, name: str, filter_subject: str, after: int) -> ConsumerConfig:
        """A durable pull consumer delivering the messages after stream sequence ``after``."""
        return ConsumerConfig(
            durable_name=name,
            filter_subject=filter_subject,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if after else DeliverPolicy.ALL,
            opt_start_seq=after + 1 if after else None,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.config.ack_wait_s,
            max_ack_pending=self.config.max_unacked * 2,
        )

    async def fetch(
        self, subscription: JetStreamContext.PullSubscription, wait: float
    ) -> list[Msg]:
        """Up to ``batch`` messages, waiting at most ``wait`` seconds; none when idle."""
        try:
            return await subscription.fetch(self.config.batch, timeout=wait)
        except TimeoutError:  # nats-py's own, or asyncio's: nothing came
            return []
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot fetch: {exc}", url=self.url) from exc

    async def backlog(self, subscription: JetStreamContext.PullSubscription) -> int:
        """Messages of the consumer not yet acked: not yet delivered, or delivered and in hand.

        Those in the hands of a worker that died come again after ``ack_wait_s``.
        """
        try:
            info = await subscription.consumer_info()
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot read a consumer's state: {exc}", url=self.url) from exc
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    async def ack_floor(self, subscription: JetStreamContext.PullSubscription) -> int:
        """The stream sequence up to which every message of the consumer is acked."""
        try:
            info = await subscription.consumer_info()
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot read a consumer's state: {exc}", url=self.url) from exc
        return info.ack_floor.stream_seq if info.ack_floor else 0

    async def ack(self, messages: list[Msg]) -> None:
        """Acknowledge ``messages``; returns when the server has them all.

        The server takes a consumer's acks in order, so the last one waits for its answer.
        A lost connection is waited for (``outage_s``), then the acks not yet sent go again:
        a busy worker rides out a short outage, as an idle one does.
        """
        if not messages:
            return
        deadline = asyncio.get_running_loop().time() + self.config.outage_s
        while True:
            try:
                for msg in messages[:-1]:
                    if not msg.is_acked:
                        await msg.ack()
                await messages[-1].ack_sync(timeout=self.config.connect_timeout_s)
                return
            except _NATS_ERRORS as exc:
                if not await self._reconnected(deadline, "ack", exc):
                    raise BusError(
                        f"cannot ack: {exc} (the connection did not come back within"
                        f" {self.config.outage_s:.0f} s)",
                        url=self.url,
                    ) from exc

    async def _reconnected(self, deadline: float, doing: str, exc: Exception) -> bool:
        """Wait until the client is connected again (True) or ``deadline`` passes (False)."""
        loop = asyncio.get_running_loop()
        _log.warning("bus_waiting", url=self.url, doing=doing, error=str(exc) or type(exc).__name__)
        while loop.time() < deadline:
            await asyncio.sleep(0.25)
            if self.client.is_connected:
                return True
        return False

    async def term(self, msg: Msg) -> None:
        """Tell the server never to deliver ``msg`` again (it is a dead letter now)."""
        try:
            await msg.term()
        except _NATS_ERRORS as exc:
            raise BusError(f"cannot terminate a message: {exc}", url=self.url) from exc
