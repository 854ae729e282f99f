"""Writing the audit log: who did what to what, as which role, with what outcome.

Only the acting user's name is personal data here; targets are ids from the
request path (``incident_id=inc-…``), never bodies or query strings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from citywatch.api.auth import Principal
from citywatch.api.context import context
from citywatch.api.problems import request_id
from citywatch.store.base import AuditEntry

ANONYMOUS = "anonymous"


def outcome(status: int) -> str:
    """``success`` below 400, ``denied`` for 401/403/429, else ``failure``."""
    if status < 400:
        return "success"
    return "denied" if status in (401, 403, 429) else "failure"


def record(
    request: Request, principal: Principal | None, role: str | None, action: str, status: int
) -> None:
    """Append one entry for this request (``request.state.audit_actor`` names a login)."""
    actor = principal.name if principal else getattr(request.state, "audit_actor", ANONYMOUS)
    if role is None:
        role = ",".join(sorted(principal.roles)) if principal else "-"
    target = ",".join(f"{k}={v}" for k, v in sorted(request.path_params.items()))
    context(request).store.append_audit(
        AuditEntry(
            at=datetime.now(tz=UTC),
            actor=str(actor),
            role=role or "-",
            action=action,
            target=target[:200],
            request_id=request_id(request),
            outcome=outcome(status),
            status=status,
        )
    )
