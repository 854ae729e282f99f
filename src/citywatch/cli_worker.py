"""``citywatch worker``, and what ``citywatch analyse --bus`` prints: the scale-out mode.

The NATS client loads only when a command uses the bus.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from citywatch.cli_console import console
from citywatch.config import Settings, load_settings
from citywatch.errors import masked_url

if TYPE_CHECKING:
    from citywatch.scaleout import ConsumerStats, Published
    from citywatch.scaleout.worker import Role

ROLES = ("detect", "correlate")


BusOpt = Annotated[
    str | None,
    typer.Option("--bus", help="NATS JetStream bus, nats://HOST:PORT (default: bus_url setting)"),
]


def worker_cmd(
    role: Annotated[
        str, typer.Option("--role", help=f"what to run: {' or '.join(ROLES)}")
    ] = "detect",
    detectors: Annotated[
        str | None,
        typer.Option(
            "--detectors", help="detectors to run, comma-separated (default: every enabled one)"
        ),
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option(
            "--partition",
            help="P/N: only partition P of the bus's N (detectors keyed on bus.partition_key)",
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="the input has ended: process what the bus holds, close what is open, and exit",
        ),
    ] = False,
    bus: BusOpt = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="storage URL for checkpoints and results (sqlite:///…, postgresql://…)"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default ./citywatch.toml)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="data directory (store, keys)")
    ] = None,
) -> None:
    """Work on the NATS JetStream bus (scale-out mode) until Ctrl-C or SIGTERM.

    ``--role detect`` runs detectors on the published events, each on a durable
    consumer, and publishes their detections; ``--role correlate`` turns the
    detections into incidents in the store, with the dead letters.
    """
    from citywatch.scaleout import run_worker  # noqa: PLC0415 - nats loads only for the bus

    if role not in ROLES:
        raise typer.BadParameter(f"expected one of {', '.join(ROLES)}", param_hint="--role")
    chosen: Role = "detect" if role == "detect" else "correlate"
    names = [n.strip() for n in (detectors or "").split(",") if n.strip()]
    if names and chosen != "detect":
        raise typer.BadParameter("only the detect role runs detectors", param_hint="--detectors")
    split = None
    if partition is not None:
        part, _, count = partition.partition("/")
        if not (part.isdigit() and count.isdigit()) or chosen != "detect":
            raise typer.BadParameter("expected P/N, for the detect role", param_hint="--partition")
        split = (int(part), int(count))
    settings = load_settings(config, data_dir=data_dir, store_url=db, bus_url=bus)
    console.print(
        f"{chosen} worker on {masked_url(settings.bus_url)}"
        + ("" if once else " (Ctrl-C stops)")
        + (f", store {masked_url(settings.store)}" if chosen == "correlate" else "")
    )
    stats = run_worker(
        settings,
        chosen,
        detectors=names,
        partition=split,
        once=once,
        command=f"worker --role {chosen}",
    )
    print_consumers(stats)


def print_consumers(stats: list[ConsumerStats]) -> None:
    """One row per consumer: what it read, processed and sent on."""
    table = Table(title="consumers", title_justify="left")
    columns = ("consumer", "messages", "processed", "learned", "sent on", "dead letters", "resumed")
    for column in columns:
        table.add_column(column, justify="left" if column == "consumer" else "right")
    for part in stats:
        table.add_row(
            part.consumer,
            f"{part.messages:,}",
            f"{part.processed:,}",
            f"{part.learned:,}",
            f"{part.published:,}",
            f"{part.dead_letters:,}",
            "yes" if part.resumed else "no",
        )
    console.print(table)


def print_published(published: Published, url: str) -> None:
    """What ``analyse --bus`` read and sent."""
    stats = published.stats
    table = Table(title="records read", title_justify="left")
    for column in ("input", "records", "events"):
        table.add_column(column, justify="right" if column != "input" else "left")
    for source, records in sorted(stats.records.items()):
        table.add_row(source, f"{records:,}", f"{stats.events.get(source, 0):,}")
    console.print(table)
    learning = f"{published.learning:,} to learn from, " if published.learning else ""
    console.print(
        f"published {learning}{published.events:,} events and {published.dead_letters:,}"
        f" dead letters to {url} ({published.duplicates:,} the bus already had);"
        " the workers detect"
    )


def print_destination(settings: Settings) -> None:
    """Where a live input's results went: the store, or the bus for the workers."""
    if settings.bus_url:
        console.print(f"published to the bus {masked_url(settings.bus_url)}: the workers detect")
    else:
        console.print(f"store: [bold]{masked_url(settings.store)}[/]")
