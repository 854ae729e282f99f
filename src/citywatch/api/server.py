"""``citywatch serve``: the API and dashboard with a live pipeline, on SQLite or PostgreSQL.

With a bus (``bus_url``), the server runs no pipeline: what it ingests goes
out on the bus to the workers, and its live feed follows what the correlator
worker stores (:mod:`citywatch.scaleout.live`).
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NamedTuple

import uvicorn
from fastapi import FastAPI

from citywatch.api.credentials import hash_password, new_password
from citywatch.api.rbac import ADMIN
from citywatch.app import city_store
from citywatch.config import Settings
from citywatch.errors import ConfigError, masked_url
from citywatch.live import LiveInput, open_live
from citywatch.store import Store
from citywatch.store.base import User
from citywatch.store.retention import Pruner

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


class Serving(NamedTuple):
    """What ``citywatch serve`` serves: the app, its store, and a new admin's password."""

    app: FastAPI
    store: Store
    admin_password: str | None
    """The one-time password of the ``admin`` user just created, or None if an admin exists."""


@contextmanager
def serving(settings: Settings, *, tls: bool = False) -> Iterator[Serving]:
    """The API and dashboard on the store at ``settings.store``, with a live pipeline.

    With a bus, a publisher that follows the correlator worker instead of the
    pipeline. Opens (and migrates) the store, creates an admin if none exists,
    and on exit closes the pipeline (checkpointing its state) and the store.
    """
    # The dashboard is built on this package, so it is imported when serving, not before.
    from citywatch.web import create_app  # noqa: PLC0415

    store = city_store(settings)
    pipeline: LiveInput | None = None
    try:
        password = ensure_admin(store)
        pipeline = open_live(settings, store, command="serve", inputs=["api"], follow=True)
        config = settings.api.model_copy(update={"tls": tls})
        app = create_app(settings, store, pipeline=pipeline, config=config)
        yield Serving(app=app, store=store, admin_password=password)
    finally:
        if pipeline is not None:
            pipeline.close()
        store.close()


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the API and dashboard until interrupted; prints the URL and a new admin's password."""
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("give both --tls-cert and --tls-key, or neither", where="serve")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise ConfigError("file not found", where=str(path))
    _bindable(host, port)
    with serving(settings, tls=tls_cert is not None) as served:
        scheme = "https" if tls_cert else "http"
        # the store's URL as it shows it: a PostgreSQL password is masked
        announce(f"citywatch dashboard on {scheme}://{host}:{port}/ (store {served.store.url})")
        announce(f"API docs on {scheme}://{host}:{port}/api/docs")
        if settings.bus_url:
            announce(
                f"ingest goes out on the bus {masked_url(settings.bus_url)}: the workers detect"
            )
        if served.admin_password is not None:
            announce(f"created user {ADMIN_NAME!r} with one-time password: {served.admin_password}")
            announce(f"it is shown once: set your own with PATCH /api/v1/users/{ADMIN_NAME}")
        sys.stdout.flush()
        pruner = Pruner(served.store, settings.retention)  # the retention policy, every day
        pruner.start()
        before = _stop_on_term()
        try:
            uvicorn.run(
                served.app,
                host=host,
                port=port,
                ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None,
                log_level="warning",
                server_header=False,
                timeout_graceful_shutdown=5,
            )
        finally:
            pruner.stop()
            if before is not None:
                signal.signal(signal.SIGTERM, before)


def _bindable(host: str, port: int) -> None:
    """Raise :class:`ConfigError` when ``host:port`` cannot be listened on (another server
    holds it): before the admin is made, whose one-time password a failed start printed
    and the next start did not print again."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen there: {exc.strerror or exc}", where=f"{host}:{port}"
        ) from exc


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_on_term() -> Callable[[int, FrameType | None], object] | int | None:
    """Make SIGTERM (what systemd, Docker and Kubernetes send) stop the server as Ctrl-C does;
    the handler it replaces (None: not the main thread, where handlers cannot be set).

    uvicorn shuts down on it, then sends it to the process again: its default action ended
    the process there, before the live pipeline's checkpoint and the store's close, and a
    restart split what it was following (an attacker's attempts into two detections).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)
