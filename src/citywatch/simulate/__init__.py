"""The synthetic city of Aldmere: realistic inputs with ground truth beside them.

Everything is generated deterministically from a seed (the same seed gives
byte-identical files) and written in real formats; what each record really
was is written beside the records (``truth.jsonl``, ``situations.json``),
never inside them, so benchmarks can score detectors honestly.

Silos so far: the citizen web portal, with the ``web-campaign`` scenario
(scanner, SQL injection, credential stuffing).

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     manifest = simulate(1, Path(tmp), hours=0.5, residents=200)
...     [i.format for i in manifest.inputs]
['http-jsonl', 'posts-jsonl', 'news-feed']
"""

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
    "build_campaign",
    "build_city",
    "geojson",
    "load_situations",
    "read_truth",
    "simulate",
    "write_access_log",
]
