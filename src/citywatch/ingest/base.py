"""The adapter interface: one input format in, events or dead letters out.

An adapter never raises on bad input: each malformed record becomes a
:class:`~citywatch.model.DeadLetter` with a reason, its raw bytes and its
position, and parsing goes on with the next record.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from citywatch.model import DeadLetter, Event
from citywatch.model.deadletter import RAW_LIMIT

MAX_RECORD_BYTES = 1 << 20
"""A record (line) longer than this is a dead letter, never parsed."""


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
