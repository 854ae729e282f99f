"""Composition: settings in, a wired pipeline job and its sinks out.

The CLI, the benchmarks and (later) the API server all build runs here, so
there is one way to go from settings to a running pipeline.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from citywatch.bus import DEAD_LETTERS, DETECTIONS, INCIDENTS, LocalBus
from citywatch.bus.seal import Sealer
from citywatch.city import CityMap
from citywatch.config import Settings
from citywatch.correlate import Correlator
from citywatch.detect import Detector
from citywatch.detect.portal.behaviour import PortalBehaviour
from citywatch.detect.portal.crawlers import RANGES_FILE, CrawlerRanges
from citywatch.enrich import Enricher, Pseudonymiser, load_or_create_key
from citywatch.errors import ConfigError
from citywatch.pipeline import InputSpec, Job, RunStats
from citywatch.pipeline.inputs import Progress
from citywatch.plugins import build_adapters, build_detectors, detector_classes
from citywatch.respond.playbook import load_playbooks
from citywatch.respond.runner import PlaybookRunner
from citywatch.store import RunInfo, Store, open_store
from citywatch.store.base import alerts_by_incident

BUS_KEY_FILE = "bus.key"
"""The data dir's key sealing events on the bus, when ``bus.key`` is not set."""


def pseudonymiser(settings: Settings) -> Pseudonymiser:
    """The pseudonymiser with the configured key, or the data dir's own."""
    if settings.pseudonym_key is not None:
        try:
            key = bytes.fromhex(settings.pseudonym_key.get_secret_value())
        except ValueError:
            raise ConfigError("not a hex string", where="pseudonym_key") from None
        return Pseudonymiser(key)
    return Pseudonymiser(load_or_create_key(settings.data_dir))


def _bus_key(settings: Settings) -> bytes:
    """The configured ``bus.key``, or the data dir's own."""
    if settings.bus.key is None:
        return load_or_create_key(settings.data_dir, BUS_KEY_FILE)
    try:
        key = bytes.fromhex(settings.bus.key.get_secret_value())
    except ValueError:
        raise ConfigError("not a hex string", where="bus.key") from None
    if len(key) < 16:
        raise ConfigError("shorter than 16 bytes", where="bus.key")
    return key


def bus_sealer(settings: Settings) -> Sealer:
    """What seals events on the bus: the configured ``bus.key``, or the data dir's own."""
    return Sealer(_bus_key(settings))


def city_store(settings: Settings) -> Store:
    """The store at ``settings.store``, sealing the raw records of its dead letters with a
    key derived from the bus key (what publishes, detects and serves holds it)."""
    sealer = Sealer(_bus_key(settings), purpose=b"cw-store-raw")
    store = open_store(settings.store)
    store.seal_raw(sealer)
    return store


def build_job(settings: Settings, bus: LocalBus, store: Store | None = None) -> Job:
    """A job with every enabled plug-in, configured from ``settings``.

    With a ``store``, the suppressions in force now keep their detections out of incidents.
    """
    suppressions = store.suppressions(active_at=datetime.now(tz=UTC)) if store else []
    return Job(
        city=city_map(settings),
        adapters=build_adapters(),
        enricher=Enricher(pseudonymiser(settings), settings.enrich),
        detectors=job_detectors(settings),
        correlator=Correlator(settings.correlate, suppressions=suppressions),
        bus=bus,
        lateness_s=settings.lateness_s,
        max_ahead_s=settings.max_ahead_s,
    )


def crawler_ranges_file(settings: Settings) -> Path:
    """Where ``citywatch crawlers refresh`` keeps the search crawlers' ranges and the portal
    reads them: ``detectors.portal-behaviour.crawler_ranges``, else in the data dir."""
    configured = settings.detectors.get(PortalBehaviour.name, {}).get("crawler_ranges")
    return Path(configured) if configured else settings.data_dir / RANGES_FILE


