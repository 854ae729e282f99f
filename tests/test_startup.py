"""Every command starts by importing the CLI: libraries that only one feature needs load with it.

Importing ``stix2`` alone cost every command a third of a second; the
simulator, ``signxml`` and ``feedparser`` more. A fresh interpreter tells
what importing the CLI pulls in.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

LAZY = ("stix2", "signxml", "feedparser", "paho", "citywatch.simulate", "citywatch.api", "fastapi")


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout))


def test_the_cli_leaves_single_feature_libraries_unloaded() -> None:
    loaded = _modules_after("import citywatch.cli")
    assert "citywatch.app" in loaded  # the import did happen
    assert sorted(name for name in LAZY if name in loaded) == []


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("from citywatch.respond.stix import identity; identity('Aldmere')", "stix2"),
        (
            "from citywatch.enrich.intel import IntelError, import_indicators\n"
            "try: import_indicators('{}')\nexcept IntelError: pass",
            "stix2",
        ),
        (
            "from citywatch.ingest.news import NewsFeedAdapter; "
            "list(NewsFeedAdapter().parse('f', [b'<rss version=\"2.0\"><channel/></rss>']))",
            "feedparser",
        ),
        (
            "from citywatch.ingest.mqtt import MqttConfig, MqttSubscriber\n"
            "MqttSubscriber(MqttConfig(), sink=None)",
            "paho",
        ),
        (
            "from citywatch.respond.capsign import verify_signature\nimport contextlib\n"
            "with contextlib.suppress(Exception): verify_signature(b'<a/>', b'x')",
            "signxml",
        ),
    ],
)
def test_a_feature_loads_its_library_when_used(statement: str, module: str) -> None:
    assert module in _modules_after(statement)
