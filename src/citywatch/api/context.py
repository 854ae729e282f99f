"""What every route reaches through ``request.app.state``: the store, settings and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from starlette.requests import HTTPConnection

from citywatch.api.config import ApiConfig
from citywatch.api.ratelimit import TokenBuckets
from citywatch.api.sse import Broadcaster
from citywatch.config import Settings
from citywatch.live import LiveInput
from citywatch.respond.runner import PlaybookRunner
from citywatch.store import Store


@dataclass
class ApiContext:
    """The services behind one app; built by :func:`citywatch.api.create_app`."""

    settings: Settings
    store: Store
    config: ApiConfig
    pipeline: LiveInput | None
    broadcaster: Broadcaster
    runner: PlaybookRunner
    """The playbooks, read once: approvals and rejections go through it."""
    buckets: TokenBuckets = field(default_factory=TokenBuckets)
    tz: tzinfo = UTC
    """The city's time zone, for times written in public alerts (the dashboard sets it)."""


def context(conn: HTTPConnection) -> ApiContext:
    """The :class:`ApiContext` of the app serving ``conn``."""
    ctx = conn.app.state.citywatch
    assert isinstance(ctx, ApiContext)
    return ctx
