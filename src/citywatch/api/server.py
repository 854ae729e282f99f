"""``citywatch serve``: the API and dashboard on the embedded store with a live pipeline."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from citywatch.api.credentials import hash_password, new_password
from citywatch.api.rbac import ADMIN
from citywatch.config import Settings
from citywatch.errors import ConfigError
from citywatch.live import LivePipeline
from citywatch.store import Store, open_store
from citywatch.store.base import User

ADMIN_NAME = "admin"


def ensure_admin(store: Store) -> str | None:
    """Create the ``admin`` user if no enabled admin exists; its one-time password, or None."""
    if any(ADMIN in u.roles and not u.disabled for u in store.users()):
        return None
    if store.user(ADMIN_NAME) is not None:
        raise ConfigError(
            f"no enabled admin, and the name {ADMIN_NAME!r} is taken by a user who is not one",
            where="users",
        )
    password = new_password()
    store.add_user(
        User(
            name=ADMIN_NAME,
            roles=[ADMIN],
            password_hash=hash_password(password),
            created=datetime.now(tz=UTC),
        )
    )
    return password


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    city: Path | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the API and dashboard until interrupted; prints the URL and a new admin's password.

    ``city`` is the map's ``city.geojson`` (default: the newest under the data dir).
    """
    # The dashboard is built on this package, so it is imported when serving, not before.
    from citywatch.web import CityMap, create_app  # noqa: PLC0415

    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("give both --tls-cert and --tls-key, or neither", where="serve")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise ConfigError("file not found", where=str(path))
    store = open_store(settings.store)
    pipeline: LivePipeline | None = None
    try:
        password = ensure_admin(store)
        pipeline = LivePipeline(settings, store)
        config = settings.api.model_copy(update={"tls": tls_cert is not None})
        city_map = CityMap.load(city) if city else CityMap.find(settings.data_dir)
        app = create_app(settings, store, pipeline=pipeline, config=config, city=city_map)
        scheme = "https" if tls_cert else "http"
        announce(f"citywatch dashboard on {scheme}://{host}:{port}/ (store {settings.store})")
        announce(f"API docs on {scheme}://{host}:{port}/api/docs")
        if password is not None:
            announce(f"created user {ADMIN_NAME!r} with one-time password: {password}")
        sys.stdout.flush()
        uvicorn.run(
            app,
            host=host,
            port=port,
            ssl_certfile=str(tls_cert) if tls_cert else None,
            ssl_keyfile=str(tls_key) if tls_key else None,
            log_level="warning",
            server_header=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        if pipeline is not None:
            pipeline.close()
        store.close()
