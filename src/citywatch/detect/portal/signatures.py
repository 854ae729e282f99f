"""``web-attacks``: signature detection of web attacks in every part of a request.

Each request is parsed once (:func:`~citywatch.detect.portal.request.parse_request`)
and every parameter value, the decoded path and the user agent are checked in
three steps, each cheaper than the next is precise:

1. a prefilter: values made only of letters, digits and ``_.@-`` (most of
   them) carry no attack and are skipped; values that add only spaces and
   commas are checked for SQL words alone;
2. one Aho-Corasick pass of literal triggers over the folded value picks the
   candidate classes (a quote for SQL, ``<`` for XSS, ``${`` for Log4Shell...);
3. the confirming check of each candidate class (SQL fingerprints, linear
   regexes, URL and IP parsing) decides, and returns what matched.

Findings on a value are memoised (short values repeat: agents, cookies,
referrers), and so are those of an access-log request's line, agent and
referrer, each on its own. Hits merge per client and class into one
detection (:class:`~citywatch.detect.portal.hits.HitDetector`).
"""

from __future__ import annotations

import re
from typing import ClassVar

import msgspec
from pydantic import BaseModel, Field, field_validator

from citywatch.detect.portal import objects, urls
from citywatch.detect.portal.catalog import ANOMALY_RULES, CLASSES, RULES, Found
from citywatch.detect.portal.hits import Hit, HitDetector, MergeConfig
from citywatch.detect.portal.hosts import HostModel, host_name
from citywatch.detect.portal.masking import masked, secret_name
from citywatch.detect.portal.normalise import fold
from citywatch.detect.portal.params import MAX_PARAMS, Collector, Param
from citywatch.detect.portal.passwords import secret_findings
from citywatch.detect.portal.probes import probe_path, scanner_agent, scanner_header
from citywatch.detect.portal.profile_model import client_hash
from citywatch.detect.portal.request import ParsedRequest, parse_request
from citywatch.detect.portal.sqli import NUMBER_FIRST, sql_condition, sql_injection
from citywatch.detect.portal.values import (
    CASED,
    CLASS_BITS,
    PLAIN,
    RFI,
    SQL_WORDS,
    SQLI,
    SSRF,
    TEXT,
    URL_CLASSES,
    file_findings,
    url_findings,
    value_findings,
)
from citywatch.model import Event, HttpRequest


class WebAttackConfig(MergeConfig):
    """Settings of the web-attack signatures."""

    sensitivity: int = Field(
        1, ge=1, le=4, description="1 fires only on clear attacks; 2-4 add weaker rules"
    )
    disabled: tuple[str, ...] = Field((), description="attack classes not to report")
    wordpress: bool = Field(False, description="the portal runs WordPress (wp-* paths are normal)")
    aspnet: bool = Field(False, description="the portal runs ASP.NET (__VIEWSTATE is normal)")
    shiro: bool = Field(
        False, description="the portal runs Apache Shiro (a rememberMe cookie is normal)"
    )
    site_hosts: tuple[str, ...] = Field(
        (),
        description="the portal's own host names: a Host or X-Forwarded-Host naming another "
        "site is flagged (password-reset poisoning, cache poisoning); when not given, they are "
        "learned from --learn traffic (names sent by at least 3 distinct clients)",
    )

    @field_validator("disabled")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown attack classes {unknown}; known: {', '.join(CLASSES)}")
        return value


