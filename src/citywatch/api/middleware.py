"""The outermost layer: request ids, secure headers, body size limits, no stack traces.

A pure ASGI middleware (it streams; nothing is buffered here):

- every request gets an id (a client's ``X-Request-ID`` is kept when it is a
  short token) that comes back in ``X-Request-ID`` and in every problem;
- every response gets the secure headers (CSP ``default-src 'self'``,
  ``nosniff``, ``DENY`` framing, no referrer; HSTS when served over TLS);
- a body larger than the limit is refused with 413, by ``Content-Length``
  before it is read, or as soon as a streamed body passes the limit;
- an exception that escaped everything else is logged with the request id
  and answered with a bare 500 problem.
"""

from __future__ import annotations

import re
import secrets

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citywatch.api.config import ApiConfig
from citywatch.api.problems import Problem, problem_response

_log = structlog.get_logger(__name__)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
INGEST_PREFIX = "/api/v1/ingest/"
REPORTS_PATH = "/api/v1/public/reports"
REPORT_MAX_BYTES = 4096
"""Largest citizen report body (anyone may send one: the limit is its own)."""
NO_STORE_EXEMPT = ("/api/docs/static/", "/assets/", "/vendor/")

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class SecurityMiddleware:
    """Request id, secure headers, body limits and the last-resort 500 (see module doc)."""

    def __init__(self, app: ASGIApp, config: ApiConfig) -> None:
        self.app = app
        self.config = config
        self.headers = SECURE_HEADERS + ((HSTS,) if config.tls else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (_header(scope, b"x-request-id") or b"").decode("latin-1")
        rid = given if _CLIENT_ID.fullmatch(given) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        path: str = scope.get("path", "")
        no_store = not path.startswith(NO_STORE_EXEMPT)
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                headers.append((b"x-request-id", rid.encode()))
                if no_store and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        limit = (
            self.config.max_ingest_bytes
            if path.startswith(INGEST_PREFIX)
            else REPORT_MAX_BYTES
            if path == REPORTS_PATH
            else self.config.max_body_bytes
        )
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = problem_response(
                rid,
                path,
                413 if length.isdigit() else 400,
                type_="urn:citywatch:problem:body-too-large" if length.isdigit() else "about:blank",
                detail=f"the body may be at most {limit} bytes",
            )
            await response(scope, receive, send_secured)
            return
        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise Problem(413, "body-too-large", f"the body may be at most {limit} bytes")
            return message

        try:
            await self.app(scope, receive_limited, send_secured)
        except Exception:
            _log.exception("api_unhandled_error", request_id=rid, path=path)
            if not started:
                response = problem_response(
                    rid, path, 500, detail="an internal error; quote the request id"
                )
                await response(scope, receive, send_secured)
