"""One durable consumer's loop: fetch, handle, checkpoint, ack; stop cleanly.

A worker runs one loop per consumer it owns, and one worker owns a consumer
(a detector's state must see every event of its datasets). Messages are acked
only after the state they changed is checkpointed in the store (every
``bus.checkpoint_s`` seconds, every ``bus.max_unacked`` messages, when idle and
when stopping), so a worker killed at any point resumes from its last
checkpoint and the messages after it come again: nothing is lost.

Nor is anything counted twice: with the state, in the same transaction, a
checkpoint keeps the stream sequences of the messages it is about to ack, and
the dead letters they made. If the worker dies after the checkpoint but before
the server has the acks, those messages come again; the next worker finds them
in the checkpoint and acks them without handling them (nor storing their dead
letters again). A crash during the checkpoint leaves the last one whole, state
and sequences alike, and its messages come again to be handled once (saved
apart, a state could hold a batch that its sequences did not name, and the batch
would be handled twice). A running worker also gets copies of messages it holds
or has just acked: the server redelivers what was not acked within
``ack_wait_s`` (a slow batch), and a delivery can wait in the client's queue
until its copy comes too, or until after the ack. :class:`Handled` knows them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod

import msgspec
import structlog
from nats.aio.msg import Msg

from citywatch.bus.jetstream import JetStreamBus
from citywatch.errors import ConfigError, StoreError
from citywatch.model import DeadLetter
from citywatch.store import Store
from citywatch.store.claims import Claim

_log = structlog.get_logger(__name__)
_FETCH_WAIT_S = 1.0
"""How long one fetch waits for messages: also how long a stop request may wait."""
_CLAIM_S = 5.0
"""Seconds between tries to claim a consumer another worker holds."""
PROGRESS_S = 60.0
"""Seconds between a worker's progress lines (what it did, what waits for it)."""


class ConsumerStats(msgspec.Struct, kw_only=True):
    """What one consumer did in this run."""

    consumer: str
    messages: int = 0
    processed: int = 0
    """Messages it decoded and handled (the rest were dead letters or handled before)."""
    dead_letters: int = 0
    learned: int = 0
    """Events it learned from (``--learn``), once each."""
    published: int = 0
    """Detections (or incidents) it sent on."""
    resumed: bool = False
    """It started from a checkpoint."""


class Handled:
    """The stream sequences this consumer must not handle again when they come back.

    Those the last checkpoint was about to ack (found on resuming after a crash) and
    those handled and held for the next checkpoint: a copy of one is acked with the
    rest. And those acked within ``horizon_s``: a copy of one is dropped, as the server
    has its ack.
    """

    def __init__(self, resumed: set[int], horizon_s: float) -> None:
        self.resumed = resumed
        self.held: set[int] = set()
        self.horizon_s = horizon_s
        self._acked: dict[int, float] = {}  # sequence -> when acked, oldest first

    def sort(self, messages: list[Msg]) -> tuple[list[Msg], list[Msg]]:
        """(the messages to handle, the copies to ack without handling them)."""
        fresh: list[Msg] = []
        copies: list[Msg] = []
        batch: set[int] = set()  # a delivery left waiting in the client's queue past
        for msg in messages:  # ack_wait comes with its redelivery, in one fetch
            seq = msg.metadata.sequence.stream
            if seq in self._acked:
                continue
            if seq in batch or seq in self.held or seq in self.resumed:
                copies.append(msg)
            else:
                batch.add(seq)
                fresh.append(msg)
        return fresh, copies

    def acked(self, seqs: list[int], now: float) -> None:
        """``seqs`` were acked at ``now``; forget what was acked before the horizon."""
        self.held.clear()
        self.resumed.difference_update(seqs)
        acked = self._acked
        for seq in seqs:
            acked[seq] = now
        horizon = now - self.horizon_s
        while acked:
            seq, at = next(iter(acked.items()))
            if at >= horizon:
                break
            del acked[seq]


class Part(ABC):
    """The work behind one durable consumer; its checkpoint is in ``store``, named ``prefix…``."""

    def __init__(
        self, bus: JetStreamBus, store: Store, *, consumer: str, stream: str, subject: str
    ) -> None:
        self.bus = bus
        self.store = store
        self.stream = stream
        self.subject = subject
        self.prefix = f"worker/{consumer}/"
        self.stats = ConsumerStats(consumer=consumer)
        self._high = self.high()

    @property
    def saved_high(self) -> int:
        """The highest stream sequence this part's own last checkpoint holds."""
        return self._high

    @property
    def consumer(self) -> str:
        """The durable consumer's name."""
        return self.stats.consumer

    @abstractmethod
    async def handle(self, messages: list[Msg]) -> list[Msg]:
        """Process a batch; the messages to ack at the next checkpoint (the rest were termed)."""

    @abstractmethod
    def states(self) -> dict[str, bytes]:
        """The state the handled messages changed, by name, to save with their sequences."""

    def dead_letters(self) -> tuple[str, list[DeadLetter]]:
        """The dead letters the handled messages made, and the run to store them under: stored
        in the checkpoint's transaction (most parts keep all they make in their states)."""
        return "", []

    async def finish(self) -> None:  # noqa: B027 - a hook: most parts have nothing open
        """The input has ended (``--once``): close what is open."""

    async def saved(self) -> None:  # noqa: B027 - a hook: most parts say nothing of it
        """A checkpoint was saved and its messages acked."""

    def high(self) -> int:
        """The highest stream sequence a checkpoint holds (0: none yet)."""
        blob = self.store.load_state(f"{self.prefix}high")
        return 0 if blob is None else msgspec.msgpack.decode(blob, type=int)

    def acking(self) -> set[int]:
        """The stream sequences the last checkpoint was about to ack (handled, maybe not acked)."""
        blob = self.store.load_state(f"{self.prefix}acking")
        return set() if blob is None else set(msgspec.msgpack.decode(blob, type=list[int]))

    def save(self, messages: list[Msg], handled: set[int]) -> None:
        """Checkpoint the state and the sequences of ``messages`` (about to be acked), in one
        transaction.

        ``handled`` are those of the last checkpoint not come again yet: they are kept.
        """
        seqs = [msg.metadata.sequence.stream for msg in messages] + sorted(handled)
        self._high = max(self._high, *seqs) if seqs else self._high
        acking = {
            f"{self.prefix}acking": msgspec.msgpack.encode(seqs),
            f"{self.prefix}high": msgspec.msgpack.encode(self._high),
        }
        run_id, letters = self.dead_letters()
        self.store.save_states(self.states() | acking, run_id=run_id, dead_letters=letters)


