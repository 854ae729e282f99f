"""The IoT benchmark: quality on the ``iot-botnet`` scenario, and Zeek conn speed.

Quality: the synthetic city's fleet (Zeek conn and dns logs, MQTT telemetry)
runs through the ``iot-fleet`` detector in event time; against the truth it
gives time-to-detect per infected device (first compromise detection minus
the device's first malicious record), device precision and recall (any
compromise rule on a device counts as flagging it), and record-level ROC AUC.
The peers score the very same per-connection features
(:data:`citywatch.detect.iot.score.FEATURES`): River's HalfSpaceTrees and LODA
online (score, then learn, every record), PyOD's IsolationForest fitted on
the first 15 % of the connections (before the infection) and scoring all.

Speed: Zeek conn records per CPU-second on a 200,000-record log of a
400-device fleet, and on the same log where one device scans tens of
thousands of addresses (a quarter of the records): parsed by the ``zeek-conn``
adapter and run through the detector in this process, and through the whole
``citywatch analyse`` (enrich, every detector, correlate, SQLite store) in a
child process, as users run it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from citywatch.bench.runner import run_cli
from citywatch.bench.zeekgen import write_conn_log
from citywatch.detect.iot import IotFleet
from citywatch.detect.iot.config import IotConfig
from citywatch.detect.iot.rules import COMPROMISE
from citywatch.detect.iot.score import Features
from citywatch.detect.runner import DetectorRunner
from citywatch.ingest import ADAPTERS
from citywatch.model import DeadLetter, Detection, Event
from citywatch.simulate import load_situations, read_truth, simulate
from citywatch.simulate.iot.write import CONN, DNS, INVENTORY, TELEMETRY, TRUTH
from citywatch.simulate.schedule import SITUATION_IOT_BOTNET

TTD_TARGET_S: Final = 60.0
AUC_TARGET: Final = 0.99
SPEED_TARGET: Final = 50_000.0
_SWEEP_S = 60.0


class Quality(msgspec.Struct, kw_only=True):
    records: int
    connections: int
    infected: int
    flagged: int
    false_positives: list[str]
    missed: list[str]
    precision: float
    recall: float
    ttd_s: dict[str, float]
    """Seconds from each infected device's first malicious record to its first detection."""
    auc_all: float
    """Record-level AUC of citywatch over every record (conn, dns, telemetry)."""
    auc_conn: dict[str, float]
    """Record-level AUC over the connections, citywatch and each peer on the same features."""
    peer_s: dict[str, float]


class Speed(msgspec.Struct, kw_only=True):
    label: str
    records: int
    cpu_s: float
    records_per_cpu_s: float
    detector_cpu_s: float | None
    """CPU seconds in the detector alone (in-process rows only)."""
    meets_target: bool


def _events(path: Path, fmt: str) -> Iterator[Event]:
    adapter = ADAPTERS[fmt]()
    with path.open("rb") as lines:
        for item in adapter.parse(path.name, lines):
            if not isinstance(item, DeadLetter):
                yield item


def _run(detector: IotFleet, events: list[Event]) -> list[Detection]:
    errors: list[Exception] = []
    runner = DetectorRunner(detector, lambda _n, _e, exc: errors.append(exc))
    out: list[Detection] = []
    sweep = -1.0
    for event in events:
        runner.process(event, out)
        if event.timestamp >= sweep:
            runner.advance(event.timestamp - 300.0, out)
            sweep = event.timestamp + _SWEEP_S
    runner.flush(out)
    if errors:
        raise errors[0]
    return out


def quality(work: Path, seed: int = 1) -> Quality:
    """Run the scenario and score citywatch and the peers against its truth."""
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    city = work / f"city-{seed}"
    simulate(seed, city)
    events = [
        *_events(city / CONN, "zeek-conn"),
        *_events(city / DNS, "zeek-dns"),
        *_events(city / TELEMETRY, "mqtt-jsonl"),
    ]
    events.sort(key=lambda e: e.timestamp)
    truth = {t.id: t.label == "malicious" for t in read_truth(city / TRUTH)}
    scored: list[tuple[str, float, Features | None]] = []
    detector = IotFleet(IotConfig(inventory=city / INVENTORY))
    detector.on_score = lambda e, s, f: scored.append((e.id, s, f))
    final = {d.id: d for d in _run(detector, events)}
    (situation,) = [s for s in load_situations(city) if s.id == SITUATION_IOT_BOTNET]
    start: dict[str, float] = {}
    for phase in situation.phases:
        t = datetime.fromisoformat(phase.start).timestamp()
        start[phase.actor] = min(start.get(phase.actor, t), t)
    flagged: dict[str, float] = {}
    for det in final.values():
        if det.rule_id in COMPROMISE:
            dev = det.entity["device.id"]
            flagged[dev] = min(
                flagged.get(dev, det.timestamp.timestamp()), det.timestamp.timestamp()
            )
    hits = set(flagged) & set(start)
    conns = [(rid, s, f) for rid, s, f in scored if f is not None]
    labels = [truth[rid] for rid, _, _ in conns]
    auc = {"citywatch": float(roc_auc_score(labels, [s for _, s, _ in conns]))}
    peer_s: dict[str, float] = {}
    for name, scores, seconds in _peers([f for _, _, f in conns if f is not None]):
        auc[name] = float(roc_auc_score(labels, scores))
        peer_s[name] = round(seconds, 2)
    return Quality(
        records=len(scored),
        connections=len(conns),
        infected=len(start),
        flagged=len(flagged),
        false_positives=sorted(set(flagged) - set(start)),
        missed=sorted(set(start) - set(flagged)),
        precision=round(len(hits) / max(1, len(flagged)), 4),
        recall=round(len(hits) / max(1, len(start)), 4),
        ttd_s={d: round(flagged[d] - start[d], 1) for d in sorted(hits)},
        auc_all=float(roc_auc_score([truth[r] for r, _, _ in scored], [s for _, s, _ in scored])),
        auc_conn={k: round(v, 5) for k, v in auc.items()},
        peer_s=peer_s,
    )


