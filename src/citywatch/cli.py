"""The ``citywatch`` command."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO, cast

import msgspec
import structlog
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from citywatch import __version__
from citywatch.app import Analysis, analyse, city_store
from citywatch.city import CITY_FILE
from citywatch.cli_console import console, err
from citywatch.cli_crawlers import crawlers_app
from citywatch.cli_options import ConfigOpt, DataDirOpt
from citywatch.cli_prune import prune_cmd
from citywatch.cli_rules import rules_app
from citywatch.cli_social import social_app
from citywatch.cli_worker import BusOpt, print_destination, print_published, worker_cmd
from citywatch.config import Settings, load_settings
from citywatch.detect.social import SocialEvents
from citywatch.errors import CitywatchError, masked_url
from citywatch.ingest.mqtt import MqttStats, MqttSubscriber, merged_config
from citywatch.live import open_live
from citywatch.model import Incident
from citywatch.pipeline import InputSpec, heap
from citywatch.plugins import describe

if TYPE_CHECKING:
    from citywatch.simulate import Manifest

app = typer.Typer(
    name="citywatch",
    help="Security and public-safety operations for cities.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _main(
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="more logs")] = 0,
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _Stderr())),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            # a plain traceback: the default (rich's) prints every frame's local variables,
            # an officer's password at login and the store URL's among them
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ],
    )


class _Stderr:
    """Whatever ``sys.stderr`` is when a log line is written, not when logging was set up
    (a command run in-process, as tests run them, leaves a closed stream behind)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory")],
    seed: Annotated[int, typer.Option(help="random seed: same seed, same city")] = 1,
    hours: Annotated[float, typer.Option(help="hours of traffic")] = 6.0,
) -> None:
    """Generate the synthetic city, its traffic and ground truth, in real formats."""
    from citywatch.simulate import simulate  # noqa: PLC0415 - the simulator loads only to simulate

    with console.status("simulating the city…"):
        manifest = simulate(seed, out, hours=hours)
    _print_manifest(manifest, out)


def _check_outputs(outputs: dict[str, Path | None], specs: list[InputSpec]) -> None:
    """Refuse, before any work, an output file that cannot be written or would overwrite an
    input or another output."""
    taken = {spec.path.resolve(): f"the input {spec.path}" for spec in specs}
    for flag, path in outputs.items():
        if path is None:
            continue
        where = path.resolve()
        if where in taken:
            raise typer.BadParameter(f"{path} is {taken[where]}", param_hint=flag)
        taken[where] = f"the output of {flag}"
        if where.is_dir():
            raise typer.BadParameter(f"{path} is a directory, not a file", param_hint=flag)
        if not where.parent.is_dir():
            raise typer.BadParameter(f"no such directory: {path.parent}", param_hint=flag)
        if not os.access(where if where.exists() else where.parent, os.W_OK):
            raise typer.BadParameter(f"{path} cannot be written", param_hint=flag)


