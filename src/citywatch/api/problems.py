"""Errors as RFC 9457 problem details (``application/problem+json``), never a stack trace.

Every error answer has ``type``, ``title``, ``status``, ``detail`` and
``instance`` (the request path), plus the ``request_id`` to quote when
reporting it. Specific problems have a ``urn:citywatch:problem:...`` type;
plain HTTP errors use ``about:blank`` with the status phrase as title.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.exceptions import HTTPException
from starlette.routing import Route

PROBLEM_JSON = "application/problem+json"


class Problem(HTTPException):
    """An HTTP error with a problem type; raise it from any route or dependency.

    >>> p = Problem(409, "invalid-transition", "resolved cannot become new")
    >>> p.type, p.title
    ('urn:citywatch:problem:invalid-transition', 'Conflict')
    """

    def __init__(
        self,
        status: int,
        slug: str | None = None,
        detail: str = "",
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> None:
        super().__init__(status, detail or None, dict(headers) if headers else None)
        self.type = f"urn:citywatch:problem:{slug}" if slug else "about:blank"
        self.title = title or _phrase(status)
        self.text = detail
        self.extra = dict(extra or {})


class ProblemDetails(BaseModel):
    """The body of every error answer (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the path of the request that failed")
    request_id: str = Field(description="quote this when reporting the problem")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request_id: str,
    path: str,
    status: int,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    detail: str = "",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, JsonValue] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    body: dict[str, JsonValue] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or title or _phrase(status),
        "instance": path,
        "request_id": request_id,
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def request_id(request: Request) -> str:
    """The id the middleware gave this request."""
    return str(getattr(request.state, "request_id", "-"))


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Any ``HTTPException`` (404 and 405 from routing included) as a problem."""
    assert isinstance(exc, HTTPException)
    if isinstance(exc, Problem):
        type_, title, detail, extra = exc.type, exc.title, exc.text, exc.extra
    else:
        type_, title, extra = "about:blank", _phrase(exc.status_code), {}
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else ""
    headers = exc.headers
    if exc.status_code == 405:  # RFC 9110 §15.5.6: every method the resource serves
        headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
    return problem_response(
        request_id(request),
        request.url.path,
        exc.status_code,
        type_=type_,
        title=title,
        detail=detail,
        headers=headers,
        extra=extra,
    )


def _allowed(request: Request) -> list[str]:
    """The methods of every route whose path matches the request's (routing reports only the
    first route it matched, so a path served by GET and POST said ``Allow: GET``)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(request.url.path):
            methods |= route.methods
    return sorted(methods)


async def validation_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Invalid parameters or body: 422 with where and what, never echoing the input."""
    assert isinstance(exc, RequestValidationError)
    errors: list[JsonValue] = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()[:50]
    ]
    return problem_response(
        request_id(request),
        request.url.path,
        422,
        type_="urn:citywatch:problem:validation",
        title="Invalid request",
        detail=f"{len(exc.errors())} invalid field(s); see errors",
        extra={"errors": errors},
    )
