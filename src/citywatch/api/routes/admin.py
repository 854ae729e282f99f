"""Administration: users, API tokens and the audit log (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query, Request

from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.credentials import digest, hash_password, new_token
from citywatch.api.problems import Problem
from citywatch.api.rbac import ADMIN, allow
from citywatch.api.schemas import (
    NAME_PATTERN,
    AuditOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from citywatch.errors import StoreError
from citywatch.store.base import ApiToken, User


def add_routes(api: APIRouter) -> None:
    """Add the administration routes to ``api``."""

    @api.get("/api/v1/users", name="users.list", tags=["access"], response_model=list[UserOut])
    def list_users(request: Request, who: Annotated[Principal, allow(ADMIN)]) -> list[UserOut]:
        """Every user."""
        return [UserOut.of(u) for u in context(request).store.users()]

    @api.post(
        "/api/v1/users",
        name="users.create",
        tags=["access"],
        response_model=UserOut,
        status_code=201,
        responses={409: {"description": "the name is taken"}},
    )
    def create_user(
        request: Request, body: UserIn, who: Annotated[Principal, allow(ADMIN)]
    ) -> UserOut:
        """Add a user; without a password it is a service that can only use tokens."""
        ctx = context(request)
        user = User(
            name=body.name,
            roles=sorted(set(body.roles)),
            password_hash=hash_password(body.password) if body.password else "",
            created=datetime.now(tz=UTC),
        )
        if ctx.store.user(body.name) is not None:
            raise Problem(409, "name-taken", f"there is already a user {body.name!r}")
        try:
            ctx.store.add_user(user)
        except StoreError as exc:
            raise Problem(409, "name-taken", f"there is already a user {body.name!r}") from exc
        return UserOut.of(user)

    @api.patch(
        "/api/v1/users/{name}",
        name="users.update",
        tags=["access"],
        response_model=UserOut,
        responses={
            404: {"description": "no such user"},
            409: {"description": "it would leave no enabled admin"},
        },
    )
    def update_user(
        request: Request,
        name: Annotated[str, Path(pattern=NAME_PATTERN)],
        body: UserPatch,
        who: Annotated[Principal, allow(ADMIN)],
    ) -> UserOut:
        """Change a user's roles, password or whether they are disabled. A disabled user's
        tokens and sessions stop working at once; a new password or disabling ends their
        sessions. The last enabled admin cannot be disabled or lose the admin role."""
        store = context(request).store
        user = store.user(name)
        if user is None:
            raise Problem(404, "not-found", f"no user {name!r}")
        changed = msgspec.structs.replace(
            user,
            roles=sorted(set(body.roles)) if body.roles is not None else user.roles,
            password_hash=hash_password(body.password) if body.password else user.password_hash,
            disabled=body.disabled if body.disabled is not None else user.disabled,
        )
        admins = [u for u in store.users() if ADMIN in u.roles and not u.disabled]
        if admins == [user] and (changed.disabled or ADMIN not in changed.roles):
            raise Problem(409, "last-admin", f"{name} is the last enabled admin")
        store.update_user(changed)
        if body.password or (changed.disabled and not user.disabled):
            store.delete_sessions(name)
        return UserOut.of(changed)

    @api.get("/api/v1/tokens", name="tokens.list", tags=["access"], response_model=list[TokenOut])
    def list_tokens(
        request: Request,
        who: Annotated[Principal, allow(ADMIN)],
        user: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    ) -> list[TokenOut]:
        """API tokens (never their secrets), oldest first."""
        return [TokenOut.of(t) for t in context(request).store.tokens(user=user)]

    @api.post(
        "/api/v1/tokens",
        name="tokens.create",
        tags=["access"],
        response_model=TokenCreated,
        status_code=201,
        responses={409: {"description": "no such user, or roles the user does not have"}},
    )
    def create_token(
        request: Request, body: TokenIn, who: Annotated[Principal, allow(ADMIN)]
    ) -> TokenCreated:
        """Create a token for a user, scoped to some of their roles; the secret is shown once."""
        ctx = context(request)
        owner = ctx.store.user(body.user)
        if owner is None or owner.disabled:
            raise Problem(409, "unknown-user", f"no enabled user {body.user!r}")
        beyond = sorted(set(body.roles) - set(owner.roles))
        if beyond:
            raise Problem(409, "roles-beyond-user", f"{body.user} does not have roles {beyond}")
        secret, token_id = new_token()
        now = datetime.now(tz=UTC)
        days = body.expires_in_days or ctx.config.token_ttl_days
        token = ApiToken(
            id=token_id,
            user=owner.name,
            label=body.label,
            roles=sorted(set(body.roles)),
            digest=digest(secret),
            created=now,
            expires=now + timedelta(days=days),
        )
        ctx.store.add_token(token)
        return TokenCreated(**TokenOut.of(token).model_dump(), token=secret)

    @api.delete("/api/v1/tokens/{token_id}", name="tokens.revoke", tags=["access"], status_code=204)
    def revoke_token(
        request: Request,
        token_id: Annotated[str, Path(min_length=1, max_length=64)],
        who: Annotated[Principal, allow(ADMIN)],
    ) -> None:
        """Revoke a token at once."""
        if not context(request).store.revoke_token(token_id, datetime.now(tz=UTC)):
            raise Problem(404, "not-found", f"no active token {token_id!r}")

    @api.get("/api/v1/audit", name="audit.list", tags=["access"], response_model=list[AuditOut])
    def list_audit(
        request: Request,
        who: Annotated[Principal, allow(ADMIN)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=2**63 - 1, description="page back from this seq")
        ] = None,
    ) -> list[AuditOut]:
        """The audit log, newest first."""
        entries = context(request).store.audit(limit=limit, before=before)
        return [AuditOut.of(e) for e in entries]
