"""The retention policy: how long the store keeps what it holds of people, and the pass that
applies it.

Dead letters hold raw records as they came (an address, an account name, a
message); closed incidents and their detections hold pseudonyms and the
analysts' comments. Both are kept only as long as the city needs them for its
investigations (storage limitation, GDPR Art. 5(1)(e)): ``citywatch serve``
prunes once at start and then every ``every_h`` hours, and ``citywatch prune``
does it on demand. Open incidents are never pruned; public alerts (public
records) and the audit log (append-only) are never deleted.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import BaseModel, ConfigDict, Field

from citywatch.errors import StoreError
from citywatch.store.base import Pruned, Store

_log = structlog.get_logger(__name__)


class RetentionConfig(BaseModel):
    """How many days each kind is kept; 0 keeps it for ever."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dead_letters_days: int = Field(
        30, ge=0, description="days a dead letter (the raw record as received) is kept"
    )
    closed_incidents_days: int = Field(
        365,
        ge=0,
        description="days a closed incident (resolved, false positive, merged) is kept after its"
        " last detection, status change or comment, with its detections and comments",
    )
    every_h: float = Field(
        24.0, gt=0, le=24 * 7, description="hours between two passes of citywatch serve"
    )


def prune(store: Store, config: RetentionConfig, now: datetime, *, dry_run: bool = False) -> Pruned:
    """Apply ``config`` at ``now``: what was deleted (or, with ``dry_run``, would be)."""

    def cutoff(days: int) -> datetime | None:
        return now - timedelta(days=days) if days else None

    return store.prune(
        closed_before=cutoff(config.closed_incidents_days),
        dead_letters_before=cutoff(config.dead_letters_days),
        now=now,
        dry_run=dry_run,
    )


class Pruner:
    """Applies the policy at start and then every ``every_h`` hours, in a daemon thread."""

    def __init__(self, store: Store, config: RetentionConfig) -> None:
        self.store = store
        self.config = config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the pass under way, if any."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                pruned = prune(self.store, self.config, datetime.now(tz=UTC))
                _log.info("retention_pruned", **{k: v for k, v in _fields(pruned) if v})
            except StoreError as exc:  # the next pass tries again; serving goes on
                _log.warning("retention_failed", error=str(exc))
            except Exception:  # a thread that dies prunes nothing more, silently
                _log.exception("retention_failed")
            self._stop.wait(self.config.every_h * 3600)


def _fields(pruned: Pruned) -> list[tuple[str, int]]:
    return [(name, getattr(pruned, name)) for name in pruned.__struct_fields__]