_SHIRO_MIN = 64
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}").fullmatch
_WRITES = frozenset({"PUT", "MOVE", "COPY"})
_PROTOCOL_METHODS = _WRITES | {"TRACE"}
"""Methods the protocol rules judge even in a well-formed request."""
_SERVER_SCRIPT = re.compile(
    r"\.(?:jspx?|php\d?|phtml|aspx?|ashx|asmx|cgi|pl|war)(?:::\$data)?[.\s/\x00]*+$"
)
"""What a web server would run: written with PUT (or moved there), a web shell; a trailing
space, dot or slash (Tomcat's CVE-2017-12615 writes ``x.jsp%20`` as ``x.jsp``) or an NTFS
stream (IIS writes ``x.php::$DATA`` as ``x.php``) included."""
_PATH_SPECIAL = re.compile(r"[<>'\"${}()`;|\\\r\n]|\.\.|//")
_NAME_OK = re.compile(r"[\w.\[\]-]*").fullmatch
_NAME_OF_NOTE = re.compile(r"filename|proto|classloader").search
"""Parts of a plain name that make even a plain value worth a look (an uploaded file's name,
prototype pollution, Spring's class binding)."""
_UPLOADED_SCRIPT = re.compile(
    r"\.(?:php\d?|phtml|phar|pht|phps|jspx?|jsw|jsv|jspf|aspx?|ashx|asmx|asa|cer|cgi|pl|war"
    r"|shtml)(?:::\$data)?[.\s\x00]*$|(?:^|[\\/])(?:\.htaccess|\.user\.ini|web\.config)$"
)
"""A file name a web server would run or obey (CRS 933110: ``shell.php``, ``x.jpg.php``,
``.htaccess``), trailing dots and spaces (``shell.php.``) and NTFS streams included."""
_FILENAME_HEADERS = frozenset({"x-filename", "x_filename", "x-file-name"})
_NAMES_OF_NOTE = urls.URLISH_NAMES | {"__viewstate"}
_TYPE_KEYS = ("$type", "@type", "@class", "@c")
"""JSON keys that name the class to instantiate (.NET Json.NET, Fastjson, Jackson)."""
_HOST_HEADERS = frozenset(
    {
        "host",
        "x-forwarded-host",
        "x-host",
        "x-forwarded-server",
        "x-original-host",
        "x-http-host-override",
        "forwarded",
    }
)
"""Headers that name the site (``Forwarded`` in its ``host=``): another site is flagged."""
_CLIENT_IP_HEADERS = frozenset(
    {
        "x-forwarded-for",
        "x-real-ip",
        "x-originating-ip",
        "x-remote-ip",
        "x-remote-addr",
        "x-client-ip",
        "client-ip",
        "true-client-ip",
        "x-cluster-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-custom-ip-authorization",
    }
)
"""Headers that name the client's address to an application behind a proxy."""
_LOOPBACK = re.compile(
    r"(?:^|[\s,;=\"\[])(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost|0\.0\.0\.0)\b"
)
_MAIL_FIELDS = frozenset(
    {
        "email",
        "e-mail",
        "mail",
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "sender",
        "reply_to",
        "replyto",
        "name",
        "full_name",
        "username",
        "login",
    }
)
"""Single-line fields an application may put into an e-mail's headers."""
_MAIL_HEADER = re.compile(
    r"[\r\n][ \t]{0,16}+(?:bcc|cc|to|from|reply-to|subject|content-type|mime-version)\s*+:"
)
_FORWARDED_PAIRS = re.compile(r"[;,]")
"""What separates the ``key=value`` pairs of a ``Forwarded`` header (RFC 7239)."""
_NOT_SSRF_HEADERS = frozenset({"referer", "origin"})
"""Headers whose URLs the browser writes (an intranet referrer is no forgery)."""
_CACHE_SIZE = 8192
_CACHE_LEN = 512
_SNIPPET = 120


def _escape(char: str) -> str:
    code = ord(char)
    return (
        f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}" if code < 65536 else f"\\U{code:08x}"
    )


_LINE_CACHE = 65536
"""Request lines (method, URI, version) of header-less requests whose findings are remembered;
as many user agents and referrers."""


