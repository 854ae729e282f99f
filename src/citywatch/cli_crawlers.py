"""``citywatch crawlers refresh``: search crawlers' ranges as their operators publish them now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from citywatch.app import crawler_ranges_file
from citywatch.cli_console import console, err
from citywatch.cli_options import ConfigOpt, DataDirOpt
from citywatch.config import load_settings
from citywatch.detect.portal.crawler_refresh import default_urls, refresh

crawlers_app = typer.Typer(
    name="crawlers",
    help="The address ranges search engines publish for their crawlers.",
    no_args_is_help=True,
)


@crawlers_app.callback()
def _crawlers() -> None:
    """The address ranges search engines publish for their crawlers."""


def _urls(overrides: list[str]) -> dict[str, str]:
    """The lists' URLs: where their operators publish them, but those ``LIST=URL`` names."""
    urls = default_urls()
    for override in overrides:
        name, sep, url = override.partition("=")
        if not sep or name not in urls or not url:
            known = ", ".join(urls)
            raise typer.BadParameter(
                f"{override!r} is not LIST=URL (lists: {known})", param_hint="--url"
            )
        urls[name] = url
    return urls


@crawlers_app.command("refresh")
def refresh_cmd(
    url: Annotated[
        list[str] | None,
        typer.Option(
            "--url",
            help="LIST=URL: fetch a list from elsewhere, a mirror of the city's (repeatable)",
        ),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Fetch the search crawlers' ranges from their operators into the data dir (weekly).

    Googlebot's, bingbot's, Applebot's and DuckDuckBot's lists, from where Google,
    Microsoft, Apple and DuckDuckGo publish them; every run warns when the ranges in use are
    older than ``detectors.portal-behaviour.crawler_ranges_days`` (30). Each list replaces
    the previous copy only when it is whole and a list of address ranges; otherwise the
    previous copy stays in use, the table says why, and the exit code is 1. Jobs started
    afterwards use the new ranges (a running serve or worker: at its restart).
    """
    settings = load_settings(config, data_dir=data_dir)
    urls = _urls(url or [])
    path = crawler_ranges_file(settings)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )
    with progress:
        task = progress.add_task("fetching crawler ranges", total=len(urls))
        outcomes = refresh(
            path,
            urls,
            now=datetime.now(tz=UTC),
            done=lambda name: progress.update(task, advance=1, description=f"fetched {name}"),
        )
    table = Table(title="search crawlers' ranges in use", title_justify="left")
    for column in ("list", "IPv4", "IPv6", "fetched (UTC)", "copy", "this time"):
        table.add_column(column, justify="right" if column.startswith("IPv") else "left")
    for outcome in outcomes:
        lst = outcome.in_use
        table.add_row(
            outcome.name,
            f"{len(lst.ipv4):,}",
            f"{len(lst.ipv6):,}",
            f"{lst.fetched_at.astimezone(UTC):%Y-%m-%d %H:%M}",
            "refreshed" if outcome.refreshed else "the package's",
            f"[red]kept the previous copy: {outcome.problem}[/]" if outcome.problem else "new",
        )
    console.print(table)
    if path.exists():
        console.print(f"ranges file {path}", markup=False, highlight=False)
    failed = [o for o in outcomes if o.problem]
    if failed:
        err.print(
            f"[yellow]{len(failed)} of {len(outcomes)} lists could not be refreshed:"
            " the previous copies stay in use[/]"
        )
        raise typer.Exit(1)