def job_detectors(settings: Settings) -> list[Detector]:  # type: ignore[type-arg]
    """Every enabled detector, configured from ``settings`` and given what the data dir
    keeps for it (the refreshed crawler ranges: :func:`crawler_ranges_file`)."""
    configs, classes = dict(settings.detectors), detector_classes()
    if PortalBehaviour.name in classes:  # (a deployment may register its own set)
        portal: dict[str, Any] = {**configs.get(PortalBehaviour.name, {})}
        portal["crawler_ranges"] = str(crawler_ranges_file(settings))
        configs[PortalBehaviour.name] = portal
    return build_detectors(configs, settings.disabled, classes)


def city_map(settings: Settings) -> CityMap:
    """The city's map: the ``city_map`` setting, else the newest under the data dir (the
    demo's), else an empty one."""
    if settings.city_map is not None:
        return CityMap.load(settings.city_map)
    return CityMap.find(settings.data_dir)


def city_tz(settings: Settings, city: CityMap | None = None) -> tzinfo:
    """The city's time zone: the ``tz`` setting, else the offset of its map (``city``, or
    :func:`city_map`), else UTC."""
    if settings.tz:
        return ZoneInfo(settings.tz)
    return (city or city_map(settings)).tz


def playbook_runner(settings: Settings, store: Store) -> PlaybookRunner:
    """The playbook runner the settings ask for, keeping its runs in ``store``, writing public
    alerts' times in the city's time zone (:func:`city_tz`)."""
    config = settings.respond
    books = load_playbooks(list(config.playbooks), builtin=config.builtin_playbooks)
    return PlaybookRunner(
        books,
        store,
        data_dir=settings.data_dir,
        dry_run=config.dry_run,
        quarantine=config.quarantine,
        cap_sender=config.cap_sender,
        tz=city_tz(settings),
        crawlers=CrawlerRanges.load(crawler_ranges_file(settings)),
        own_networks=tuple(str(n) for n in config.own_networks),
        shared_networks=tuple((str(n), why) for n, why in config.shared_networks.items()),
    )


def start_run(
    bus: LocalBus,
    store: Store,
    *,
    kind: str,
    command: str,
    inputs: Sequence[str],
    runner: PlaybookRunner | None = None,
) -> str:
    """Record a new run in ``store`` and write everything published on ``bus`` to it; its id.

    With a playbook ``runner``, every stored incident goes on to the playbooks it triggers.
    """
    run_id = f"{kind}-{datetime.now(tz=UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    bus.subscribe(DETECTIONS, store.upsert_detections)
    bus.subscribe(INCIDENTS, store.upsert_incidents)
    if runner is not None:
        bus.subscribe(INCIDENTS, runner.start)
    bus.subscribe(DEAD_LETTERS, lambda letters: store.add_dead_letters(run_id, letters))
    store.begin_run(
        RunInfo(id=run_id, command=command, started=datetime.now(tz=UTC), inputs=list(inputs))
    )
    return run_id


@dataclass(frozen=True)
class Analysis:
    """A finished run: its job (detections, incidents) and counters.

    ``run_id`` is the store's run, empty when the run kept no store; ``alerts`` the CAP
    identifiers of the public alerts its playbooks drafted, by incident id.
    """

    run_id: str
    job: Job
    stats: RunStats
    alerts: dict[str, list[str]] = field(default_factory=dict)


def analyse(
    settings: Settings,
    inputs: Sequence[InputSpec],
    store: Store | None,
    *,
    command: str,
    progress: Progress | None = None,
) -> Analysis:
    """Run the pipeline over ``inputs``, recording the run and its results in ``store``."""
    bus = LocalBus()
    job = build_job(settings, bus, store)
    run_id = ""
    if store is not None:
        names = [f"{s.format}:{s.path}" + (" (learn)" if s.learn else "") for s in inputs]
        runner = playbook_runner(settings, store)
        run_id = start_run(bus, store, kind="run", command=command, inputs=names, runner=runner)
    stats = job.run(inputs, progress)
    if store is None:
        return Analysis(run_id=run_id, job=job, stats=stats)
    job.save(store)
    store.finish_run(run_id, datetime.now(tz=UTC), stats.flat())
    return Analysis(run_id=run_id, job=job, stats=stats, alerts=alerts_by_incident(store))
