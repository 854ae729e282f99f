"""The in-process bus of the embedded mode: typed topics, synchronous delivery.

Stages publish batches to topics; subscribers get each batch in
subscription order. A subscriber that raises is reported and isolated; the
others still get the batch. The scale-out bus (NATS JetStream) keeps the
same topics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Topic(Generic[T]):
    """A named stream of one record type."""

    name: str


Handler = Callable[[Sequence[T]], None]


class LocalBus:
    """Delivers published batches to the subscribers of a topic, in process."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callable[[Sequence[object]], None]]] = {}
        self.errors: dict[str, int] = {}

    def subscribe(self, topic: Topic[T], handler: Handler[T]) -> None:
        """Deliver every batch published on ``topic`` to ``handler``."""
        self._subscribers.setdefault(topic.name, []).append(handler)  # type: ignore[arg-type]

    def publish(self, topic: Topic[T], items: Sequence[T]) -> None:
        """Hand ``items`` to every subscriber of ``topic``; a failing one is logged and counted."""
        if not items:
            return
        for handler in self._subscribers.get(topic.name, ()):
            try:
                handler(items)
            except Exception:
                name = getattr(handler, "__qualname__", repr(handler))
                self.errors[name] = self.errors.get(name, 0) + 1
                _log.exception("bus_subscriber_failed", topic=topic.name, handler=name)
