"""The IoT fleet's files: real formats the adapters read, truth per record and per device."""

from __future__ import annotations

from pathlib import Path

import pytest

from citywatch.ingest import ADAPTERS
from citywatch.ingest.inventory import load_inventory
from citywatch.model import DeadLetter
from citywatch.simulate import Manifest, load_situations, read_truth, simulate
from citywatch.simulate.iot.fleet import PORTAL_IP
from citywatch.simulate.iot.write import INVENTORY, TRUTH


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iot")
    simulate(2, out, hours=6.0, residents=200)
    return out


def test_every_iot_input_parses_and_has_one_truth_line_per_record(city: Path) -> None:
    truth = {t.id: t for t in read_truth(city / TRUTH)}
    ids = []
    for spec in [i for i in Manifest.load(city).inputs if i.path.startswith("iot-")]:
        adapter = ADAPTERS[spec.format]()
        with (city / spec.path).open("rb") as lines:
            items = list(adapter.parse(spec.path, lines))
        assert not [i for i in items if isinstance(i, DeadLetter)], spec.path
        for item in items:
            assert not isinstance(item, DeadLetter)
            assert truth[item.id].file == spec.path
            ids.append(item.id)
    assert sorted(ids) == sorted(truth)


def test_the_flood_comes_from_the_infected_devices_and_the_inventory_loads(city: Path) -> None:
    (botnet,) = [s for s in load_situations(city) if s.id == "iot-botnet"]
    devices = botnet.entities["device.id"]
    assert len(devices) == 8 and botnet.silo == "iot"
    inventory = load_inventory(city / INVENTORY)
    assert not inventory.errors and len(inventory) == 240
    ips = {inventory.get(d).ip for d in devices}  # type: ignore[union-attr]
    flood = {p.actor for p in botnet.phases if p.technique == "http-flood"}
    assert flood == set(devices)
    sources = {ip for p in botnet.phases if p.technique == "http-flood" for ip in p.source_ips}
    assert sources == ips
    assert PORTAL_IP in (city / "iot-conn.log").read_text()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        simulate(4, tmp_path / name, hours=1.0, residents=100)
    for file in ("iot-conn.log", "iot-dns.log", "iot-telemetry.jsonl", TRUTH):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