@app.command("analyse")
def analyse_cmd(
    inputs: Annotated[list[str], typer.Option("--in", help="FORMAT:PATH to analyse (repeatable)")],
    learn: Annotated[
        list[str] | None,
        typer.Option("--learn", help="FORMAT:PATH of normal traffic to learn from (repeatable)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write detections as JSONL")
    ] = None,
    incidents: Annotated[
        Path | None, typer.Option("--incidents", help="write incidents as JSONL")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="storage URL (sqlite:///PATH, postgresql://…)")
    ] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="keep nothing in a store")] = False,
    annotate: Annotated[
        Path | None,
        typer.Option("--annotate", help="write every post's verdict (high-risk, place…) as JSONL"),
    ] = None,
    bus: BusOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Analyse files: every detector, incidents, dead letters; results to files and the store.

    With a bus (``--bus`` or the ``bus_url`` setting), only read, enrich and
    publish the events: ``citywatch worker`` s detect and correlate.
    """
    settings = load_settings(config, data_dir=data_dir, store_url=db, bus_url=bus)
    if settings.bus_url:
        embedded_only = {"-o": output, "--incidents": incidents, "--annotate": annotate}
        for flag, value in embedded_only.items():
            if value:
                raise typer.BadParameter("not with a bus: the workers detect", param_hint=flag)
        from citywatch.scaleout import publish  # noqa: PLC0415 - nats loads only for the bus

        specs = [InputSpec.parse(s, learn=True) for s in learn or []]
        specs += [InputSpec.parse(s) for s in inputs]
        with err.status(f"publishing to {masked_url(settings.bus_url)}…"):
            published = publish(settings, specs)
        print_published(published, masked_url(settings.bus_url))
        return
    if no_store and db is not None:
        raise typer.BadParameter("--db names a store, --no-store keeps none", param_hint="--db")
    specs = [InputSpec.parse(s, learn=True) for s in learn or []]
    specs += [InputSpec.parse(s) for s in inputs]
    _check_outputs({"-o": output, "--incidents": incidents, "--annotate": annotate}, specs)
    if annotate is not None:
        wanted = {**settings.detectors.get(SocialEvents.name, {}), "annotate": True}
        settings = settings.model_copy(
            update={"detectors": {**settings.detectors, SocialEvents.name: wanted}}
        )
    analysis = _run(settings, specs, "analyse", store=not no_store)
    for spec in specs:
        if spec.learn and not analysis.job.learns(spec.format):
            note = f"no detector learns from {spec.format} records: {spec.source} was read"
            err.print(f"note: {note} for nothing")
    if output is not None:
        _write_jsonl(output, analysis.job.detections())
    if annotate is not None:
        social = [r.detector for r in analysis.job.runners if isinstance(r.detector, SocialEvents)]
        notes = list(social[0].annotations.values()) if social else []
        _write_jsonl(annotate, notes)
        langs = social[0].languages.most_common() if social else []
        console.print(
            f"annotated {len(notes):,} posts into {annotate}; by language: "
            + (", ".join(f"{lang} {n:,}" for lang, n in langs) or "none")
        )
    found = analysis.job.incidents()
    if incidents is not None:
        _write_incidents(incidents, found, analysis.alerts)
    kept = [str(incidents)] if incidents is not None else []
    if not no_store:
        kept.append(_IN_STORE)
    _print_summary(analysis, found, " and ".join(kept) or "--incidents FILE (not written)")


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option(help="seed of the synthetic city")] = 1,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="exit after the summary (no API server)")
    ] = False,
    host: Annotated[str, typer.Option(help="address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port the API listens on")] = 8000,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Simulate the city, learn its portal's day before, run every detector into the store,
    show the incidents, then serve them."""
    from citywatch.simulate import simulate  # noqa: PLC0415 - as in simulate_cmd
    from citywatch.simulate.iot.write import with_inventory  # noqa: PLC0415

    settings = load_settings(config, data_dir=data_dir)
    city = settings.data_dir / "city" / f"seed-{seed}"
    with console.status(f"simulating the city (seed {seed})…"):
        manifest = simulate(seed, city)
    _print_manifest(manifest, city)
    settings = settings.model_copy(
        update={
            "detectors": with_inventory(settings.detectors, city),
            "city_map": city / CITY_FILE,
        }
    )
    specs = [
        *(InputSpec(format=i.format, path=city / i.path, learn=True) for i in manifest.learn),
        *(InputSpec(format=i.format, path=city / i.path) for i in manifest.inputs),
    ]
    analysis = _run(settings, specs, f"demo --seed {seed}", store=True)
    _print_summary(analysis, analysis.job.incidents(), _IN_STORE)
    console.print(f"store: [bold]{masked_url(settings.store)}[/]")
    if not no_serve:
        from citywatch.api import serve  # noqa: PLC0415 - the web stack loads only to serve

        serve(settings, host=host, port=port, announce=_announce)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate: serve HTTPS")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key")] = None,
    bus: BusOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Serve the operations API (and live ingest) on the store; creates an admin if none.

    With a bus (``--bus`` or the ``bus_url`` setting), what it ingests goes out on
    the bus, and its live feed follows what ``citywatch worker --role correlate`` stores.
    """
    from citywatch.api import serve  # noqa: PLC0415 - the web stack loads only for this command

    settings = load_settings(config, data_dir=data_dir, bus_url=bus)
    serve(
        settings,
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        announce=_announce,
    )


def _announce(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("plugins")
def plugins_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON with config schemas")] = False,
) -> None:
    """List adapters, detectors and actions with their config schemas."""
    infos = describe()
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(infos)).decode() + "\n")
        return
    table = Table(title="citywatch plug-ins")
    for column in ("kind", "name", "description", "config", "origin"):
        table.add_column(column)
    for info in infos:
        props = info.config_schema.get("properties", {})
        table.add_row(info.kind, info.name, info.description, ", ".join(props) or "-", info.origin)
    console.print(table)
    kinds = {i.kind for i in infos}
    for kind in ("adapters", "detectors", "actions"):
        if kind not in kinds:
            console.print(f"[dim]{kind}: none registered[/]")


@app.command("version")
def version_cmd() -> None:
    """Print the version."""
    console.print(__version__)


app.command("worker")(worker_cmd)
app.command("prune")(prune_cmd)

ingest_app = typer.Typer(
    name="ingest", help="Ingest a live source into the store until stopped.", no_args_is_help=True
)
app.add_typer(ingest_app)
app.add_typer(rules_app)
app.add_typer(crawlers_app)
app.add_typer(social_app)


@ingest_app.command("mqtt")
def ingest_mqtt_cmd(
    topics: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", help="topic filter, e.g. 'city/+/+/telemetry' (repeatable; default: config)"
        ),
    ] = None,
    host: Annotated[str | None, typer.Option(help="broker host (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="broker port (default 1883)")] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="MQTT client id; keep it stable: the broker holds messages for it"),
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="stop after this many seconds (default: at Ctrl-C)")
    ] = None,
    bus: BusOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Subscribe to MQTT telemetry and analyse it live into the store; Ctrl-C stops.

    With a bus (``--bus`` or the ``bus_url`` setting), publish it for the workers instead.
    """
    settings = load_settings(config, data_dir=data_dir, bus_url=bus)
    mqtt = merged_config(
        settings.mqtt,
        topics=tuple(topics) if topics else None,
        host=host,
        port=port,
        client_id=client_id,
    )
    stop = threading.Event()
    store = None if settings.bus_url else city_store(settings)
    try:
        live = open_live(
            settings, store, command="ingest mqtt", inputs=[f"mqtt:{t}" for t in mqtt.topics]
        )
        subscriber = MqttSubscriber(mqtt, live)
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            subscriber.start()
            where = f"mqtt://{mqtt.host}:{mqtt.port}"
            if subscriber.wait_connected(5.0 if seconds is None else min(5.0, seconds)):
                console.print(
                    f"listening on {where} to {', '.join(mqtt.topics)} as {mqtt.client_id}"
                    " (Ctrl-C stops)"
                )
            else:
                problem = subscriber.stats().last_error or "no answer yet"
                err.print(f"[yellow]not connected to {where} ({problem}); retrying…[/]")
            deadline = None if seconds is None else time.monotonic() + seconds
            while not stop.wait(0.2):
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            final: MqttStats = subscriber.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        live.close()
    finally:
        if store is not None:
            store.close()
    table = Table(title="MQTT ingestion", title_justify="left")
    table.add_column("count")
    table.add_column("", justify="right")
    for label, value in (
        ("messages", final.messages),
        ("batches", final.batches),
        ("events", final.accepted),
        ("dead letters", final.dead_letters),
        ("empty payloads", final.empty),
        ("failed batches", final.failed_batches),
        ("reconnects", final.reconnects),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    print_destination(settings)


def _run(settings: Settings, specs: list[InputSpec], command: str, *, store: bool) -> Analysis:
    total = sum(s.path.stat().st_size for s in specs if s.path.is_file())
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    target = city_store(settings) if store else None
    try:
        with progress:
            task = progress.add_task("analysing", total=total)
            return analyse(
                settings,
                specs,
                target,
                command=command,
                progress=lambda n: progress.advance(task, n),
            )
    finally:
        if target is not None:
            target.close()


def _write_jsonl(path: Path, items: Sequence[msgspec.Struct]) -> None:
    encoder = msgspec.json.Encoder()
    with path.open("wb") as fh:
        for item in items:
            fh.write(encoder.encode(item) + b"\n")


def _write_incidents(
    path: Path, incidents: Sequence[Incident], alerts: dict[str, list[str]]
) -> None:
    """Incidents as JSONL, each with the CAP identifiers of the alerts drafted for it."""
    encoder = msgspec.json.Encoder()
    with path.open("wb") as fh:
        for incident in incidents:
            fields = msgspec.to_builtins(incident)
            fields["alerts"] = alerts.get(incident.id, [])
            fh.write(encoder.encode(fields) + b"\n")


def _print_manifest(manifest: Manifest, where: Path) -> None:
    city = msgspec.json.decode((where / manifest.city).read_bytes(), type=_CityFile)
    console.print(
        f"[bold]{city.properties.get('city', 'the city')}[/] simulated (seed {manifest.seed}, "
        f"{manifest.start:%Y-%m-%d %H:%M}–{manifest.end:%H:%M}) in {where}: "
        + ", ".join(f"{i.format}:{i.path}" for i in [*manifest.inputs, *manifest.also])
        + "".join(f"; normal traffic to learn from: {i.format}:{i.path}" for i in manifest.learn)
    )


class _CityFile(msgspec.Struct):
    properties: dict[str, object]


_LISTED = 20
"""Incidents the summary lists, the most severe: more is a wall of text, not a summary."""
_IN_STORE = "the store (citywatch serve)"
"""Where a run's incidents are, when it kept a store."""


_TURNED_BACK = ("late", "future", "enrich-failed")
"""Dead-letter codes of events the pipeline took from an adapter but did not analyse."""


def _print_summary(analysis: Analysis, incidents: Sequence[Incident], kept: str) -> None:
    """What was read, what went dead, what was found; ``kept`` says where all the incidents
    are (the summary lists only the most severe)."""
    stats = analysis.stats
    table = Table(title="records read", title_justify="left")
    for column in ("input", "records", "events", "dead letters"):
        table.add_column(column, justify="right" if column != "input" else "left")
    for source, records in sorted(stats.records.items()):
        dead = sum(n for k, n in stats.dead_letters.items() if k.rsplit(" ", 1)[0] == source)
        events = stats.events.get(source, 0) + stats.learned.get(source, 0)
        # the adapter's events, less those the pipeline turned back (so events + dead = records)
        events -= sum(stats.dead_letters.get(f"{source} {code}", 0) for code in _TURNED_BACK)
        table.add_row(source, f"{records:,}", f"{events:,}", f"{dead:,}")
    console.print(table)
    if stats.dead_letters:
        dead_table = Table(title="dead letters", title_justify="left")
        dead_table.add_column("source and reason")
        dead_table.add_column("count", justify="right")
        for key, n in stats.dead_letters.most_common():
            dead_table.add_row(key, f"{n:,}")
        console.print(dead_table)
    if stats.plugin_errors:
        console.print(f"[red]plug-in errors[/]: {dict(stats.plugin_errors)}")
    detections = ", ".join(f"{k}: {v}" for k, v in stats.detections.most_common()) or "none"
    console.print(f"detections: {detections}")
    more = len(incidents) - _LISTED
    table = Table(
        title=f"incidents ({len(incidents)})",
        title_justify="left",
        caption=f"the {_LISTED} most severe; all {len(incidents):,} are in {kept}"
        if more > 0
        else None,
        caption_justify="left",
    )
    table.add_column("sev", justify="right")
    table.add_column("category")
    table.add_column("title", min_width=36, ratio=1)
    table.add_column("detections", justify="right")
    table.add_column("event time (UTC)")
    for inc in incidents[:_LISTED]:  # most severe first (Correlator.incidents)
        table.add_row(
            str(inc.severity),
            inc.category,
            inc.title,
            str(len(inc.detections)),
            f"{inc.first_seen:%Y-%m-%d %H:%M}–{inc.last_seen:%H:%M}",
        )
    console.print(table)


def main() -> None:
    """Entry point: run the app, turning citywatch errors into a message and exit code 2."""
    heap.own()  # one job per process: its heap may settle (citywatch.pipeline.heap)
    try:
        app()
    except CitywatchError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from exc
