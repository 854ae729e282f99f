"""Citizens' data stays private: what the store keeps never names a benign citizen.

Runs the whole synthetic city through the pipeline into a real SQLite store,
then searches every byte the store wrote (database, WAL, checkpoints) for
every benign client's address and every resident's account name and e-mail.
"""

from __future__ import annotations

import json
from pathlib import Path

from citywatch.app import analyse
from citywatch.config import load_settings
from citywatch.pipeline import InputSpec
from citywatch.simulate import build_city, read_truth, simulate
from citywatch.store import open_store


def test_store_never_holds_benign_citizens_identifiers(tmp_path: Path) -> None:
    city_dir = tmp_path / "city"
    simulate(2, city_dir, residents=1500, hours=6.0)
    settings = load_settings(data_dir=tmp_path / "data")
    store = open_store(settings.store)
    try:
        analyse(
            settings,
            [
                InputSpec.parse(f"http-jsonl:{city_dir / 'portal.http.jsonl'}"),
                InputSpec.parse(f"access-log:{city_dir / 'portal-access.log'}"),
            ],
            store,
            command="privacy-test",
        )
        assert store.detections(), "the test needs detections to be meaningful"
    finally:
        store.close()

    labels = {t.id: t.label for t in read_truth(city_dir / "truth.jsonl")}
    benign_ips: set[str] = set()
    attack_ips: set[str] = set()
    with (city_dir / "portal.http.jsonl").open() as fh:
        for line in fh:
            rec = json.loads(line)
            (attack_ips if labels[rec["id"]] == "malicious" else benign_ips).add(rec["source.ip"])
    benign_ips -= attack_ips  # a shared NAT may carry both
    residents = build_city(2, residents=1500).residents
    secrets_ = {ip.encode() for ip in benign_ips}
    secrets_ |= {r.username.encode() for r in residents} | {r.email.encode() for r in residents}
    assert len(secrets_) > 1000

    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    leaked = sorted(s for s in secrets_ if s in stored)
    assert leaked == [], f"citizens' identifiers in the store: {leaked[:10]}"
    assert any(ip.encode() in stored for ip in attack_ips), "attackers are named, for blocking"
