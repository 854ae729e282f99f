"""False positives a hunter found in the web-attack signatures, now quiet: prose about
tram lines, generated passwords, a developer's complaint, uploaded photos and drawings, an
access log's empty request; and the attacks that look like them, still found."""

from __future__ import annotations

import random
import string
from urllib.parse import quote

import pytest

from citywatch.detect.portal.request import parse_request
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest

DETECTOR = WebAttackSignatures()
_FORM = (("Host", "portal.aldmere.city"), ("Content-Type", "application/x-www-form-urlencoded"))


def _event(req: HttpRequest) -> Event:
    return Event(id="r", timestamp=0.0, dataset="portal.http", payload=req)


def posted(path: str, **fields: str) -> Event:
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())
    return _event(HttpRequest(method="POST", uri=path, headers=_FORM, body=body))


def search(value: str, name: str = "q") -> Event:
    return _event(HttpRequest(method="GET", uri=f"/services/search?{name}={quote(value, safe='')}"))


def _rules(event: Event) -> set[str]:
    return {h.rule_id for h in DETECTOR.inspect(event)}


# 1. Boolean prose: "line X or Y"

PROSE = [
    "Tram 4 or 9 -> both skipped the stop.",
    "Lines 6 or 14 = both late every morning.",
    "Flat 3 or 4 < no hot water",
    "we need 2 or 3 in total (maybe)",
    "it's 2 or 3 is fine",
    "Tramvaj 4 ili 9 = kasni, autobus 6 or 14 = both late",
    "Bus 12 or 13 -> Žitnjak, neither came",
]


@pytest.mark.parametrize("text", PROSE)
def test_numbered_lines_in_a_complaint_are_no_tautology(text: str) -> None:
    assert _rules(posted("/complaints", category="roads", text=text)) == set()


@pytest.mark.parametrize(
    "payload",
    ["1 or 1=1", "' or 2>1--", "1) or (1=1", "-1 OR true", "-1 or -1=-1", "1 or 1 in (1)"],
)
def test_real_tautologies_stay_found(payload: str) -> None:
    assert "web.sqli.tautology" in _rules(search(payload, "id"))


# 2. Generated passwords

ASCII_SYMBOLS = string.ascii_letters + string.digits + string.punctuation
FIREFOX = string.ascii_letters + string.digits + "-~!@#$%^&*_+=)}:;\"'>,.?]"


def _login(password: str, name: str = "password") -> Event:
    return posted("/login", username="ana.horvat", **{name: password})


@pytest.mark.parametrize(
    "password",
    ["g&'#}h:FY@oCvJs!tTrt", '/?f&.kQ-:"ofePI\\`,95', "7.gqM_ZQ'*'j3PO", 'Ia"#eX6Kz;If;'],
)
def test_a_generated_password_is_no_injection(password: str) -> None:
    assert _rules(_login(password)) == set()


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("' or '1'='1", "web.sqli.tautology"),
        ("admin'--", "web.sqli.quote-break"),
        ("admin')#", "web.sqli.quote-break"),
        ("'='", "web.sqli.quote-break"),
        ("x' union select username,password from users-- -", "web.sqli.union"),
        (";cat /etc/passwd", "web.cmdi.command"),
        ("x|whoami", "web.cmdi.command"),
        ("$(id)", "web.cmdi.substitution"),
    ],
)
def test_injections_in_a_password_stay_found(password: str, rule: str) -> None:
    assert rule in _rules(_login(password))
    assert rule in _rules(_login(password, "new_password"))


def test_a_lone_quote_outside_a_secret_is_still_judged() -> None:
    """The relaxation is for secrets only: a search box with the same value stays flagged."""
    assert "web.sqli.quote-break" in _rules(search("g&'#}h:FY@oCvJs!tTrt"))


@pytest.mark.parametrize("alphabet", [ASCII_SYMBOLS, FIREFOX])
def test_few_generated_passwords_are_flagged(alphabet: str) -> None:
    rng = random.Random(2026)
    flagged = 0
    for _ in range(2000):
        password = "".join(rng.choice(alphabet) for _ in range(rng.randint(16, 20)))
        body = f"username=ana&password={quote(password, safe='')}"
        req = HttpRequest(method="POST", uri="/login", headers=_FORM, body=body)
        flagged += bool(DETECTOR.findings(parse_request(req)))
    assert flagged <= 1  # 0.05 %; about 0.6 % before


def test_a_backtick_is_closed_by_a_backtick() -> None:
    assert "web.cmdi.substitution" not in _rules(search("`ps^)+NSmw2dDUQ"))
    assert "web.cmdi.substitution" in _rules(search("x`cat /etc/passwd`"))


# 3. A developer's complaint

DEVELOPER = [
    "The 'Pay' button links to javascript:void(0); nothing happens in Safari.",
    'Links are <a href="javascript:void 0"> on the map page',
    "See ../ and ../../ links on the documents page, all broken.",
    "Poveznice ../ i ../../ na stranici dokumenata ne rade",
]


