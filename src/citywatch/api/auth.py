"""Who is calling: API tokens (``Authorization: Bearer``) or dashboard sessions (a cookie).

A token counts while it is neither revoked nor expired and its user exists
and is enabled; its roles are the token's scope intersected with the user's
roles today, so demoting a user demotes their tokens. A session is a random
id in an HttpOnly, SameSite=Strict cookie (Secure over TLS); an unsafe
request made with it must repeat the session's CSRF token in the
``X-CSRF-Token`` header (synchronizer token). Failures are 401 problems that
do not say which check failed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

from citywatch.api.context import ApiContext
from citywatch.api.credentials import digest, new_secret
from citywatch.api.problems import Problem
from citywatch.store.base import Session, User

SESSION_COOKIE = "cw_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="citywatch"'}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user by name, the roles in force, and how they proved it.

    ``credential`` names the token (its public id) or the session, for rate
    limits; ``csrf`` is the session's CSRF token (sessions only).
    """

    name: str
    roles: frozenset[str]
    via: str
    credential: str
    csrf: str | None = None


def _denied(detail: str = "missing, invalid, expired or revoked credentials") -> Problem:
    return Problem(401, "unauthenticated", detail, headers=_CHALLENGE)


def _active_user(ctx: ApiContext, name: str) -> User:
    user = ctx.store.user(name)
    if user is None or user.disabled:
        raise _denied()
    return user


def authenticate(request: Request, ctx: ApiContext) -> Principal:
    """The principal behind the request's token or session cookie; 401 otherwise."""
    now = datetime.now(tz=UTC)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _denied("use Authorization: Bearer <token>")
        token = ctx.store.token(digest(secret.strip()))
        if token is None or token.revoked is not None:
            raise _denied()
        if token.expires is not None and token.expires <= now:
            raise _denied()
        user = _active_user(ctx, token.user)
        roles = frozenset(token.roles) & frozenset(user.roles)
        return Principal(name=user.name, roles=roles, via="token", credential=token.id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = ctx.store.session(digest(cookie))
        if session is None:
            raise _denied()
        if session.expires <= now:
            ctx.store.delete_session(session.digest)
            raise _denied()
        user = _active_user(ctx, session.user)
        return Principal(
            name=user.name,
            roles=frozenset(user.roles),
            via="session",
            credential=f"session:{session.digest[:16]}",
            csrf=session.csrf,
        )
    raise _denied()


def check_csrf(request: Request, principal: Principal) -> None:
    """An unsafe request on a session must carry the session's CSRF token (403 if not)."""
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not (principal.csrf and hmac.compare_digest(sent.encode(), principal.csrf.encode())):
        raise Problem(403, "csrf", f"send the session's CSRF token in {CSRF_HEADER}")


def start_session(ctx: ApiContext, user: User, response: Response) -> Session:
    """Create a session for ``user`` and set its cookie on ``response``."""
    secret = new_secret()
    now = datetime.now(tz=UTC)
    session = Session(
        digest=digest(secret),
        user=user.name,
        csrf=new_secret(),
        created=now,
        expires=now + timedelta(seconds=ctx.config.session_ttl_s),
    )
    ctx.store.add_session(session)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=ctx.config.session_ttl_s,
        path="/",
        secure=ctx.config.tls,
        httponly=True,
        samesite="strict",
    )
    return session


def end_session(request: Request, ctx: ApiContext, response: Response) -> None:
    """Delete the request's session, if any, and clear its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        ctx.store.delete_session(digest(cookie))
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=ctx.config.tls, httponly=True, samesite="strict"
    )
