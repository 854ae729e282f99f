"""The options several commands take, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file (default ./citywatch.toml)")
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (store, keys, demo city)")
]
