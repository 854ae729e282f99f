"""Ingest over HTTP into the real live pipeline: NDJSON, JSON, dead letters, limits."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from citywatch.api import create_app
from citywatch.config import Settings
from citywatch.store import Store

Auth = Callable[[str], dict[str, str]]
NDJSON = {"Content-Type": "application/x-ndjson"}


def request(
    n: int, agent: str = "Mozilla/5.0", uri: str = "/services/permits"
) -> dict[str, object]:
    return {
        "id": f"r-{n}",
        "method": "GET",
        "uri": uri,
        "headers": [["Host", "portal.example"], ["User-Agent", agent]],
        "@timestamp": f"2026-03-01T10:00:{n:02d}Z",
        "source.ip": "203.0.113.9",
    }


def ndjson(records: list[dict[str, object]]) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in records) + b"\n"


def test_an_ndjson_batch_is_accepted_and_reaches_the_store(
    client: TestClient, store: Store, auth: Auth
) -> None:
    records = [request(n, agent="sqlmap/1.7#stable") for n in range(5)]
    response = client.post(
        "/api/v1/ingest/http-jsonl?source=portal-gw-1",
        content=ndjson(records) + b"\n\n",
        headers={**auth("ingest"), **NDJSON},
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 5, "dead_letters": 0, "reasons": []}
    found = store.detections()
    assert len(found) == 1
    assert (
        "sqlmap" in json.dumps(found[0].attributes) + found[0].summary + found[0].rule_name.lower()
    )
    assert len(store.incidents()) == 1


def test_bad_records_become_dead_letters_with_reasons(
    client: TestClient, store: Store, auth: Auth
) -> None:
    body = ndjson([request(1)]) + b'{"id": "r-2", "uri": "/no-method"}\n{not json\r\n'
    response = client.post(
        "/api/v1/ingest/http-jsonl", content=body, headers={**auth("admin"), **NDJSON}
    )
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 1
    assert result["dead_letters"] == 2
    assert len(result["reasons"]) == 2
    assert result["reasons"][0].startswith("2: ")
    assert "method" in result["reasons"][0]
    letters = store.dead_letters()
    assert [d.raw for d in letters] == [b'{"id": "r-2", "uri": "/no-method"}', b"{not json"]
    assert all(d.source.startswith("api/api/") for d in letters)
    counts = client.get("/api/v1/dead-letters/counts", headers=auth("viewer")).json()
    assert sum(c["count"] for c in counts) == 2


def test_single_json_records_and_arrays(client: TestClient, store: Store, auth: Auth) -> None:
    headers = {**auth("ingest"), "Content-Type": "application/json; charset=utf-8"}
    pretty = json.dumps(request(1), indent=2)
    single = client.post("/api/v1/ingest/http-jsonl", content=pretty, headers=headers)
    assert single.json() == {"accepted": 1, "dead_letters": 0, "reasons": []}
    batch = client.post(
        "/api/v1/ingest/http-jsonl", json=[request(2), request(3), {"id": "x"}], headers=headers
    )
    assert batch.json()["accepted"] == 2
    assert batch.json()["dead_letters"] == 1
    broken = client.post("/api/v1/ingest/http-jsonl", content=b'{"id": ', headers=headers)
    assert broken.json() == {"accepted": 0, "dead_letters": 1, "reasons": broken.json()["reasons"]}
    assert store.dead_letters()[-1].raw == b'{"id": '


def test_a_body_starting_with_a_byte_order_mark_loses_no_record(
    client: TestClient, auth: Auth
) -> None:
    # Files dropped the mark; a body sent to ingest lost its first record to a dead letter
    # (a JSON body all of them), on either kind of pipeline.
    bom = b"\xef\xbb\xbf"
    lines = client.post(
        "/api/v1/ingest/http-jsonl",
        content=bom + ndjson([request(n) for n in range(3)]),
        headers={**auth("ingest"), **NDJSON},
    )
    assert lines.json() == {"accepted": 3, "dead_letters": 0, "reasons": []}
    whole = client.post(
        "/api/v1/ingest/http-jsonl",
        content=bom + json.dumps([request(n) for n in range(3, 6)]).encode(),
        headers={**auth("ingest"), "Content-Type": "application/json"},
    )
    assert whole.json() == {"accepted": 3, "dead_letters": 0, "reasons": []}


def test_text_formats_take_lines(client: TestClient, auth: Auth) -> None:
    line = (
        b"203.0.113.9 - - [01/Mar/2026:10:00:00 +0000]"
        b' "GET /services HTTP/1.1" 200 512 "-" "curl/8"'
    )
    response = client.post(
        "/api/v1/ingest/access-log",
        content=line + b"\n" + b"garbage\n",
        headers={**auth("ingest"), "Content-Type": "text/plain"},
    )
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert response.json()["dead_letters"] == 1


def test_an_unknown_format_is_404(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/ingest/fax-machine", content=b"x\n", headers={**auth("ingest"), **NDJSON}
    )
    assert response.status_code == 404
    assert response.json()["type"] == "urn:citywatch:problem:unknown-format"


def test_without_a_live_pipeline_ingest_is_503(
    settings: Settings, store: Store, auth: Auth
) -> None:
    client = TestClient(create_app(settings, store))
    response = client.post(
        "/api/v1/ingest/http-jsonl", content=b"{}\n", headers={**auth("ingest"), **NDJSON}
    )
    assert response.status_code == 503
    assert response.json()["type"] == "urn:citywatch:problem:ingest-unavailable"


def test_ingest_tokens_only_ingest(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/v1/incidents", headers=auth("ingest")).status_code == 403
    assert client.get("/api/v1/stream?max_events=0", headers=auth("ingest")).status_code == 403
    assert (
        client.post(
            "/api/v1/ingest/http-jsonl", content=b"", headers={**auth("viewer"), **NDJSON}
        ).status_code
        == 403
    )


def test_source_names_are_checked(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/ingest/http-jsonl?source=../../etc",
        content=b"{}\n",
        headers={**auth("ingest"), **NDJSON},
    )
    assert response.status_code == 422
