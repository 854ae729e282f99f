"""Errors of the respond stage, under :class:`citywatch.errors.CitywatchError`::

CitywatchError
└── RespondError          a response artefact cannot be built or read
    └── CapError          a CAP document is malformed or fails the CAP 1.2 schema

(A STIX bundle that cannot be read is an :class:`citywatch.enrich.intel.IntelError`.)
"""

from __future__ import annotations

from citywatch.errors import CitywatchError


class RespondError(CitywatchError):
    """A response artefact (alert, feed, intel, block list) cannot be built or read."""


class CapError(RespondError):
    """A CAP document is malformed or invalid; ``problems`` lists each finding."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        detail = "; ".join(self.problems[:5])
        super().__init__(f"{message}: {detail}" if detail else message)
