"""The consoles every command prints to: stdout for results, stderr for errors and status.

Written to a terminal, a table takes the terminal's width; written to a file or a
pipe (a report kept, a log), rich would take 80 columns and cut input paths and
times short, so it takes :data:`PIPED_WIDTH`.
"""

from __future__ import annotations

import sys
from typing import Final

from rich.console import Console

PIPED_WIDTH: Final = 160
"""Columns of what is written to a file or a pipe."""

console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
err = Console(stderr=True)
