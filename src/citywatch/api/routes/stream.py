"""Live updates as Server-Sent Events: what the pipeline finds and what people change.

The pipeline sends detections, incidents and dead letters (without their raw
bytes); the API sends alerts, incidents, suppressions and playbook runs when
a person changes them (:mod:`citywatch.api.changes`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Final, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from citywatch.api.auth import Principal, authenticate
from citywatch.api.context import context
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, ANALYST, READERS, allow
from citywatch.api.sse import stream
from citywatch.live import UpdateKind

KINDS: Final[frozenset[str]] = frozenset(get_args(UpdateKind))
DEAD_LETTER_READERS: Final = frozenset({ADMIN, ANALYST})
"""Who sees dead letters live: those who may read them (``GET /api/v1/dead-letters``)."""


RECHECK_S: Final = 5.0
"""How often an open stream checks that its credentials still hold (at the next update or
heartbeat): a user disabled, a token revoked or a session ended stops seeing updates."""
ENDED: Final = b'event: ended\ndata: {"reason": "credentials no longer valid"}\n\n'


def _still(request: Request, who: Principal) -> bool:
    """Whether the request's credentials still give the same user the same roles."""
    try:
        now = authenticate(request, context(request))
    except Problem:
        return False
    return now.name == who.name and now.roles == who.roles


def visible_kinds(roles: frozenset[str], asked: list[UpdateKind] | None) -> frozenset[str]:
    """The kinds a caller with ``roles`` gets: those asked for (all when none), minus dead
    letters for roles that may not read them; a 403 when nothing asked for is left.

    >>> sorted(visible_kinds(frozenset({"viewer"}), ["incident", "dead_letter"]))
    ['incident']
    >>> "dead_letter" in visible_kinds(frozenset({"analyst"}), None)
    True
    """
    kinds = frozenset(asked) if asked else KINDS
    allowed = kinds if roles & DEAD_LETTER_READERS else kinds - {"dead_letter"}
    if not allowed:
        raise Problem(403, "forbidden", f"dead letters need one of: {sorted(DEAD_LETTER_READERS)}")
    return allowed


def add_routes(api: APIRouter) -> None:
    """Add the stream route to ``api``."""

    @api.get(
        "/api/v1/stream",
        name="stream",
        tags=["live"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
    )
    async def live(
        request: Request,
        who: Annotated[Principal, allow(*READERS)],
        kind: Annotated[list[UpdateKind] | None, Query(description="only these kinds")] = None,
        max_events: Annotated[
            int | None, Query(ge=0, le=100_000, description="close after this many updates")
        ] = None,
    ) -> StreamingResponse:
        """Server-Sent Events: ``event:`` is the kind, ``data:`` ``{"id", "data"}`` as JSON.

        ``data`` is the object as it is now. An update a person made through the API
        also has ``change``: ``{"action", "by", "target"}`` (``approved`` by ``alice``;
        ``moved`` to ``resolved``). A ``resync`` event says updates were lost: re-read
        the lists. Its ``lost`` is how many (a slow client), or null when the server
        itself missed some (on the bus, its connection to NATS was lost for a while).
        Dead letters are sent only to admins and analysts, who may read them; asking
        only for them without that role is a 403. When the caller's credentials no longer
        hold (the user disabled, the token revoked, the session ended, the roles changed),
        an ``ended`` event closes the stream within :data:`RECHECK_S` plus a heartbeat.
        """
        ctx = context(request)
        client = ctx.broadcaster.connect(visible_kinds(who.roles, kind))

        async def events() -> AsyncIterator[bytes]:
            sent = 0
            checked = time.monotonic()
            try:
                async for chunk in stream(client, ctx.config.sse_heartbeat_s):
                    if time.monotonic() - checked >= RECHECK_S:  # a user disabled meanwhile
                        checked = time.monotonic()
                        if not await asyncio.to_thread(_still, request, who):
                            yield ENDED
                            return
                    yield chunk
                    sent += chunk.startswith(b"id: ")
                    if max_events is not None and sent >= max_events:
                        return
            finally:
                ctx.broadcaster.disconnect(client)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
        )
