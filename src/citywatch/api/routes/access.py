"""Access: dashboard logins and sessions, and who the caller is."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Request, Response

from citywatch.api.auth import Principal, end_session, start_session
from citywatch.api.context import context
from citywatch.api.credentials import verify_password
from citywatch.api.problems import Problem
from citywatch.api.rbac import ROLES, allow, public
from citywatch.api.schemas import LoginIn, Me

UNKNOWN_USER = "(unknown user)"
"""The audit log's actor for a failed login with a name that is no user (not echoed)."""


USER_FACTOR: Final = 10
"""A name's bucket of failed logins holds this many times an address's bucket."""


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def add_routes(api: APIRouter) -> None:
    """Add the access routes to ``api``."""

    @api.post(
        "/api/v1/auth/login",
        name="auth.login",
        tags=["access"],
        response_model=Me,
        dependencies=[public()],
        responses={
            401: {"description": "wrong name or password"},
            429: {"description": "slow down"},
        },
    )
    def login(request: Request, body: LoginIn, response: Response) -> Me:
        """Log in to the dashboard: sets an HttpOnly session cookie and returns the CSRF token."""
        ctx = context(request)
        rate, burst = ctx.config.login_rate_per_min / 60, ctx.config.login_burst
        # every attempt spends from its address's bucket; only a failed one from the name's,
        # which holds USER_FACTOR times more: one address cannot lock an officer out, and
        # guesses at one name from many addresses are still slowed
        name_key, name_rate, name_burst = (
            f"login-user:{body.name}",
            rate * USER_FACTOR,
            burst * USER_FACTOR,
        )
        if ctx.buckets.take(f"login:{_client(request)}", rate=rate, burst=burst) or (
            ctx.buckets.wait(name_key, rate=name_rate, burst=name_burst)
        ):
            raise Problem(
                429, "rate-limited", "too many logins; wait a minute", headers={"Retry-After": "60"}
            )
        user = ctx.store.user(body.name)
        request.state.audit_actor = user.name if user else UNKNOWN_USER
        ok = verify_password(body.password, user.password_hash if user else "")
        if user is None or user.disabled or not ok:
            ctx.buckets.take(name_key, rate=name_rate, burst=name_burst)
            raise Problem(401, "login-failed", "wrong name or password")
        session = start_session(ctx, user, response)
        return Me(name=user.name, roles=user.roles, via="session", csrf_token=session.csrf)

    @api.post("/api/v1/auth/logout", name="auth.logout", tags=["access"], status_code=204)
    def logout(
        request: Request, response: Response, who: Annotated[Principal, allow(*ROLES)]
    ) -> None:
        """End the dashboard session (a token stays valid: revoke it instead)."""
        end_session(request, context(request), response)

    @api.get("/api/v1/auth/me", name="auth.me", tags=["access"], response_model=Me)
    def me(who: Annotated[Principal, allow(*ROLES)]) -> Me:
        """Who the credentials belong to, their roles, and the session's CSRF token."""
        return Me(name=who.name, roles=sorted(who.roles), via=who.via, csrf_token=who.csrf)
