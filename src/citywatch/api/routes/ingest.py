"""Ingest: batches of raw records over HTTP into the live pipeline.

``POST /api/v1/ingest/{format}`` takes

- ``application/x-ndjson`` (or ``application/jsonl``, ``text/plain``): one
  record per line, as the format's files hold them (blank lines skipped);
- ``application/json``: one JSON record, or an array of records (a string
  element is taken as a raw line, for text formats such as access logs).

It answers 202 with how many records became events, how many became dead
letters, and the first reasons. A record that cannot be parsed is never
refused or dropped: it is a dead letter, counted and kept.

>>> split_records("application/x-ndjson", b'{"a":1}\\r\\n\\n{"a":2}\\n')
[b'{"a":1}', b'{"a":2}']
>>> split_records("application/json", b'[{"a": 1}, "GET / HTTP/1.1"]')
[b'{"a":1}', b'GET / HTTP/1.1']
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.problems import Problem, request_id
from citywatch.api.rbac import ADMIN, INGEST, allow
from citywatch.api.schemas import IngestOut
from citywatch.errors import BusError, InputError
from citywatch.pipeline.inputs import without_bom

LINE_TYPES = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "text/plain"}
)
JSON_TYPE = "application/json"
_encode = msgspec.json.Encoder().encode

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            JSON_TYPE: {
                "schema": {
                    "oneOf": [{"type": "object"}, {"type": "array", "items": {}}],
                }
            },
        },
    }
}


def _line(item: object) -> bytes:
    if isinstance(item, str):
        return item.replace("\r", " ").replace("\n", " ").encode()
    return _encode(item)


def split_records(media_type: str, body: bytes) -> list[bytes]:
    """The raw records of a body of ``media_type``; 415 for a type not taken.

    A JSON body that does not parse is passed on whole, as one record, so it
    becomes a dead letter with the parser's reason. A byte-order mark at the start (Excel's
    "CSV UTF-8", some editors) is a mark, not data, as in files (:func:`without_bom`).
    """
    body = without_bom(body)
    if media_type in LINE_TYPES:
        return [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]
    if media_type == JSON_TYPE:
        try:
            value = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return [_line(body.decode("utf-8", "replace"))] if body.strip() else []
        items = value if isinstance(value, list) else [value]
        return [_line(item) for item in items]
    raise Problem(
        415,
        "unsupported-media-type",
        f"send application/x-ndjson, text/plain or {JSON_TYPE}",
    )


def add_routes(api: APIRouter) -> None:
    """Add the ingest route to ``api``."""

    @api.post(
        "/api/v1/ingest/{fmt}",
        name="ingest",
        tags=["ingest"],
        status_code=202,
        response_model=IngestOut,
        openapi_extra=_BODY,
        responses={
            404: {"description": "no adapter for this format"},
            415: {"description": "a content type not taken"},
            503: {"description": "this server runs without a live pipeline, or its bus is down"},
        },
    )
    async def ingest(
        request: Request,
        fmt: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
        who: Annotated[Principal, allow(ADMIN, INGEST)],
        source: Annotated[
            str, Query(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="names the sender")
        ] = "api",
    ) -> IngestOut:
        """Feed a batch of raw records of format ``fmt`` to the live pipeline."""
        ctx = context(request)
        if ctx.pipeline is None:
            raise Problem(503, "ingest-unavailable", "this server runs without a live pipeline")
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        lines = split_records(media_type, await request.body())
        batch = f"api/{source}/{request_id(request)}"
        try:
            result = await run_in_threadpool(ctx.pipeline.ingest, fmt, batch, lines)
        except InputError as exc:
            raise Problem(404, "unknown-format", str(exc)) from exc
        except BusError as exc:  # nothing was taken: the sender sends it again
            raise Problem(503, "bus-unavailable", str(exc)) from exc
        return IngestOut(
            accepted=result.accepted, dead_letters=result.dead_letters, reasons=result.reasons
        )
