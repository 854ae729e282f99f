"""One durable consumer's loop: fetch, handle, checkpoint, ack; stop cleanly.

A worker runs one loop per consumer it owns. Messages are acked only after
the state they changed is checkpointed (every ``bus.checkpoint_s`` seconds,
every ``bus.max_unacked`` messages, when idle and when stopping), so a worker
killed at any point resumes from its last checkpoint and the messages after
it are delivered again: nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod

import msgspec
import structlog
from nats.aio.msg import Msg

from citywatch.bus.jetstream import JetStreamBus

_log = structlog.get_logger(__name__)
_FETCH_WAIT_S = 1.0
"""How long one fetch waits for messages: also how long a stop request may wait."""


class ConsumerStats(msgspec.Struct, kw_only=True):
    """What one consumer did in this run."""

    consumer: str
    messages: int = 0
    processed: int = 0
    """Messages it decoded and handled (the rest were dead letters)."""
    dead_letters: int = 0
    published: int = 0
    """Detections (or incidents) it sent on."""
    resumed: bool = False
    """It started from a checkpoint."""


class Part(ABC):
    """The work behind one durable consumer."""

    def __init__(self, bus: JetStreamBus, *, consumer: str, stream: str, subject: str) -> None:
        self.bus = bus
        self.stream = stream
        self.subject = subject
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


async def consume(part: Part, stop: asyncio.Event, *, once: bool) -> ConsumerStats:
    """Run ``part`` on its consumer until ``stop`` is set (or, ``once``, its backlog is done)."""
    bus = part.bus
    config = bus.config
    subscription = await bus.consumer(part.stream, part.consumer, part.subject)
    unacked: list[Msg] = []
    last = time.monotonic()
    try:
        while not stop.is_set():
            messages = await bus.fetch(subscription, _FETCH_WAIT_S)
            if messages:
                part.stats.messages += len(messages)
                unacked += await part.handle(messages)
            due = time.monotonic() - last >= config.checkpoint_s
            if unacked and (not messages or due or len(unacked) >= config.max_unacked):
                part.checkpoint()
                await bus.ack(unacked)
                unacked, last = [], time.monotonic()
            if once and not messages and await bus.backlog(subscription) == 0:
                await part.finish()
                break
        part.checkpoint()
        await bus.ack(unacked)
    finally:
        await subscription.unsubscribe()
    _log.info("consumer_stopped", consumer=part.consumer, messages=part.stats.messages)
    return part.stats
