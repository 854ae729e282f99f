"""Inputs of a batch job: ``FORMAT:PATH`` specs and their readers."""

from __future__ import annotations

import gzip
import io
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from citywatch.errors import InputError

Progress = Callable[[int], None]
"""Told how many more bytes were read."""
Broken = Callable[[int, str], None]
"""Told where (line number) a file's gzip stream broke off, and why."""


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
_GZIP = b"\x1f\x8b"
"""The first bytes of a gzip file."""
LINE_CAP: Final = 64 << 20
"""The most of one line kept (a line longer than every adapter's limit is cut there, the rest
skipped): a file with no line breaks must not fill the memory."""


def without_bom(first: bytes) -> bytes:
    """The start of a file or of a body sent to ingest without UTF-8's byte-order mark (Excel's
    "CSV UTF-8" and some editors put one there: a mark, not data)."""
    return first[len(_BOM) :] if first.startswith(_BOM) else first


def _capped(fh: io.BufferedIOBase) -> Iterator[bytes]:
    """The lines of ``fh``, each cut at :data:`LINE_CAP` bytes."""
    readline = fh.readline
    while line := readline(LINE_CAP):
        if len(line) == LINE_CAP and not line.endswith(b"\n"):
            while (more := readline(LINE_CAP)) and not more.endswith(b"\n"):
                pass  # the rest of the line, skipped
        yield line


def read_lines(
    path: Path, progress: Progress | None = None, on_break: Broken | None = None
) -> Iterator[bytes]:
    """The lines of a file as bytes (a gzip file's, uncompressed: rotated logs are kept so),
    reporting the bytes of the file read every few thousand lines.

    A gzip stream that breaks off (a log copied while it was written, a
    transfer cut short) ends the lines there: with ``on_break`` it is told
    the line number where the break is and why, and the lines before it
    stand; without, :class:`InputError` is raised. Raises :class:`InputError`
    too when the file cannot be opened or read.
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", path=str(path)) from exc
    with raw:
        zipped = raw.peek(2)[:2] == _GZIP
        fh: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if zipped else raw
        # a plain file no longer than the cap holds no longer line: read it the quick way
        small = not zipped and os.fstat(raw.fileno()).st_size <= LINE_CAP
        lines = _lines(fh, raw, progress, capped=not small)
        if not zipped:
            try:
                yield from lines
            except OSError as exc:
                raise InputError(f"cannot read: {exc}", path=str(path)) from exc
            return
        n = 0
        try:
            for n, line in enumerate(lines, 1):  # noqa: B007 - n says where a break is
                yield line
        except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            reason = f"broken gzip data after line {n}: {exc}"
            if on_break is None:
                raise InputError(reason, path=str(path)) from exc
            on_break(n + 1, reason)


def _lines(
    fh: io.BufferedIOBase, raw: io.BufferedIOBase, progress: Progress | None, *, capped: bool
) -> Iterator[bytes]:
    lines: Iterator[bytes] = _capped(fh) if capped else iter(fh)
    first = without_bom(next(lines, b""))
    lines = itertools.chain((first,), lines) if first else lines
    if progress is None:
        yield from lines
        return
    done = 0
    for n, line in enumerate(lines):
        if n & 0x1FFF == 0:
            at = raw.tell()
            progress(at - done)
            done = at
        yield line
    progress(raw.tell() - done)
