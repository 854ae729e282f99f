"""Inputs of a batch job: ``FORMAT:PATH`` specs and their readers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from citywatch.errors import InputError

Progress = Callable[[int], None]
"""Told how many more bytes were read."""


@dataclass(frozen=True)
class InputSpec:
    """One input file in a known format; ``learn`` inputs only teach normal behaviour."""

    format: str
    path: Path
    learn: bool = False

    @classmethod
    def parse(cls, text: str, *, learn: bool = False) -> InputSpec:
        """``FORMAT:PATH`` as users write it on the command line.

        >>> InputSpec.parse("access-log:/var/log/nginx/access.log").format
        'access-log'
        """
        fmt, sep, path = text.partition(":")
        if not sep or not fmt or not path:
            raise InputError(f"expected FORMAT:PATH, got {text!r}")
        return cls(format=fmt, path=Path(path), learn=learn)

    @property
    def source(self) -> str:
        """The input's name in record ids and dead letters: the path as given."""
        return str(self.path)


_BOM = b"\xef\xbb\xbf"
"""UTF-8's byte-order mark, which some tools put at the start of a file."""


def read_lines(path: Path, progress: Progress | None = None) -> Iterator[bytes]:
    """The lines of a file as bytes, reporting bytes read every few thousand lines."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=str(path)) from exc
    with fh:
        first = fh.readline()
        pending = len(first)
        if first.startswith(_BOM):  # Excel's "CSV UTF-8" and some editors: a mark, not data
            first = first[len(_BOM) :]
        lines = itertools.chain((first,), fh) if first else fh
        if progress is None:
            yield from lines
            return
        pending -= len(first)
        for n, line in enumerate(lines):
            pending += len(line)
            if n & 0x1FFF == 0:
                progress(pending)
                pending = 0
            yield line
        progress(pending)
