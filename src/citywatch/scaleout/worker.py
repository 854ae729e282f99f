"""``citywatch worker``: compose a worker's parts from the settings and run them until stopped.

A worker's role is ``detect`` (the named detectors, default every enabled
one, each on its consumer) or ``correlate`` (detections into incidents, and
dead letters, into the store). SIGINT and SIGTERM stop it cleanly: each part
finishes the batch in hand, checkpoints, acks and unsubscribes; then the
connection is drained.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from citywatch.app import (
    bus_sealer,
    city_map,
    city_store,
    job_detectors,
    playbook_runner,
    start_run,
)
from citywatch.bus import LocalBus
from citywatch.bus.jetstream import JetStreamBus
from citywatch.config import Settings
from citywatch.detect import Detector
from citywatch.errors import CitywatchError, ConfigError
from citywatch.scaleout.consume import ConsumerStats, Part, consume
from citywatch.scaleout.correlate import CorrelatePart, DeadLetterPart, Notices
from citywatch.scaleout.detect import DetectPart
from citywatch.store import Store

Role = Literal["detect", "correlate"]


def run_worker(
    settings: Settings,
    role: Role,
    *,
    detectors: Sequence[str] = (),
    partition: tuple[int, int] | None = None,
    once: bool = False,
    command: str = "worker",
) -> list[ConsumerStats]:
    """Run a worker of ``role`` until SIGINT/SIGTERM (or, ``once``, until its backlog is done).

    ``partition`` (p, N) runs the detectors on partition p of the bus's N only.
    Raises :class:`ConfigError` without a bus, for a detector that is not
    enabled or cannot be partitioned, :class:`~citywatch.errors.BusError` when
    the bus fails.
    """
    if not settings.bus_url:
        raise ConfigError("no bus to work on: set it (nats://HOST:PORT)", where="bus_url")
    chosen = _detectors(settings, detectors) if role == "detect" else []
    if partition is not None:
        _check_partition(settings, chosen, partition)
    part = None if partition is None else partition[0]
    return asyncio.run(_run(settings, role, chosen, part, once, command))


async def _run(
    settings: Settings,
    role: Role,
    chosen: Sequence[Detector],  # type: ignore[type-arg]
    part: int | None,
    once: bool,
    command: str,
) -> list[ConsumerStats]:
    # events and dead letters are sealed: a detector opens events, the correlator dead letters
    bus = await JetStreamBus.connect(settings.bus_url, settings.bus, bus_sealer(settings))
    stop = asyncio.Event()
    try:
        store = city_store(settings)
        try:
            if role == "detect":
                city = city_map(settings)
                parts: list[Part] = [
                    DetectPart(
                        bus,
                        d,
                        store,
                        lateness_s=settings.lateness_s,
                        max_ahead_s=settings.max_ahead_s,
                        part=part,
                        city=city,
                    )
                    for d in chosen
                ]
                return await _consume_all(parts, stop, once)
            return await _correlate(settings, bus, store, stop, once, command)
        finally:
            store.close()
    finally:
        await bus.close()


async def _correlate(
    settings: Settings,
    bus: JetStreamBus,
    store: Store,
    stop: asyncio.Event,
    once: bool,
    command: str,
) -> list[ConsumerStats]:
    sinks = LocalBus()
    names = bus.subjects
    run_id = start_run(
        sinks,
        store,
        kind="worker",
        command=command,
        inputs=[f"{bus.url}/{names.detections}", f"{bus.url}/{names.dead_letters}"],
        runner=playbook_runner(settings, store),
    )
    notices = Notices(bus, sinks)  # after the store: a notice follows its write
    correlate = CorrelatePart(bus, sinks, store, settings.correlate, notices, run_id)
    dead = DeadLetterPart(bus, store, notices, run_id)
    stats = await _consume_all([correlate, dead], stop, once)
    flat = {"incidents": len(correlate.correlator), "notices": notices.sent}
    for part in stats:
        flat[f"messages.{part.consumer}"] = part.messages
        flat[f"dead_letters.{part.consumer}"] = part.dead_letters
    store.finish_run(run_id, datetime.now(tz=UTC), flat)
    return stats


async def _consume_all(
    parts: Sequence[Part], stop: asyncio.Event, once: bool
) -> list[ConsumerStats]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(consume(part, stop, once=once)) for part in parts]
    except ExceptionGroup as failed:  # one part failed, the others were cancelled
        ours = [e for e in failed.exceptions if isinstance(e, CitywatchError)]
        if ours:
            raise ours[0] from failed
        raise
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return [task.result() for task in tasks]


def _detectors(settings: Settings, names: Sequence[str]) -> list[Detector]:  # type: ignore[type-arg]
    enabled = {d.name: d for d in job_detectors(settings)}
    unknown = [n for n in names if n not in enabled]
    if unknown:
        raise ConfigError(
            f"not an enabled detector: {', '.join(unknown)} (enabled: {', '.join(enabled)})",
            where="--detectors",
        )
    return [enabled[n] for n in names] if names else list(enabled.values())


def _check_partition(
    settings: Settings,
    chosen: Sequence[Detector],  # type: ignore[type-arg]
    partition: tuple[int, int],
) -> None:
    part, count = partition
    key, partitions = settings.bus.partition_key, settings.bus.partitions
    if count != partitions or not 0 <= part < count:
        raise ConfigError(
            f"{part}/{count}: the bus has {partitions} partitions (bus.partitions),"
            f" numbered 0 to {partitions - 1}",
            where="--partition",
        )
    for detector in chosen:
        if detector.partition_key != key:
            why = (
                "needs all its events in one place"
                if detector.partition_key is None
                else f"keys its state on {detector.partition_key}"
            )
            raise ConfigError(
                f"{detector.name} {why}, and the bus partitions events by {key}"
                " (bus.partition_key): run it without --partition",
                where="--partition",
            )