class WebAttackSignatures(HitDetector):
    """Signatures of web attacks (SQLi, XSS, traversal, RFI, command injection, SSRF,
    XXE, SSTI, Log4Shell, deserialisation, NoSQLi, protocol abuse, scanners)."""

    name: ClassVar[str] = "web-attacks"
    description: ClassVar[str] = (
        "Web attack signatures over every parameter, header, cookie and path of portal requests"
    )
    config_model: ClassVar[type[BaseModel]] = WebAttackConfig
    partition_key: ClassVar[str | None] = "source.pseudonym"  # one client's requests, no more

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        assert isinstance(cfg, WebAttackConfig)
        self.settings = cfg
        off = set(cfg.disabled)
        self._enabled = sum(bit for cls, bit in CLASS_BITS.items() if cls not in off)
        self._allowed = frozenset(
            key
            for key, rule in RULES.items()
            if rule.level <= cfg.sensitivity and rule.attack_class not in off
        )
        self._hosts = frozenset(host_name(h) for h in cfg.site_hosts)
        self._learned_hosts = HostModel()
        self._cache: dict[str, tuple[int, tuple[Found, ...]]] = {}
        self._memo: dict[Param, tuple[Found, ...]] = {}
        self._paths: dict[str, tuple[Found, ...]] = {}
        self._lines: dict[tuple[str, str, str], tuple[tuple[Hit, ...], bool, str]] = {}
        self._agents: dict[str, tuple[Hit, ...]] = {}
        self._referrers: dict[str, tuple[Hit, ...]] = {}

    def learn(self, event: Event) -> None:
        """Learn the portal's host names from trusted traffic, unless ``site_hosts`` names them
        (and, as every per-request detector, which clients many people share)."""
        super().learn(event)
        req = event.payload
        if self.settings.site_hosts or not isinstance(req, HttpRequest):
            return
        client = client_hash(event.source_pseudonym)
        for name, value in req.headers:
            if name.lower() == "host" and self._learned_hosts.learn(value, client):
                self._use_hosts(self._learned_hosts.trusted())

    def snapshot_own(self) -> bytes | None:
        """The learned host names (None when they are configured or nothing was learned)."""
        if self.settings.site_hosts or not self._learned_hosts.clients:
            return None
        return msgspec.msgpack.encode(self._learned_hosts)

    def restore_own(self, blob: bytes) -> None:
        """Take back the host names :meth:`snapshot_own` saved."""
        if self.settings.site_hosts:
            return
        self._learned_hosts = msgspec.msgpack.decode(blob, type=HostModel)
        self._use_hosts(self._learned_hosts.trusted())

    def _use_hosts(self, hosts: frozenset[str]) -> None:
        """Check Host headers against ``hosts`` from now on (findings remembered so far go)."""
        self._hosts = hosts
        self._memo.clear()
        self._lines.clear()
        self._agents.clear()
        self._referrers.clear()

    def inspect(self, event: Event) -> list[Hit]:
        req = event.payload
        if not isinstance(req, HttpRequest):
            return []
        if req.headers or req.body:
            return self.findings(parse_request(req))
        # A request without headers or body (an access log's, the hot path). Parsing it gives
        # its request line's parameters and anomalies, then a ``header`` parameter for its
        # user agent and one for its referrer (headers.parse_headers), and findings go in that
        # order, one per attack class. So the findings of the line, of the agent and of the
        # referrer are remembered each on its own (logs repeat each far more than their
        # combination) and merged in that order, unless a field would change the request's
        # anomalies (an encoded agent) or the line leaves no room for two more parameters:
        # then the request is inspected whole.
        key = (req.method, req.uri, req.version)
        line = self._lines.get(key)
        if line is None:
            alone = HttpRequest(method=req.method, uri=req.uri, version=req.version)
            parsed = parse_request(alone)
            line = (
                tuple(self.findings(parsed)),
                len(parsed.params) <= MAX_PARAMS - 2,
                parsed.template,
            )
            if len(self._lines) >= _LINE_CACHE:
                self._lines.clear()
            self._lines[key] = line
        hits, room, endpoint = line
        agent: tuple[Hit, ...] | None = ()
        if value := req.user_agent:
            agent = self._agents.get(value)
            if agent is None:
                agent = self._field("User-Agent", value, self._agents)
        more: tuple[Hit, ...] | None = ()
        if (value := req.referrer) and value != "-":
            more = self._referrers.get(value)
            if more is None:
                more = self._field("Referer", value, self._referrers)
        if agent is None or more is None or not room:
            return self.findings(parse_request(req))
        if not agent and not more:
            return list(hits)
        merged = list(hits)
        seen = {hit.attack_class for hit in hits}
        for hit in (*agent, *more):
            if hit.attack_class not in seen:
                seen.add(hit.attack_class)
                merged.append(_explained(hit, req.method, endpoint))
        return merged

    def _field(
        self, name: str, value: str, known: dict[str, tuple[Hit, ...]]
    ) -> tuple[Hit, ...] | None:
        """The findings of a logged field as the header parameter parsing makes of it
        (remembered in ``known``); None when adding that parameter notes an anomaly or a
        decoding flag."""
        acc = Collector()
        acc.add("header", name, value)
        if acc.anomalies or acc.flags:
            return None
        hits: list[Hit] = []
        seen: set[str] = set()
        for item in self._param(acc.params[0]):
            self._add(hits, seen, item, f"header:{name}", acc.params[0].value, "header")
        if len(known) >= _LINE_CACHE:
            known.clear()
        known[value] = found = tuple(hits)
        return found

    def findings(self, parsed: ParsedRequest) -> list[Hit]:
        """The findings of one parsed request, in order, one per attack class."""
        hits: list[Hit] = []
        seen: set[str] = set()
        if parsed.anomalies or parsed.method in _PROTOCOL_METHODS:
            self._protocol(parsed, hits, seen)
        decoded = parsed.decoded_path  # the path's findings, remembered by the decoded path
        found = self._paths.get(decoded)
        if found is None:
            found = self._path_findings(parsed)
            if len(self._paths) >= _CACHE_SIZE:
                self._paths.clear()
            self._paths[decoded] = found
        for item in found:
            self._add(hits, seen, item, "path", decoded, "path")
        # Parameters repeat far more than requests do (hosts, agents, session cookies, page
        # numbers), so what each shows is remembered whole, keyed by the parameter itself:
        # a known one costs one dict lookup, with no regex run.
        memo = self._memo
        for param in parsed.params:
            found = memo.get(param)
            if found is None:
                found = self._param(param)
            if found:
                name = param.name
                where = f"header:{name}" if param.location == "header" else f"param:{name}"
                for item in found:
                    self._add(hits, seen, item, where, param.value, param.location)
        if hits:  # the attack path only: a clean request builds no sentence
            hits = [_explained(hit, parsed.method, parsed.template) for hit in hits]
        return hits

    def _param(self, param: Param) -> tuple[Found, ...]:
        """What one parameter shows (remembered unless its value is long)."""
        if param.file:  # an uploaded file's content, judged as a file (values.file_findings)
            found = self._findings(param.location, param.name, param.value, file=True)
        else:
            found = self._param_findings(param.location, param.name, param.value)
        if found and secret_name(param.name):  # a generated password's chance punctuation
            found = secret_findings(found, param.value)
        if len(param.value) <= _CACHE_LEN:
            memo = self._memo
            if len(memo) >= _CACHE_SIZE:
                memo.clear()
            memo[param] = found
        return found

    def _param_findings(self, location: str, name: str, value: str) -> tuple[Found, ...]:
        """What one parameter shows: nothing for a plain value in a plain parameter (most)."""
        if (
            location != "header"
            and PLAIN(value)
            and _NAME_OK(name)
            and (len(value) < 12 or not CASED.search(value))
            and not (name.endswith("[]") and "." in value)  # a class as an array's type tag
            and (lname := name.lower()) not in _NAMES_OF_NOTE
            and not _NAME_OF_NOTE(lname)
        ):
            return ()
        return self._findings(location, name, value)

    def _add(
        self,
        hits: list[Hit],
        seen: set[str],
        found: Found,
        location: str,
        original: str = "",
        kind: str = "request",
    ) -> None:
        """Add the hit of ``found`` at ``location`` (a parameter of ``kind``: query, body,
        cookie, header, path), unless its rule is off or its class already has one."""
        key, text = found
        if key not in self._allowed:
            return
        rule = RULES[key]
        if rule.attack_class in seen:
            return
        seen.add(rule.attack_class)
        text = snippet(
            masked(text) if secret_name(location.partition(":")[2]) else cased(text, original)
        )
        hits.append(
            Hit(
                attack_class=rule.attack_class,
                rule_id=f"web.{key}",
                rule_name=rule.name,
                technique=rule.technique,
                location=location,
                snippet=text,
                severity=rule.severity,
                explanation=_where(kind, location.partition(":")[2]),
                confidence=rule.confidence,
            )
        )

    def _protocol(self, parsed: ParsedRequest, hits: list[Hit], seen: set[str]) -> None:
        keys: dict[str, list[str]] = {}
        for code in parsed.anomalies:
            key = ANOMALY_RULES.get(code)
            if key is not None and key in self._allowed:
                keys.setdefault(key, []).append(code)
        if parsed.method == "TRACE":
            keys.setdefault("protocol.trace", []).append("TRACE")
        elif (
            parsed.method in _WRITES
            and "protocol.script-upload" in self._allowed
            and _SERVER_SCRIPT.search(parsed.norm_path.lower()) is not None
        ):
            keys.setdefault("protocol.script-upload", []).append(parsed.method)
        if not keys:
            return
        best = max(keys, key=lambda k: (RULES[k].severity, RULES[k].confidence))
        self._add(
            hits, seen, (best, ", ".join(c for codes in keys.values() for c in codes)), "request"
        )

    def _path_findings(self, parsed: ParsedRequest) -> tuple[Found, ...]:
        decoded = parsed.decoded_path
        found: list[Found] = []
        slashed = decoded.replace("\\", "/")
        if "/../" in slashed or "/..;" in slashed or slashed.endswith("/.."):
            found.append(("traversal.path", decoded))
        probe = probe_path(parsed.norm_path, wordpress=self.settings.wordpress)
        if probe is not None:
            found.append(probe)
        if _PATH_SPECIAL.search(decoded):
            # Tomcat's /..;/ is a path parameter (traversal, found above), not a shell separator
            found.extend(self._scan(decoded.replace("/..;/", "/../"))[1])
        return tuple(found)

    def _findings(
        self, location: str, name: str, value: str, *, file: bool = False
    ) -> tuple[Found, ...]:
        """Everything one parameter (an uploaded ``file``'s content) shows, whatever the
        request around it."""
        found: list[Found] = []
        header = location == "header"
        lname = name.lower()
        if "$" in name:
            item = objects.nosqli_name(name)
            if item is not None:
                found.append(item)
        if name and not header and not _NAME_OK(name):
            found.extend(self._scan(name)[1])
        item = self._named(header, name, lname, value)
        if item is not None:
            found.append(item)
        elif lname == "rememberme" and location == "cookie" and self._shiro_cookie(value):
            found.append(("deserialisation.shiro", value[:40]))
        if len(value) < 2:
            return tuple(found)
        lower = value.lower()
        if "." in value and (callback := urls.callback_host(lower)) is not None:
            found.append(("scanner.oast", callback))
        if "__schema" in lower:
            found.append(("scanner.graphql-introspection", value[:80]))
        if lname in _MAIL_FIELDS and ("\n" in value or "\r" in value):
            match = _MAIL_HEADER.search(lower)
            if match is not None:
                found.append(("protocol.mail-injection", value[:80]))
        if header and "://" in value and self._enabled & SSRF and lname not in _NOT_SSRF_HEADERS:
            found.extend(url_findings(fold(value), name, SSRF))
        urlish = not header and self._enabled & SSRF and lname in urls.URLISH_NAMES
        if PLAIN(value):
            if urlish:
                found.extend(url_findings(value.lower(), name, SSRF))
            elif len(value) >= 12 and CASED.search(value):
                found.extend(self._scan(value)[1])
        elif TEXT(value):
            if self._enabled & SQLI:
                lower = value.lower()
                item = (
                    sql_injection(value)
                    if SQL_WORDS.search(lower)
                    else sql_condition(value)
                    if NUMBER_FIRST(lower)
                    else None
                )
                if item is not None:
                    found.append((f"sqli.{item[0]}", item[1]))
        else:
            mask, items = file_findings(value, self._enabled) if file else self._scan(value)
            found.extend(items)
            relative = value.startswith("//")  # protocol-relative: //evil.example/x.php
            if not header and (mask & URL_CLASSES or urlish or relative):
                extra = (SSRF if urlish or relative else 0) | (RFI if relative else 0)
                found.extend(url_findings(fold(value), name, mask | extra))
        if len(found) > 1 and any(key.startswith("jndi.") for key, _ in found):
            # the lookup's own ldap:// or rmi:// URL is Log4Shell, not a second attack (SSRF)
            return tuple(f for f in found if f[0] != "ssrf.scheme")
        return tuple(found)

    def _other_site(self, name: str, lname: str, value: str) -> Found | None:
        """A header naming a site other than the portal's own (once they are known)."""
        if not self._hosts:
            return None
        host = value
        if lname == "forwarded":  # for=192.0.2.60;proto=http;host=example.org
            host = next(
                (
                    p.strip()[5:].strip('"')
                    for p in _FORWARDED_PAIRS.split(value)
                    if p.strip()[:5].lower() == "host="
                ),
                "",
            )
            if not host:
                return None
        if host_name(host) in self._hosts:
            return None
        return "protocol.proxy", f"{name}: {value}"

    def _shiro_cookie(self, value: str) -> bool:
        """A Shiro rememberMe cookie (CVE-2016-4437 and its kin) on a portal without Shiro."""
        return not self.settings.shiro and len(value) >= _SHIRO_MIN and _BASE64(value) is not None

    def _named(self, header: bool, name: str, lname: str, value: str) -> Found | None:
        """What a parameter's name alone makes of its value (agents, hosts, type keys...)."""
        if header:
            if lname == "user-agent":
                return scanner_agent(value)
            if lname in _HOST_HEADERS:
                return self._other_site(name, lname, value)
            if lname in _CLIENT_IP_HEADERS:
                # the client's own claim is the first address: proxies append theirs (a
                # local hop's 127.0.0.1 at the end is no spoofing)
                claimed = value.split(",", 1)[0].lower()
                if (
                    lname == "x-custom-ip-authorization"
                    or _LOOPBACK.search(claimed)
                    or urls.loopback_claim(claimed)  # ::ffff:7f00:1, [::1]:80, 2130706433
                ):
                    return "protocol.ip-spoofing", f"{name}: {value[:60]}"
                return None
            if lname == "x-middleware-subrequest":  # Next.js' own, never a client's
                return "protocol.auth-bypass", f"{name}: {value[:60]}"
            if lname in _FILENAME_HEADERS and _UPLOADED_SCRIPT.search(value.lower()):
                return "protocol.script-file", f"{name}: {value[:80]}"
            return scanner_header(lname)
        if lname.endswith("filename") and _UPLOADED_SCRIPT.search(value.lower()):
            return "protocol.script-file", value[:80]
        if "__proto__" in lname or ("constructor" in lname and "prototype" in lname):
            return "deserialisation.prototype", name[:80]
        if "classloader" in lname or lname.startswith("class.module"):
            return "ssti.class-binding", name[:80]
        if lname == "__viewstate" and not self.settings.aspnet and value:
            return "deserialisation.viewstate", value[:40]
        if lname.endswith(_TYPE_KEYS):  # a flattened JSON type gadget
            key = "$type" if lname.endswith("$type") else "@type"
            return objects.deserialisation(value, f'"{key}":"{fold(value)}"')
        if "py/" in lname or lname.endswith("__js_function"):  # jsonpickle, funcster
            return objects.deserialisation(value, f'"{lname.rsplit(".", 1)[-1]}":')
        if lname.endswith("[]"):  # Jackson's ["java.util.HashSet", [...]]
            return objects.array_type_tag(value)
        return None

    def _scan(self, value: str) -> tuple[int, tuple[Found, ...]]:
        """Candidate mask and context-free findings of a value (memoised for short values)."""
        if len(value) > _CACHE_LEN:
            return value_findings(value, self._enabled)
        cached = self._cache.get(value)
        if cached is None:
            cached = value_findings(value, self._enabled)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[value] = cached
        return cached