@pytest.mark.parametrize("text", DEVELOPER)
def test_developer_words_in_a_complaint_stay_quiet(text: str) -> None:
    assert _rules(posted("/complaints", category="web", text=text)) == set()


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ("javascript:alert(1)", "web.xss.js-uri"),
        ("javascript:void(0);alert(1)", "web.xss.js-uri"),
        ("javascript:void(alert(document.domain))", "web.xss.js-uri"),
        ("../../etc/passwd", "web.traversal.dotdot"),
        ("see ../../../../etc/passwd", "web.traversal.dotdot"),
        ("../../../../", "web.traversal.dotdot"),
    ],
)
def test_scripts_and_traversals_stay_found(payload: str, rule: str) -> None:
    assert rule in _rules(search(payload, "file"))


def test_a_script_src_in_a_complaint_stays_flagged() -> None:
    text = 'Your page loads <script src="http://cdn.aldmere.city/app.js"> over plain HTTP'
    assert "web.xss.script-tag" in _rules(posted("/complaints", text=text))


# 4. Uploads

_JPEG = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb'#;|id&"
_DOCX = "PK\x03\x04\x14\x00\x06\x00[Content_Types].xml<Types xmlns='x'/>\x00\x00;id;'--"
_SVG = (
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10" fill="red"/><text x="1" y="9">Ulica 1. svibnja</text></svg>'
)


def _upload(filename: str, ctype: str, content: str) -> Event:
    body = (
        '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nRupa na cesti, vidi prilog.\r\n'
        f'--b\r\nContent-Disposition: form-data; name="photo"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n{content}\r\n--b--\r\n"
    )
    headers = (("Host", "portal.aldmere.city"), ("Content-Type", "multipart/form-data; boundary=b"))
    return _event(HttpRequest(method="POST", uri="/complaints", headers=headers, body=body))


@pytest.mark.parametrize(
    ("filename", "ctype", "content"),
    [
        ("Fotografija 14.03.2026. u 09.12.jpg", "image/jpeg", _JPEG),
        ("Žalba - Horvat Ana.docx", "application/octet-stream", _DOCX),
        ("skica ulice.svg", "image/svg+xml", _SVG),
    ],
)
def test_an_uploaded_photo_document_or_drawing_is_no_attack(
    filename: str, ctype: str, content: str
) -> None:
    assert _rules(_upload(filename, ctype, content)) == set()


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "web.xss.event-handler"),
        ("<svg><script>alert(document.cookie)</script></svg>", "web.xss.script-tag"),
        ('<svg><script href="https://x.example/a.js"/></svg>', "web.xss.script-tag"),
        ("<svg><foreignObject><body>hi</body></foreignObject></svg>", "web.xss.dangerous-tag"),
        ('<svg><a href="javascript:alert(1)"><text>x</text></a></svg>', "web.xss.js-uri"),
    ],
)
def test_a_script_in_an_uploaded_svg_stays_found(content: str, rule: str) -> None:
    assert rule in _rules(_upload("x.svg", "image/svg+xml", content))


def test_php_in_a_binary_photo_stays_a_web_shell() -> None:
    content = _JPEG + "<?php eval($_POST[1]);?>\x00\x00"
    assert "web.cmdi.web-shell" in _rules(_upload("avatar.jpg", "image/jpeg", content))


def test_a_nul_byte_in_a_form_field_stays_flagged() -> None:
    body = '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n../x.php\x00.jpg\r\n--b--\r\n'
    headers = (("Host", "portal.aldmere.city"), ("Content-Type", "multipart/form-data; boundary=b"))
    req = HttpRequest(method="POST", uri="/complaints", headers=headers, body=body)
    assert "web.protocol.nul" in _rules(_event(req))


# 5. An access log's empty request


def test_a_connection_that_sent_nothing_is_no_bad_method() -> None:
    req = HttpRequest(method="-", uri="-", version="")
    assert parse_request(req).anomalies == ()
    assert DETECTOR.inspect(_event(req)) == []


def test_a_tls_handshake_to_a_plain_port_stays_malformed() -> None:
    req = HttpRequest(method="-", uri="\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", version="")
    assert [h.attack_class for h in DETECTOR.inspect(_event(req))] == ["protocol"]


# 6. Explanations


def test_a_hit_explains_itself_in_one_sentence() -> None:
    req = HttpRequest(method="GET", uri="/traffic/incidents?district=3%27+OR+%271%27%3D%271")
    [hit] = DETECTOR.inspect(_event(req))
    assert hit.explanation == (
        "SQL injection: boolean condition in query parameter `district` of "
        "GET /traffic/incidents: `3' OR '1'='1`"
    )


def test_an_explanation_quotes_a_secret_masked_and_the_endpoint_without_ids() -> None:
    [hit] = DETECTOR.inspect(_login("Tajna7' or '1'='1"))
    assert hit.explanation.endswith(f"body field `password` of POST /login: `{hit.snippet}`")
    assert "Tajna7" not in hit.explanation
    req = HttpRequest(method="GET", uri="/tax/returns/123456?year=1%20UNION%20SELECT%201,2--")
    [hit] = DETECTOR.inspect(_event(req))
    assert "GET /tax/returns/{id}" in hit.explanation and "123456" not in hit.explanation


def test_an_access_log_agent_hit_names_the_endpoint() -> None:
    req = HttpRequest(
        method="GET", uri="/tax", user_agent="sqlmap/1.8.2#stable (https://sqlmap.org)"
    )
    [hit] = DETECTOR.inspect(_event(req))
    assert hit.explanation.startswith(f"{hit.rule_name} in header `User-Agent` of GET /tax: `")
