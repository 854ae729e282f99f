"""Imported STIX indicators turn into detections when they are seen; sightings go back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import stix2  # type: ignore[import-untyped]

from citywatch.app import build_job
from citywatch.bus import LocalBus
from citywatch.config import load_settings
from citywatch.detect.intel import ThreatIntel, ThreatIntelConfig
from citywatch.errors import ConfigError
from citywatch.model import Detection, Incident, IncidentStatus
from citywatch.pipeline import InputSpec
from citywatch.respond.stix import Match, export_bundle, export_sightings

T0 = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)
LINE = '{ip} - - [14/Mar/2026:08:{m:02d}:00 +0100] "GET /tax HTTP/1.1" 200 10 "-" "ua"\n'


def _neighbour_bundle() -> str:
    """What a neighbouring city shares after its own incident with 198.51.100.7."""
    det = Detection(
        id="det-n1",
        timestamp=T0,
        detector="login-abuse",
        rule_id="credential-stuffing",
        rule_name="Credential stuffing",
        severity=70,
        confidence=0.9,
        category="cyber",
        summary="s",
        entity={"source.ip": "198.51.100.7"},
        evidence=["x"],
        first_seen=T0,
        last_seen=T0 + timedelta(minutes=5),
        tags=["attack.t1110.004"],
    )
    incident = Incident(
        id="inc-n1",
        title="Credential stuffing",
        status=IncidentStatus.NEW,
        severity=70,
        category="cyber",
        first_seen=T0,
        last_seen=T0 + timedelta(minutes=5),
        detections=["det-n1"],
        entities={"source.ip": ["198.51.100.7"]},
    )
    return export_bundle(incident, [det], city="City of Neighbour")


def test_an_imported_indicator_becomes_a_detection_when_seen_and_a_sighting_goes_back(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "neighbour.json"
    bundle.write_text(_neighbour_bundle())
    log = tmp_path / "portal.log"
    rows = [("203.0.113.1", 1), ("198.51.100.7", 2), ("198.51.100.7", 3), ("203.0.113.2", 4)]
    log.write_text("".join(LINE.format(ip=ip, m=m) for ip, m in rows))
    settings = load_settings(
        data_dir=tmp_path / "data",
        detectors={"threat-intel": {"bundles": [str(bundle)]}},
        disabled=["web-attacks", "portal-profile", "portal-behaviour", "sigma", "login-abuse"],
    )
    job = build_job(settings, LocalBus())
    job.run([InputSpec.parse(f"access-log:{log}")])
    (det,) = {d.id: d for d in job.detections()}.values()
    (indicator_id,) = [
        o["id"] for o in json.loads(bundle.read_text())["objects"] if o["type"] == "indicator"
    ]
    assert det.rule_id == indicator_id and det.entity["source.ip"] == "198.51.100.7"
    assert len(det.evidence) == 2 and det.attributes["intel"]["where"] == "source.ip"
    (incident,) = job.correlator.incidents()
    detector = next(r.detector for r in job.runners if r.name == "threat-intel")
    assert isinstance(detector, ThreatIntel)
    seen = Match(
        detector.indicators[indicator_id], len(det.evidence), det.first_seen, det.last_seen
    )
    sighting = json.loads(export_sightings([seen]))
    parsed = stix2.parse(json.dumps(sighting), allow_custom=False)
    (s,) = [o for o in parsed.objects if o.type == "sighting"]
    assert s.sighting_of_ref == indicator_id and s.count == 2
    assert incident.detections == [det.id]


def test_no_bundle_checks_nothing_and_a_bad_bundle_is_a_config_error(tmp_path: Path) -> None:
    assert ThreatIntel().indicators == {}
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "not-a-bundle"}')
    with pytest.raises(ConfigError, match=r"bad\.json"):
        ThreatIntel(ThreatIntelConfig(bundles=(bad,)))
    with pytest.raises(ConfigError, match="cannot read"):
        ThreatIntel(ThreatIntelConfig(bundles=(tmp_path / "missing.json",)))


def test_a_url_indicator_matches_the_portal_s_url_however_written_and_names_its_client(
    tmp_path: Path,
) -> None:
    # A URL indicator matched only "https://HOST/URI" exactly: an http:// indicator, a
    # Host with :443 or a query string missed; a hit named no client and said "1 records".
    from citywatch.detect import DetectorRunner  # noqa: PLC0415
    from citywatch.model import Event, HttpRequest  # noqa: PLC0415

    indicator = stix2.Indicator(
        name="Exploit kit landing",
        pattern="[url:value = 'http://portal.aldmere.city/wp-login.php']",
        pattern_type="stix",
        valid_from="2026-01-01T00:00:00Z",
    )
    bundle = tmp_path / "b.json"
    bundle.write_text(stix2.Bundle(indicator).serialize())
    detector = ThreatIntel(ThreatIntelConfig(bundles=(bundle,)))

    def seen(uri: str, host: str, ip: str, at: float) -> Event:
        request = HttpRequest(method="GET", uri=uri, headers=(("Host", host),))
        return Event(id=f"r{at}", timestamp=T0.timestamp() + at, dataset="portal.http",
                     source_ip=ip, payload=request)  # fmt: skip

    for event in (
        seen("/wp-login.php", "portal.aldmere.city:443", "203.0.113.50", 0),
        seen("/wp-login.php?redirect_to=x", "Portal.Aldmere.City", "203.0.113.50", 1),
    ):
        assert detector.keys(event), event.payload
    out: list[Detection] = []
    runner = DetectorRunner(detector, lambda *a: (_ for _ in ()).throw(AssertionError(a)))
    runner.process(seen("/wp-login.php", "portal.aldmere.city", "203.0.113.50", 0), out)
    runner.flush(out)
    (det,) = {d.id: d for d in out}.values()
    assert det.entity["source.ip"] == "203.0.113.50"
    assert det.summary.endswith("1 record from 203.0.113.50")
    assert not detector.keys(seen("/wp-login.php.bak", "portal.aldmere.city", "203.0.113.9", 2))