async def consume(part: Part, stop: asyncio.Event, *, once: bool) -> ConsumerStats:
    """Run ``part`` on its consumer until ``stop`` is set (or, ``once``, its backlog is done).

    One worker runs a consumer: another that holds it is waited for (``once``: an error).
    """
    claim = await _claim(part, stop, once=once)
    if claim is None:
        return part.stats
    guard = _Guard(part, claim)
    try:
        return await _consume(part, stop, once=once, guard=guard)
    finally:
        guard.claim.release()


def _claim_name(part: Part) -> str:
    return f"consumer {part.stream}/{part.consumer}"


async def _claim(part: Part, stop: asyncio.Event, *, once: bool) -> Claim | None:
    """``part``'s consumer, claimed in the store the workers share, once no other worker
    holds it (None: stopped while waiting)."""
    name = _claim_name(part)
    while not stop.is_set():
        claim = part.store.claim(name)
        if claim is not None:
            return claim
        if once:
            raise ConfigError(
                "another worker runs it: one worker per detector (a worker not run --once"
                " waits for the other to stop)",
                where=part.consumer,
            )
        _log.warning("consumer_held_by_another_worker", consumer=part.consumer, waiting_s=_CLAIM_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=_CLAIM_S)
    return None


class _Guard:
    """The worker's claim on its consumer, made sure of before each checkpoint.

    A PostgreSQL claim lives on a connection of its own; when the server drops it (a
    restart), another worker may take the consumer. Before saving, a lost claim is taken
    again if no other worker holds it and the store's checkpoint is still this worker's
    own; otherwise the worker stops without saving (a :class:`StoreError`): its unacked
    messages come again to whichever worker runs the consumer, from that one's checkpoint.
    """

    def __init__(self, part: Part, claim: Claim) -> None:
        self.part = part
        self.claim = claim

    def check(self) -> None:
        """Return when the claim is held; raise when it was lost to another worker."""
        if self.claim.held():
            return
        part = self.part
        self.claim.release()
        again = part.store.claim(_claim_name(part))
        if again is not None and part.high() == part.saved_high:
            _log.warning("consumer_claim_taken_again", consumer=part.consumer)
            self.claim = again
            return
        if again is not None:
            again.release()
        raise StoreError(
            f"{part.consumer}: the store let go of this worker's claim on its consumer (its"
            " connection dropped) and another worker "
            + ("holds it" if again is None else "checkpointed it since")
            + ": stopping without saving; its unacked messages come again to the worker that"
            " runs the consumer"
        )


async def _consume(part: Part, stop: asyncio.Event, *, once: bool, guard: _Guard) -> ConsumerStats:
    bus = part.bus
    config = bus.config
    subscription = await bus.consumer(part.stream, part.consumer, part.subject, part.high())
    floor = await bus.ack_floor(subscription)  # at or below: acked, never delivered again
    # A copy may come until its pull request expires, after a redelivery (ack_wait): keep
    # the acked sequences for longer than both.
    done = Handled(
        {seq for seq in part.acking() if seq > floor},
        horizon_s=2 * (config.ack_wait_s + _FETCH_WAIT_S),
    )
    unacked: list[Msg] = []
    last = reported = time.monotonic()
    try:
        while not stop.is_set():
            messages = await bus.fetch(subscription, _FETCH_WAIT_S)
            if messages:
                part.stats.messages += len(messages)
                messages, copies = done.sort(messages)
                unacked += copies
                handled = await part.handle(messages) if messages else []
                done.held.update(m.metadata.sequence.stream for m in handled)
                unacked += handled
            due = time.monotonic() - last >= config.checkpoint_s
            if unacked and (not messages or due or len(unacked) >= config.max_unacked):
                await _save(part, unacked, done, guard)
                unacked, last = [], time.monotonic()
                if last - reported >= PROGRESS_S:
                    reported = last
                    backlog = await bus.backlog(subscription)
                    _log.info(
                        "consumer_progress", backlog=backlog, **msgspec.to_builtins(part.stats)
                    )
            if once and not messages and await bus.backlog(subscription) == 0:
                await part.finish()
                break
        await _save(part, unacked, done, guard)
    finally:
        await subscription.unsubscribe()
    _log.info("consumer_stopped", consumer=part.consumer, messages=part.stats.messages)
    return part.stats


async def _save(part: Part, unacked: list[Msg], done: Handled, guard: _Guard) -> None:
    """Checkpoint, then ack ``unacked`` (the resumed sequences not come again yet are kept),
    while the worker still holds its consumer."""
    guard.check()
    part.save(unacked, done.resumed)
    await part.bus.ack(unacked)
    await part.saved()
    done.acked([m.metadata.sequence.stream for m in unacked], time.monotonic())
