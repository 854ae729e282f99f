"""The SQL stores' access tables: users, API tokens, sessions, public alerts, the audit log.

A mixin of :class:`citywatch.store.sql.SqlStore`, shared by SQLite and
PostgreSQL; the tables come with schema versions 2 and 3. Only SHA-256
digests of tokens and sessions are kept; the audit table refuses UPDATE and
DELETE (triggers).
"""

from __future__ import annotations

from datetime import datetime

from citywatch.model import from_epoch, to_epoch
from citywatch.store.base import ApiToken, AuditEntry, Session, StoredAlert, User
from citywatch.store.sql_base import SqlBase


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


class AccessTables(SqlBase):
    """Users, tokens, sessions, public alerts and the audit log."""

    # -- users, tokens, sessions -------------------------------------------------------------

    def add_user(self, user: User) -> None:
        """Add a user; a name already taken raises :class:`StoreError`."""
        row = (user.name, self._json(user.roles), user.password_hash, to_epoch(user.created))
        with self._transaction() as conn:
            conn.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?)", (*row, user.disabled))

    def user(self, name: str) -> User | None:
        """One user by name, or None."""
        users = self._users("WHERE name = ?", (name,))
        return users[0] if users else None

    def update_user(self, user: User) -> bool:
        """Replace a user's roles, password hash and disabled flag; False if there is none."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET roles = ?, password_hash = ?, disabled = ? WHERE name = ?",
                (self._json(user.roles), user.password_hash, user.disabled, user.name),
            )
            return cursor.rowcount > 0

    def users(self) -> list[User]:
        """Every user, by name."""
        return self._users("", ())

    def _users(self, where: str, params: tuple[object, ...]) -> list[User]:
        rows = self._query(
            f"SELECT name, roles, password_hash, created, disabled FROM users {where}"  # noqa: S608
            " ORDER BY name",
            params,
        )
        return [
            User(
                name=name,
                roles=self._roles_decoder.decode(roles),
                password_hash=password_hash,
                created=from_epoch(created),
                disabled=bool(disabled),
            )
            for name, roles, password_hash, created, disabled in rows
        ]

    def add_token(self, token: ApiToken) -> None:
        """Record a new API token (its digest only)."""
        row = (token.id, token.digest, token.user, token.label, self._json(token.roles))
        times = (to_epoch(token.created), _epoch(token.expires), _epoch(token.revoked))
        with self._transaction() as conn:
            conn.execute("INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, *times))

    def token(self, digest: str) -> ApiToken | None:
        """The token whose secret has this SHA-256 hex digest, or None."""
        tokens = self._tokens("WHERE digest = ?", (digest,))
        return tokens[0] if tokens else None

    def tokens(self, *, user: str | None = None) -> list[ApiToken]:
        """Tokens by creation time, optionally of one user."""
        return self._tokens("", ()) if user is None else self._tokens('WHERE "user" = ?', (user,))

    def _tokens(self, where: str, params: tuple[object, ...]) -> list[ApiToken]:
        rows = self._query(
            'SELECT id, digest, "user", label, roles, created, expires, revoked'  # noqa: S608
            f" FROM api_tokens {where} ORDER BY created, id",
            params,
        )
        return [
            ApiToken(
                id=token_id,
                digest=digest,
                user=user,
                label=label,
                roles=self._roles_decoder.decode(roles),
                created=from_epoch(created),
                expires=None if expires is None else from_epoch(expires),
                revoked=None if revoked is None else from_epoch(revoked),
            )
            for token_id, digest, user, label, roles, created, expires, revoked in rows
        ]

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Revoke a token; False if there is no such token or it was already revoked."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (to_epoch(at), token_id),
            )
            return cursor.rowcount > 0

    def add_session(self, session: Session) -> None:
        """Record a new dashboard session (the digest of its cookie only)."""
        row = (session.digest, session.user, session.csrf)
        times = (to_epoch(session.created), to_epoch(session.expires))
        with self._transaction() as conn:
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (*row, *times))

    def session(self, digest: str) -> Session | None:
        """The session whose cookie has this SHA-256 hex digest, or None."""
        rows = self._query(
            'SELECT digest, "user", csrf, created, expires FROM sessions WHERE digest = ?',
            (digest,),
        )
        return (
            Session(
                digest=rows[0][0],
                user=rows[0][1],
                csrf=rows[0][2],
                created=from_epoch(rows[0][3]),
                expires=from_epoch(rows[0][4]),
            )
            if rows
            else None
        )

    def delete_session(self, digest: str) -> None:
        """End a session (idempotent)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE digest = ?", (digest,))

    def delete_sessions(self, user: str) -> int:
        """End every session of ``user``; returns how many."""
        with self._transaction() as conn:
            return conn.execute('DELETE FROM sessions WHERE "user" = ?', (user,)).rowcount

    def delete_expired_sessions(self, now: datetime) -> int:
        """Remove sessions that expired before ``now``; returns how many."""
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM sessions WHERE expires < ?", (to_epoch(now),))
            return cursor.rowcount

    # -- public alerts -----------------------------------------------------------------------

    def save_alert(self, stored: StoredAlert) -> None:
        """Insert a public alert, or replace the one with the same identifier."""
        a = stored.alert
        row = (a.identifier, to_epoch(a.sent), _epoch(stored.published), self._encoder.encode(a))
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO public_alerts (identifier, sent, published, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(identifier) DO UPDATE SET sent = excluded.sent,"
                " published = excluded.published, doc = excluded.doc",
                row,
            )

    def alert(self, identifier: str) -> StoredAlert | None:
        """One public alert by its CAP identifier, or None."""
        rows = self._query(
            "SELECT doc, published FROM public_alerts WHERE identifier = ?", (identifier,)
        )
        return self._stored_alert(*rows[0]) if rows else None

    def alerts(self, *, published: bool | None = None, limit: int = 100) -> list[StoredAlert]:
        """Public alerts, most recently sent first; ``published`` keeps only (un)published ones."""
        clauses = [] if published is None else [f"published IS {'NOT ' if published else ''}NULL"]
        rows = self._select(
            "doc, published", "public_alerts", clauses, "sent DESC, identifier", [], limit
        )
        return [self._stored_alert(doc, at) for doc, at in rows]

    def _stored_alert(self, doc: bytes, published: float | None) -> StoredAlert:
        alert = self._alert_decoder.decode(doc)
        return StoredAlert(
            alert=alert, published=None if published is None else from_epoch(published)
        )

    # -- audit -------------------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> int:
        """Append an entry to the audit log; triggers refuse any UPDATE or DELETE of it."""
        row = (to_epoch(entry.at), entry.actor, entry.role, entry.action, entry.target)
        with self._transaction() as conn:
            (seq,) = conn.execute(
                "INSERT INTO audit (at, actor, role, action, target, request_id, outcome, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                (*row, entry.request_id, entry.outcome, entry.status),
            ).fetchall()
            return int(seq[0])

    def audit(self, *, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Audit entries newest first; ``before`` pages back from a ``seq`` (exclusive)."""
        clauses = [] if before is None else ["seq < ?"]
        params: list[object] = [] if before is None else [before]
        columns = "seq, at, actor, role, action, target, request_id, outcome, status"
        rows = self._select(columns, "audit", clauses, "seq DESC", params, limit)
        return [
            AuditEntry(
                seq=seq,
                at=from_epoch(at),
                actor=actor,
                role=role,
                action=action,
                target=target,
                request_id=request_id,
                outcome=outcome,
                status=status,
            )
            for seq, at, actor, role, action, target, request_id, outcome, status in rows
        ]