def _peers(features: list[Features]) -> Iterator[tuple[str, list[float], float]]:
    """Each peer's scores of the connections, and the CPU seconds it took."""
    import numpy as np  # noqa: PLC0415 - bench extra
    from pyod.models.iforest import IForest  # noqa: PLC0415
    from river import anomaly  # noqa: PLC0415

    names = [f"f{i}" for i in range(len(features[0]))]
    rows = [dict(zip(names, f, strict=True)) for f in features]
    for name, model in (
        ("river HalfSpaceTrees", anomaly.HalfSpaceTrees(n_trees=25, height=8, seed=1)),
        ("river LODA", anomaly.LODA(seed=1)),
    ):
        t = time.process_time()
        scores = []
        for x in rows:
            scores.append(float(model.score_one(x)))
            model.learn_one(x)
        yield name, scores, time.process_time() - t
    t = time.process_time()
    matrix = np.asarray(features, dtype=float)
    forest = IForest(n_estimators=100, random_state=1)
    forest.fit(matrix[: max(10, len(matrix) * 15 // 100)])
    yield "PyOD IForest", forest.decision_function(matrix).tolist(), time.process_time() - t


def _fleet_inventory(path: Path) -> None:
    """An inventory for :func:`write_conn_log`'s 400 hosts (cameras and sensors)."""
    lines = ["device_id,ip,class"]
    lines += [
        f"d-{i:04d},10.20.{i // 250}.{i % 250 + 1},{('camera', 'sensor')[i % 2]}"
        for i in range(400)
    ]
    path.write_text("\n".join(lines) + "\n")


def _with_scanner(src: Path, dst: Path, share: float, seed: int = 2) -> None:
    """``src`` with a share of its records replaced by one device scanning new addresses."""
    rng = random.Random(seed)
    with src.open() as lines, dst.open("w") as out:
        for line in lines:
            if line.startswith("#") or rng.random() >= share:
                out.write(line)
                continue
            cols = line.split("\t")
            cols[2] = "10.20.0.7"
            cols[4] = (
                f"{rng.randint(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"  # noqa: E501
            )
            cols[5] = "23" if rng.random() < 0.8 else "2323"
            cols[7], cols[9], cols[10], cols[11], cols[15] = "-", "0", "0", "S0", "S"
            out.write("\t".join(cols))


def speed(work: Path, records: int = 200_000) -> list[Speed]:
    """Zeek conn records per CPU-second (parse + detect), plain and with a scanning device."""
    work.mkdir(parents=True, exist_ok=True)
    plain = work / f"iot-conn-{records}.log"
    if not plain.exists():
        write_conn_log(plain, records)
    scanning = work / f"iot-conn-{records}-scan.log"
    _with_scanner(plain, scanning, 0.25)
    inventory = work / "iot-bench-inventory.csv"
    _fleet_inventory(inventory)
    logs = (("400 devices", plain), ("one device scanning 25 % of records", scanning))
    results = []
    for label, path in logs:
        detector = IotFleet(IotConfig(inventory=inventory, learn_s=600.0))
        t0 = time.process_time()
        events = list(_events(path, "zeek-conn"))
        t1 = time.process_time()
        _run(detector, events)
        t2 = time.process_time()
        results.append(_speed(f"adapter + iot-fleet: {label}", len(events), t2 - t0, t2 - t1))
    config = work / "iot-bench.toml"
    config.write_text(f'[detectors.iot-fleet]\ninventory = "{inventory}"\n')
    for label, path in logs:
        data = work / f"data-{path.stem}"
        args = ["analyse", "--config", str(config), "--in", f"zeek-conn:{path}"]
        measured = run_cli([*args, "--data-dir", str(data)], cwd=work)
        results.append(_speed(f"citywatch analyse: {label}", records, measured.cpu_s, None))
    return results


def _speed(label: str, records: int, cpu_s: float, detector_s: float | None) -> Speed:
    rate = records / cpu_s
    return Speed(
        label=label,
        records=records,
        cpu_s=round(cpu_s, 2),
        records_per_cpu_s=round(rate),
        detector_cpu_s=None if detector_s is None else round(detector_s, 2),
        meets_target=rate >= SPEED_TARGET,
    )
