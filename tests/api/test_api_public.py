"""The public API of ``citywatch.api``, pinned like the stage packages'."""

from __future__ import annotations

import citywatch.api
from citywatch.api.rbac import ROLES
from citywatch.api.schemas import Role


def test_all_is_pinned() -> None:
    assert citywatch.api.__all__ == [
        "ROLES",
        "ApiConfig",
        "Principal",
        "allow",
        "create_app",
        "ensure_admin",
        "public",
        "route_table",
        "serve",
    ]


def test_the_documented_roles_are_the_roles() -> None:
    assert Role.__args__ == ROLES  # type: ignore[attr-defined]
