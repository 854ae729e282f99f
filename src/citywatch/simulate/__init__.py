"""The synthetic city of Aldmere: realistic inputs with ground truth beside them.

Everything is generated deterministically from a seed (the same seed gives
byte-identical files) and written in real formats; what each record really
was is written beside the records (``truth.jsonl``, ``situations.json``),
never inside them, so benchmarks can score detectors honestly.

Silos so far: the citizen web portal, with the ``web-campaign`` scenario
(scanner, SQL injection, credential stuffing), the ``portal-abuse`` scenario
(password guessing and spraying, record enumeration, a request flood, mass
address changes: :mod:`citywatch.simulate.abuse`) and the ``portal-tampering``
scenario (requests no signature flags: :mod:`citywatch.simulate.tampering`), and
the portal's day before to learn from (``portal-learn.http.jsonl``); the arena (``crowd/``), with a
match day and the ``stadium-emergency`` (an alarm, a sudden evacuation);
connected citizens' phones and felt reports, with the ``earthquake`` (``simulate.quake``);
the IoT fleet (:mod:`citywatch.simulate.iot`), with the ``iot-botnet`` scenario, whose
truth is in ``iot-truth.jsonl``.

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     manifest = simulate(1, Path(tmp), hours=0.5, residents=200)
...     formats = [i.format for i in manifest.inputs]
>>> formats[0], len(formats), sorted(set(formats))[:4]
('http-jsonl', 12, ['exposure', 'felt-reports', 'gate-counts', 'http-jsonl'])
"""

from citywatch.simulate.abuse import build_abuse
from citywatch.simulate.campaign import Campaign, build_campaign
from citywatch.simulate.city import City, District, Resident, Site, build_city, geojson
from citywatch.simulate.generate import DEFAULT_START, simulate, write_access_log
from citywatch.simulate.manifest import (
    Manifest,
    ManifestFile,
    Phase,
    Situation,
    load_situations,
    read_truth,
)
from citywatch.simulate.writers import TruthRecord

__all__ = [
    "DEFAULT_START",
    "Campaign",
    "City",
    "District",
    "Manifest",
    "ManifestFile",
    "Phase",
    "Resident",
    "Site",
    "Situation",
    "TruthRecord",
    "build_abuse",
    "build_campaign",
    "build_city",
    "geojson",
    "load_situations",
    "read_truth",
    "simulate",
    "write_access_log",
]
