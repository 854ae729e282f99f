"""``python -m citywatch``: the same as the ``citywatch`` command."""

from citywatch.cli import main

main()