_PLACES = {
    "query": "query parameter",
    "body": "body field",
    "cookie": "cookie",
    "header": "header",
    "path": "path parameter",
}
_NAME_SHOWN = 60
_ENDPOINT_SHOWN = 100


def _where(kind: str, name: str) -> str:
    """Where in a request a hit is, in words: ``query parameter `district```, ``the path``."""
    if not name:
        return "the path" if kind == "path" else "the request line"
    return f"{_PLACES.get(kind, 'parameter')} `{snippet(name[:_NAME_SHOWN])}`"


def _explained(hit: Hit, method: str, endpoint: str) -> Hit:
    """``hit`` with its explanation said whole: the rule, where (the place :meth:`_add` noted
    and the endpoint, ids collapsed) and the snippet, already masked and capped; nothing else
    of the request is quoted.

    >>> h = Hit(attack_class="sqli", rule_id="web.sqli.tautology", technique="T1190",
    ...     rule_name="SQL injection: boolean condition", location="param:id",
    ...     snippet="3' OR '1'='1", severity=80, confidence=0.9,
    ...     explanation="query parameter `id`")
    >>> _explained(h, "GET", "/traffic/{id}").explanation
    "SQL injection: boolean condition in query parameter `id` of GET /traffic/{id}: `3' OR '1'='1`"
    """
    where = hit.explanation or "the request"
    route = snippet(f"{method[:16]} {endpoint}"[:_ENDPOINT_SHOWN])
    return msgspec.structs.replace(
        hit, explanation=f"{hit.rule_name} in {where} of {route}: `{hit.snippet}`"
    )


def cased(text: str, original: str) -> str:
    """``text`` as ``original`` writes it: a check reads a value casefolded, and an analyst
    needs the value as sent (a Log4Shell class name, a base64 payload, a scanner's marker).
    ``text`` itself where the folding changed more than case (decoding, compatibility forms).

    >>> cased("${jndi:ldap://x/exploit}", "a=${jndi:ldap://x/Exploit}"), cased("ab", "xyz")
    ('${jndi:ldap://x/Exploit}', 'ab')
    """
    if not original or text in original:
        return text
    at = original.lower().find(text)
    return original[at : at + len(text)] if at >= 0 else text


def snippet(text: str) -> str:
    """Matched text for the analyst: unprintable characters escaped, at most 120 characters.

    >>> snippet("a\\x00b\\nc\\u2028")
    'a\\\\x00b\\\\x0ac\\\\u2028'
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else _escape(c) for c in text[: 2 * _SNIPPET])
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"
