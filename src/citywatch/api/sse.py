"""Live updates to browsers and tools as Server-Sent Events.

The pipeline calls :meth:`Broadcaster.publish` from its ingesting thread,
and the API's routes after a person's change is stored (:mod:`citywatch.api.changes`);
each connected client has a bounded queue on its event loop. A client that
falls behind loses updates rather than slowing ingestion, and is told so
with a ``resync`` event (re-read the lists) once it catches up; every client
is told the same at once when the server's source of updates had a gap (an
API server on the bus that lost its connection to NATS for a while).

>>> frame(7, "incident", {"id": "inc-1"})
b'id: 7\\nevent: incident\\ndata: {"id":"inc-1"}\\n\\n'
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator

import msgspec

from citywatch.live import LiveUpdate

_encode = msgspec.json.Encoder().encode


def frame(seq: int, event: str, data: object) -> bytes:
    """One SSE frame; JSON has no raw newlines, so one ``data:`` line suffices."""
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, event.encode(), _encode(data))


class Client:
    """One stream's queue, fed from any thread through its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, kinds: frozenset[str]) -> None:
        self.loop = loop
        self.kinds = kinds
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=size)
        self.lost = 0

    def put(self, item: bytes) -> None:
        """Queue a frame (on the client's loop); count it as lost when the queue is full."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.lost += 1


class Broadcaster:
    """Fans live updates out to every connected stream client."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._clients: set[Client] = set()
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def connect(self, kinds: frozenset[str] = frozenset()) -> Client:
        """Register a client on the running loop; ``kinds`` filters (empty: every kind)."""
        client = Client(asyncio.get_running_loop(), self.queue_size, kinds)
        with self._lock:
            self._clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        """Stop sending to ``client`` (idempotent)."""
        with self._lock:
            self._clients.discard(client)

    @property
    def clients(self) -> int:
        """How many streams are connected."""
        return len(self._clients)

    def resync(self) -> None:
        """Tell every client to re-read the lists (updates were missed upstream); any thread."""
        with self._lock:
            targets = list(self._clients)
        self._send(targets, frame(0, "resync", {"lost": None}))

    def publish(self, update: LiveUpdate) -> None:
        """Send ``update`` to every client that wants its kind; safe from any thread.

        The frame's data is ``{"id", "data"}``, and ``"change"`` (who did what) when a
        person made the update.
        """
        with self._lock:
            targets = [c for c in self._clients if not c.kinds or update.kind in c.kinds]
            seq = next(self._seq)
        if not targets:
            return
        body: dict[str, object] = {"id": update.id, "data": update.data}
        if update.change is not None:
            body["change"] = update.change
        self._send(targets, frame(seq, update.kind, body))

    def _send(self, targets: list[Client], payload: bytes) -> None:
        """Queue ``payload`` on each client's own loop; forget those whose loop is closed."""
        for client in targets:
            try:
                client.loop.call_soon_threadsafe(client.put, payload)
            except RuntimeError:  # its loop is closed: the client is gone
                self.disconnect(client)


async def stream(client: Client, heartbeat_s: float) -> AsyncIterator[bytes]:
    """The frames for one client: updates, ``resync`` after losses, and keep-alive comments."""
    yield b"retry: 3000\n: connected\n\n"
    while True:
        try:
            item = await asyncio.wait_for(client.queue.get(), timeout=heartbeat_s)
        except TimeoutError:
            yield b": keep-alive\n\n"
            continue
        if client.lost:
            lost, client.lost = client.lost, 0
            yield frame(0, "resync", {"lost": lost})
        yield item
