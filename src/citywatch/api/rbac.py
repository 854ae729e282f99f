"""Roles, and the one way a route declares who may call it.

Every route says ``who: Annotated[Principal, allow("analyst", "responder")]``
(or ``dependencies=[public()]``). :class:`GuardedRoute` finds that declaration
when the route is built (a route without exactly one fails at start-up), and
checks it before anything else happens to the request — before the body is
read or validated — in this order: credentials (401), CSRF for sessions (403),
role (403), rate (429). Unsafe methods are then written to the audit log with
their outcome. :func:`route_table` lists every (method, path) with its roles,
which is what the role-matrix test walks.

Roles:

========== =====================================================================
admin       everything, including users, tokens and the audit log
analyst     reads everything, triages incidents (transition, comment, assign)
responder   reads, and acts on incidents (transition, comment)
alert-officer reads; public alerts (draft, approve as a second person, publish, update, cancel)
viewer      reads the operational picture
ingest      only sends records to the ingest endpoints (a machine's role)
========== =====================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import Depends, Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount, Route

from citywatch.api.audit import record
from citywatch.api.auth import SAFE_METHODS, Principal, authenticate, check_csrf
from citywatch.api.context import context
from citywatch.api.problems import Problem

ADMIN, ANALYST, RESPONDER, ALERT_OFFICER, VIEWER, INGEST = (
    "admin",
    "analyst",
    "responder",
    "alert-officer",
    "viewer",
    "ingest",
)
ROLES: tuple[str, ...] = (ADMIN, ANALYST, RESPONDER, ALERT_OFFICER, VIEWER, INGEST)
"""Every role, most powerful first."""
READERS: tuple[str, ...] = (ADMIN, ANALYST, RESPONDER, ALERT_OFFICER, VIEWER)
"""The people's roles: everyone but the ingest machines."""
PUBLIC_PATHS: dict[tuple[str, str], str] = {
    ("GET", "/api/openapi.json"): "the OpenAPI document",
    ("GET", "/api/docs/static/{path}"): "the API docs' scripts and styles",
    ("GET", "/assets/{path}"): "the dashboard's scripts and styles",
    ("GET", "/vendor/leaflet/{path}"): "Leaflet, served from xstatic-leaflet",
}
"""Routes that FastAPI or Starlette add themselves, public by decision."""


class Guard:
    """The roles one route allows (None: public); resolved as the route's dependency."""

    def __init__(self, roles: Iterable[str] | None) -> None:
        if roles is not None:
            unknown = set(roles) - set(ROLES)
            if unknown or not roles:
                raise ValueError(f"unknown or no roles: {sorted(unknown)}")
        self.roles = None if roles is None else tuple(roles)

    def granting_role(self, principal: Principal) -> str | None:
        """The role of ``principal`` that this guard accepts, if any (public: None)."""
        if self.roles is None:
            return None
        return next((r for r in self.roles if r in principal.roles), None)

    def __call__(self, request: Request) -> Principal | None:
        principal = getattr(request.state, "principal", None)
        if isinstance(principal, Principal):
            return principal
        if self.roles is not None:
            raise Problem(401, "unauthenticated", "credentials are required")
        return None


def allow(*roles: str) -> params.Depends:
    """Declare the roles that may call a route; use as ``Annotated[Principal, allow(...)]``."""
    depends: params.Depends = Depends(Guard(roles))
    return depends


def public() -> params.Depends:
    """Declare a route open to everyone (``dependencies=[public()]``)."""
    depends: params.Depends = Depends(Guard(None))
    return depends


def _guards(dependant: Dependant) -> list[Guard]:
    found = [dependant.call] if isinstance(dependant.call, Guard) else []
    for sub in dependant.dependencies:
        found.extend(_guards(sub))
    return found


class GuardedRoute(APIRoute):
    """An API route that authenticates, authorises, rate-limits and audits (module doc)."""

    guard: Guard

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        guards = {id(g): g for g in _guards(self.dependant)}
        if len(guards) != 1:
            raise RuntimeError(
                f"route {self.path} must declare its roles exactly once with allow() or public()"
            )
        guard = self.guard = next(iter(guards.values()))
        self._document(guard)
        handler = super().get_route_handler()
        action = self.name

        async def guarded(request: Request) -> Response:
            ctx = context(request)
            principal: Principal | None = None
            status = 500
            try:
                if guard.roles is not None:
                    principal = await run_in_threadpool(authenticate, request, ctx)
                    request.state.principal = principal
                    check_csrf(request, principal)
                    if guard.granting_role(principal) is None:
                        raise Problem(403, "forbidden", f"{action} needs one of: {guard.roles}")
                    wait = ctx.buckets.take(
                        f"cred:{principal.credential}",
                        rate=ctx.config.rate_per_s,
                        burst=ctx.config.burst,
                    )
                    if wait:
                        retry = str(math.ceil(wait))
                        raise Problem(
                            429,
                            "rate-limited",
                            f"retry in {retry} s",
                            headers={"Retry-After": retry},
                        )
                response = await handler(request)
                status = response.status_code
                return response
            except HTTPException as exc:
                status = exc.status_code
                raise
            except RequestValidationError:
                status = 422  # as problems.validation_exception_handler answers
                raise
            finally:
                if request.method not in SAFE_METHODS and (principal or guard.roles is None):
                    role = guard.granting_role(principal) if principal else None
                    await run_in_threadpool(record, request, principal, role, action, status)

        return guarded

    def _document(self, guard: Guard) -> None:
        """Publish the roles in the OpenAPI operation, with the answers a guard can give."""
        extra = dict(self.openapi_extra or {})
        if guard.roles is None:
            extra["security"] = []
        else:
            extra["x-citywatch-roles"] = list(guard.roles)
            extra["security"] = [{"bearer": []}, {"session": []}]
            self.description = (f"{self.description}\n\nRoles: {', '.join(guard.roles)}.").strip()
            for code in ("401", "403", "429"):
                self.responses.setdefault(code, {"description": _ANSWERS[code]})
        self.openapi_extra = extra


_ANSWERS = {
    "401": "no, bad, expired or revoked credentials",
    "403": "a role that may not do this, or a session request without its CSRF token",
    "429": "too many requests for this token or session",
}


def route_table(routes: Iterable[BaseRoute]) -> dict[tuple[str, str], tuple[str, ...] | None]:
    """Every (method, path) of an app with the roles it allows (None: public).

    Raises :class:`LookupError` naming any route that declares nothing, so a
    route cannot be added without a decision on who may call it.
    """
    table: dict[tuple[str, str], tuple[str, ...] | None] = {}
    undeclared: list[str] = []
    for route in routes:
        if isinstance(route, GuardedRoute):
            for method in sorted(route.methods or ()):
                table[(method, route.path)] = route.guard.roles
            continue
        if isinstance(route, Route):
            methods = sorted(route.methods or {"*"})
            keys = [(m, route.path) for m in methods if m != "HEAD"]
        elif isinstance(route, Mount):
            keys = [("GET", f"{route.path}/{{path}}")]
        else:
            keys = [("?", repr(route))]
        for key in keys:
            if key in PUBLIC_PATHS:
                table[key] = None
            else:
                undeclared.append(" ".join(key))
    if undeclared:
        raise LookupError(f"routes that declare no roles: {', '.join(undeclared)}")
    return table
