"""One durable consumer's loop: fetch, handle, checkpoint, ack; stop cleanly.

A worker runs one loop per consumer it owns, and one worker owns a consumer
(a detector's state must see every event of its datasets). Messages are acked
only after the state they changed is checkpointed in the store (every
``bus.checkpoint_s`` seconds, every ``bus.max_unacked`` messages, when idle and
when stopping), so a worker killed at any point resumes from its last
checkpoint and the messages after it come again: nothing is lost.

Nor is anything counted twice: with the state, a checkpoint keeps the stream
sequences of the messages it is about to ack. If the worker dies after the
checkpoint but before the server has the acks, those messages come again; the
next worker finds them in the checkpoint and acks them without handling them.
(The state is saved before the sequences, so a crash between the two handles
the batch twice rather than losing it.)
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod

import msgspec
import structlog
from nats.aio.msg import Msg

from citywatch.bus.jetstream import JetStreamBus
from citywatch.store import Store

_log = structlog.get_logger(__name__)
_FETCH_WAIT_S = 1.0
"""How long one fetch waits for messages: also how long a stop request may wait."""


class ConsumerStats(msgspec.Struct, kw_only=True):
    """What one consumer did in this run."""

    consumer: str
    messages: int = 0
    processed: int = 0
    """Messages it decoded and handled (the rest were dead letters or handled before)."""
    dead_letters: int = 0
    published: int = 0
    """Detections (or incidents) it sent on."""
    resumed: bool = False
    """It started from a checkpoint."""


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

    @property
    def consumer(self) -> str:
        """The durable consumer's name."""
        return self.stats.consumer

    @abstractmethod
    async def handle(self, messages: list[Msg]) -> list[Msg]:
        """Process a batch; the messages to ack at the next checkpoint (the rest were termed)."""

    @abstractmethod
    def checkpoint(self) -> None:
        """Save the state the handled messages changed."""

    async def finish(self) -> None:  # noqa: B027 - a hook: most parts have nothing open
        """The input has ended (``--once``): close what is open."""

    async def saved(self) -> None:  # noqa: B027 - a hook: most parts say nothing of it
        """A checkpoint was saved and its messages acked."""

    def acking(self) -> set[int]:
        """The stream sequences the last checkpoint was about to ack (handled, maybe not acked)."""
        blob = self.store.load_state(f"{self.prefix}acking")
        return set() if blob is None else set(msgspec.msgpack.decode(blob, type=list[int]))

    def save(self, messages: list[Msg], handled: set[int]) -> None:
        """Checkpoint the state, then the sequences of ``messages`` (about to be acked).

        ``handled`` are those of the last checkpoint not come again yet: they are kept.
        """
        self.checkpoint()
        seqs = [msg.metadata.sequence.stream for msg in messages] + sorted(handled)
        self.store.save_state(f"{self.prefix}acking", msgspec.msgpack.encode(seqs))


async def consume(part: Part, stop: asyncio.Event, *, once: bool) -> ConsumerStats:
    """Run ``part`` on its consumer until ``stop`` is set (or, ``once``, its backlog is done)."""
    bus = part.bus
    config = bus.config
    subscription = await bus.consumer(part.stream, part.consumer, part.subject)
    floor = await bus.ack_floor(subscription)  # at or below: acked, never delivered again
    handled = {seq for seq in part.acking() if seq > floor}
    unacked: list[Msg] = []
    held: set[int] = set()
    last = time.monotonic()
    try:
        while not stop.is_set():
            messages = await bus.fetch(subscription, _FETCH_WAIT_S)
            if messages:
                part.stats.messages += len(messages)
                # Come again after a crash (``handled``), or redelivered because handling
                # ran past ack_wait while they wait here for a checkpoint (``held``):
                # ack them with the rest, do not handle them twice.
                seen = handled | held if handled else held
                if seen:
                    fresh = [m for m in messages if m.metadata.sequence.stream not in seen]
                    unacked += [m for m in messages if m.metadata.sequence.stream in seen]
                    handled -= {m.metadata.sequence.stream for m in messages}
                    messages = fresh
                done = await part.handle(messages) if messages else []
                held.update(m.metadata.sequence.stream for m in done)
                unacked += done
            due = time.monotonic() - last >= config.checkpoint_s
            if unacked and (not messages or due or len(unacked) >= config.max_unacked):
                part.save(unacked, handled)
                await bus.ack(unacked)
                await part.saved()
                unacked, last = [], time.monotonic()
                held.clear()
            if once and not messages and await bus.backlog(subscription) == 0:
                await part.finish()
                break
        part.save(unacked, handled)
        await bus.ack(unacked)
        await part.saved()
    finally:
        await subscription.unsubscribe()
    _log.info("consumer_stopped", consumer=part.consumer, messages=part.stats.messages)
    return part.stats
