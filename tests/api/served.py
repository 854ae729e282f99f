"""An ASGI app served by a real uvicorn server in a thread, for tests that need a socket."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Literal

import uvicorn
from fastapi import FastAPI


@contextlib.contextmanager
def uvicorn_thread(app: FastAPI, lifespan: Literal["auto", "on", "off"] = "auto") -> Iterator[str]:
    """Serve ``app`` on a free local port until the block ends; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
