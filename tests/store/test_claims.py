"""Claims: one process holds a name until it lets go or dies (one worker per consumer)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from citywatch.store import open_store

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_a_name_is_held_by_one_store_until_released(url: str) -> None:
    with open_store(url) as first, open_store(url) as second:
        held = first.claim("consumer EVENTS/detect-web-attacks")
        assert held is not None
        assert second.claim("consumer EVENTS/detect-web-attacks") is None
        other = second.claim("consumer EVENTS/detect-login-abuse")  # another name is free
        assert other is not None
        held.release()
        held.release()  # idempotent
        again = second.claim("consumer EVENTS/detect-web-attacks")
        assert again is not None
        again.release()
        other.release()


def test_a_process_that_dies_holding_a_name_lets_it_go(url: str) -> None:
    # A worker killed with -9 must not keep its consumer from the next one for ever.
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from citywatch.store import open_store\n"
            "claim = open_store(sys.argv[1]).claim('consumer X/y')\n"
            "print('held' if claim else 'refused', flush=True)\n"
            "time.sleep(60)\n",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": SRC},
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            with open_store(url) as store:
                assert store.claim("consumer X/y") is None
                holder.kill()
                holder.wait(timeout=10)
                claim = store.claim("consumer X/y")
                assert claim is not None
                claim.release()
        finally:
            if holder.poll() is None:
                holder.kill()


def test_a_claim_knows_when_it_is_no_longer_held(
    url: str, drop_claim_connection: Callable[[str, str], None]
) -> None:
    # A PostgreSQL claim lives on a connection of its own: when the server dropped it, the
    # worker ran on as if it held its consumer, and a second worker was let in beside it.
    with open_store(url) as first, open_store(url) as second:
        claim = first.claim("consumer X/y")
        assert claim is not None and claim.held()
        if url.startswith("postgresql"):
            drop_claim_connection(url, "consumer X/y")
            assert not claim.held()
            taken = second.claim("consumer X/y")
            assert taken is not None and taken.held()
            taken.release()
        claim.release()
        assert not claim.held()
