"""The scale-out mode's store: ``citywatch serve --config prod.toml`` on PostgreSQL, end to end.

What ``serve`` builds (:func:`citywatch.api.server.serving`) from a ``prod.toml``
whose ``store_url`` is the session's PostgreSQL database, driven through
FastAPI's TestClient: an admin logs in, the portal's requests go through the
live pipeline into PostgreSQL, and the incidents come back through the API,
also after a restart.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

from fastapi.testclient import TestClient

from citywatch.api.server import serving
from citywatch.config import load_settings
from citywatch.detect import DETECTORS
from citywatch.model import IncidentStatus
from citywatch.store import open_store
from citywatch.store.postgres import PostgresStore


def scanner_requests(count: int) -> bytes:
    """The portal's own request log: a scanner (sqlmap) sweeping the citizen portal."""
    records = [
        {
            "id": f"r-{n}",
            "method": "GET",
            "uri": f"/services/permits?id={n}",
            "headers": [["Host", "portal.example"], ["User-Agent", "sqlmap/1.7#stable"]],
            "@timestamp": f"2026-03-01T10:00:{n:02d}Z",
            "source.ip": "203.0.113.9",
        }
        for n in range(count)
    ]
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def test_serve_with_a_prod_toml_keeps_a_live_pipeline_s_incidents_in_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    prod = tmp_path / "prod.toml"
    only_sigma = [name for name in DETECTORS if name != "sigma"]  # sigma flags sqlmap's agent
    prod.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'store_url = "{postgres_url}"\n'
        f"disabled = {json.dumps(only_sigma)}\n"
    )
    settings = load_settings(prod)
    assert settings.store == postgres_url

    with serving(settings) as served, TestClient(served.app) as client:
        assert isinstance(served.store, PostgresStore)
        assert served.admin_password is not None
        login = client.post(
            "/api/v1/auth/login", json={"name": "admin", "password": served.admin_password}
        )
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        sent = client.post(
            "/api/v1/ingest/http-jsonl?source=portal-gw-1",
            content=scanner_requests(5),
            headers={**csrf, "Content-Type": "application/x-ndjson"},
        )
        assert sent.status_code == 202, sent.text
        assert sent.json() == {"accepted": 5, "dead_letters": 0, "reasons": []}

        (listed,) = client.get("/api/v1/incidents").json()
        assert listed["status"] == "new"
        assert listed["entities"]["source.ip"] == ["203.0.113.9"]
        detections = client.get("/api/v1/detections").json()
        assert [d["id"] for d in detections] == listed["detections"]
        moved = client.post(
            f"/api/v1/incidents/{listed['id']}/transition",
            json={"to": "acknowledged", "note": "on it"},
            headers=csrf,
        )
        assert moved.status_code == 200, moved.text

    # what the API showed is in PostgreSQL, with the run that wrote it
    with closing(open_store(postgres_url)) as store:
        (stored,) = store.incidents(status=IncidentStatus.ACKNOWLEDGED)
        assert stored.id == listed["id"]
        assert [c.by for c in stored.history][-1] == "admin"
        (run,) = store.runs()
        assert run.finished is not None
        assert run.stats["detections.sigma"] == 1
        assert sum(n for key, n in run.stats.items() if key.startswith("events.")) == 5

    # a restart on the same database keeps the admin, the incident and its status
    with serving(settings) as again, TestClient(again.app) as client:
        assert again.admin_password is None
        client.post("/api/v1/auth/login", json={"name": "admin", "password": served.admin_password})
        (after,) = client.get("/api/v1/incidents").json()
        assert (after["id"], after["status"]) == (listed["id"], "acknowledged")
