"""The adapter interface: one input format in, events or dead letters out.

An adapter never raises on bad input: each malformed record becomes a
:class:`~citywatch.model.DeadLetter` with a reason, its raw bytes and its
position, and parsing goes on with the next record.
"""

from __future__ import annotations

import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

import msgspec
from pydantic import BaseModel, ConfigDict

from citywatch.ingest.fields import MissingFieldError, decode_json_text
from citywatch.model import DeadLetter, Event
from citywatch.model.deadletter import RAW_LIMIT

MAX_RECORD_BYTES = 1 << 20
"""A record (line) longer than this is a dead letter, never parsed."""

_decode_json = msgspec.json.Decoder().decode

JsonObject = dict[str, object]
"""One decoded JSON-lines record."""

JsonLine = tuple[int, bytes, JsonObject]
"""A JSON-lines record: its line number, raw bytes and decoded object."""


def first_line(lines: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first line that is not blank (stripped; empty if none), and every line again, in
    order, from the first: for adapters that tell a document's kind by how it begins.

    >>> first, again = first_line([b"\\n", b" [1,\\n", b"2]\\n"])
    >>> first, list(again)
    (b'[1,', [b'\\n', b' [1,\\n', b'2]\\n'])
    """
    rest = iter(lines)
    head: list[bytes] = []
    for raw in rest:
        head.append(raw)
        if raw.strip():
            break
    first = head[-1].strip() if head else b""
    return first, itertools.chain(head, rest)


class NoConfig(BaseModel):
    """The config of a plug-in that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter(ABC):
    """Parses one input format.

    ``name`` is the format name users give in ``--in FORMAT:PATH``;
    ``dataset`` is the ``event.dataset`` of the events it makes.
    ``parse`` takes the input's lines (bytes, newline included or not) and
    yields, in order, one event or one dead letter per record; blank lines
    yield nothing. ``source`` names the input (the path as given); records
    without an id of their own get ``SOURCE:LINE`` as id.
    """

    name: ClassVar[str]
    dataset: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[BaseModel]] = NoConfig

    def __init__(self, config: BaseModel | None = None) -> None:
        self.config = config if config is not None else self.config_model()

    @abstractmethod
    def parse(self, source: str, lines: Iterable[bytes]) -> Iterator[Event | DeadLetter]:
        """Events and dead letters for the records in ``lines``, in order."""

    def dead_letter(
        self, source: str, position: int, code: str, reason: str, raw: bytes
    ) -> DeadLetter:
        """A dead letter from this adapter's parse stage."""
        return DeadLetter(
            source=source,
            position=position,
            stage="ingest",
            format=self.name,
            code=code,
            reason=reason,
            raw=raw[:RAW_LIMIT],
            received=time.time(),
        )

    def json_objects(self, source: str, lines: Iterable[bytes]) -> Iterator[JsonLine | DeadLetter]:
        """The objects of a JSON-lines input; a dead letter for each line that is not one.

        Blank lines yield nothing; a line over :data:`MAX_RECORD_BYTES` is not decoded.
        """
        for lineno, raw in enumerate(lines, 1):
            if len(raw) > MAX_RECORD_BYTES:
                yield self.dead_letter(
                    source, lineno, "too-long", f"line of {len(raw)} bytes exceeds the limit", raw
                )
                continue
            text = decode_json_text(raw).strip()
            if not text:
                continue
            try:
                rec = _decode_json(text)
            except (msgspec.DecodeError, RecursionError) as exc:
                yield self.dead_letter(source, lineno, "bad-json", f"invalid JSON: {exc}", raw)
                continue
            if type(rec) is not dict:
                yield self.dead_letter(
                    source, lineno, "bad-json", "line is not a JSON object: expected {...}", raw
                )
                continue
            yield lineno, raw, rec

    def json_events(
        self, source: str, lines: Iterable[bytes], build: Callable[[JsonObject, str, int], Event]
    ) -> Iterator[Event | DeadLetter]:
        """A JSON-lines input's events: ``build(record, source, line)`` for each object.

        A line that is not an object, and a record ``build`` rejects with a
        ``ValueError`` (a missing or bad field), is a dead letter with the reason.
        """
        return self.events(source, self.json_objects(source, lines), build)

    def events(
        self,
        source: str,
        records: Iterable[JsonLine | DeadLetter],
        build: Callable[[JsonObject, str, int], Event],
    ) -> Iterator[Event | DeadLetter]:
        """``build(record, source, line)`` per record; dead letters pass, rejects become ones."""
        for item in records:
            if isinstance(item, DeadLetter):
                yield item
                continue
            lineno, raw, rec = item
            try:
                yield build(rec, source, lineno)
            except ValueError as exc:
                yield self.field_error(source, lineno, raw, exc)

    def field_error(self, source: str, lineno: int, raw: bytes, exc: ValueError) -> DeadLetter:
        """The dead letter for a record whose fields are missing (``missing-field``) or wrong."""
        code = "missing-field" if isinstance(exc, MissingFieldError) else "bad-field"
        return self.dead_letter(source, lineno, code, str(exc), raw)
