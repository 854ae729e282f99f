"""``citywatch prune``: the retention policy applied to the store on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from citywatch.app import city_store
from citywatch.cli_console import console
from citywatch.cli_options import ConfigOpt, DataDirOpt
from citywatch.config import load_settings
from citywatch.errors import masked_url
from citywatch.store.retention import prune


def prune_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would go; delete nothing")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Apply the retention policy to the store now (citywatch serve does it every day).

    Deletes dead letters older than ``retention.dead_letters_days``, closed incidents quiet
    for ``retention.closed_incidents_days`` with their detections and comments, and expired
    sessions. Open incidents, public alerts and the audit log stay.
    """
    settings = load_settings(config, data_dir=data_dir)
    store = city_store(settings)
    try:
        pruned = prune(store, settings.retention, datetime.now(tz=UTC), dry_run=dry_run)
    finally:
        store.close()
    policy = settings.retention
    table = Table(title="would be deleted (dry run)" if dry_run else "deleted")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("kept for")
    closed = f"{policy.closed_incidents_days} days" if policy.closed_incidents_days else "ever"
    letters = f"{policy.dead_letters_days} days" if policy.dead_letters_days else "ever"
    for kind, count, kept in (
        ("closed incidents", pruned.incidents, closed),
        ("their comments and assignments", pruned.activity, closed),
        ("their playbook runs", pruned.playbook_runs, closed),
        ("detections", pruned.detections, closed),
        ("dead letters", pruned.dead_letters, letters),
        ("expired sessions", pruned.sessions, "until they expire"),
    ):
        table.add_row(kind, f"{count:,}", kept)
    console.print(table)
    console.print(f"store {masked_url(settings.store)}", markup=False, highlight=False)
