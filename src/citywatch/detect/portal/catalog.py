"""The web-attack rules: what each one means, how bad it is, how sure it is.

A rule key is ``CLASS.NAME`` (``sqli.union``). Each rule has a sensitivity
``level`` (1: fires at the default sensitivity; 2–4: only when the operator
asks for more, like a paranoia level), a severity (1–100), a confidence
(0–1) and an ATT&CK technique: T1190 (exploit a public-facing application)
for injections, T1595.002 / T1595.003 (vulnerability / wordlist scanning)
for scanners.

>>> RULES["sqli.union"].attack_class, RULES["sqli.union"].severity
('sqli', 85)
"""

from __future__ import annotations

from typing import NamedTuple

Found = tuple[str, str]
"""What a check found: a rule key and the text it matched."""

MAX_TRIES = 16
"""Occurrences of a pattern's anchor a check examines per value (bounds its work)."""


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set (for keyword tables).

    >>> sorted(word_set("b a  b"))
    ['a', 'b']
    """
    return frozenset(text.split())


class Rule(NamedTuple):
    """One signature: its class, words for the analyst, and its weights."""

    attack_class: str
    name: str
    severity: int
    confidence: float
    level: int = 1
    technique: str = "T1190"


CLASSES = (
    "sqli",
    "xss",
    "traversal",
    "rfi",
    "cmdi",
    "ssrf",
    "xxe",
    "ssti",
    "jndi",
    "deserialisation",
    "nosqli",
    "protocol",
    "scanner",
)
"""Every attack class the signatures know."""

_VULN_SCAN = "T1595.002"
_WORDLIST_SCAN = "T1595.003"

RULES: dict[str, Rule] = {
    # SQL injection (fingerprint rules of citywatch.detect.portal.sqli)
    "sqli.union": Rule("sqli", "SQL injection: UNION query", 85, 0.95),
    "sqli.tautology": Rule("sqli", "SQL injection: boolean condition", 80, 0.9),
    "sqli.stacked": Rule("sqli", "SQL injection: stacked query", 85, 0.95),
    "sqli.function": Rule("sqli", "SQL injection: SQL function call", 80, 0.9),
    "sqli.subquery": Rule("sqli", "SQL injection: subquery", 80, 0.9),
    "sqli.orderby": Rule("sqli", "SQL injection: ORDER BY column probe", 75, 0.85),
    "sqli.time": Rule("sqli", "SQL injection: time delay", 80, 0.95),
    "sqli.schema": Rule("sqli", "SQL injection: system schema access", 85, 0.9),
    "sqli.quote-break": Rule("sqli", "SQL injection: string break-out", 75, 0.85),
    "sqli.probe": Rule("sqli", "SQL injection probe: stray quote", 50, 0.6),
    # Cross-site scripting
    "xss.script-tag": Rule("xss", "XSS: script element", 70, 0.95),
    "xss.event-handler": Rule("xss", "XSS: event handler in a tag", 70, 0.9),
    "xss.attribute-break": Rule("xss", "XSS: attribute break-out with handler", 65, 0.85),
    "xss.js-uri": Rule("xss", "XSS: javascript: URI", 65, 0.85),
    "xss.dangerous-tag": Rule("xss", "XSS: active content tag", 60, 0.75),
    "xss.js-call": Rule("xss", "XSS: script call in a value", 60, 0.75),
    "xss.css-expression": Rule("xss", "XSS: CSS expression", 55, 0.7, 2),
    "xss.style-sheet": Rule("xss", "XSS: style sheet injected from elsewhere", 60, 0.8),
    "xss.data-uri": Rule("xss", "XSS: HTML in a data: URI", 65, 0.85),
    # Path traversal and local file inclusion
    "traversal.dotdot": Rule("traversal", "Path traversal: repeated ../", 70, 0.9),
    "traversal.target": Rule("traversal", "Path traversal to a sensitive file", 75, 0.95),
    "traversal.single": Rule("traversal", "Path traversal: one ../", 50, 0.55, 2),
    "traversal.path": Rule("traversal", "Path traversal in the URL path", 70, 0.9),
    "traversal.sensitive-file": Rule("traversal", "Local file inclusion: system file", 70, 0.85),
    "traversal.php-filter": Rule("traversal", "Local file inclusion: php:// stream", 75, 0.95),
    "traversal.file-uri": Rule("traversal", "Local file inclusion: file:// URI", 65, 0.8),
    # Remote file inclusion
    "rfi.wrapper": Rule("rfi", "Remote file inclusion: PHP wrapper", 75, 0.9),
    "rfi.trailing-query": Rule("rfi", "Remote file inclusion: URL ending in ?", 75, 0.85),
    "rfi.ip-url": Rule("rfi", "Remote file inclusion: URL to an IP address", 65, 0.7),
    "rfi.include-param": Rule(
        "rfi", "Remote file inclusion: script URL in include parameter", 75, 0.85
    ),
    "rfi.script-url": Rule("rfi", "Remote file inclusion: script URL", 55, 0.6, 2),
    "rfi.unc": Rule("rfi", "Remote file inclusion: UNC path", 70, 0.8),
    "rfi.offsite": Rule("rfi", "Off-site URL in a parameter", 30, 0.3, 3),
    "rfi.php-cgi": Rule(
        "rfi", "PHP settings in the request (PHP-CGI, CVE-2012-1823, CVE-2024-4577)", 85, 0.95
    ),
    # Server-side request forgery
    "ssrf.metadata": Rule("ssrf", "SSRF: cloud metadata service", 85, 0.95),
    "ssrf.internal": Rule("ssrf", "SSRF: internal or loopback address", 75, 0.85),
    "ssrf.obfuscated-ip": Rule("ssrf", "SSRF: obfuscated IP address", 75, 0.9),
    "ssrf.scheme": Rule("ssrf", "SSRF: gopher/dict/ldap URL", 75, 0.9),
    "ssrf.rebinding": Rule("ssrf", "SSRF: DNS-rebinding or callback domain", 70, 0.85),
    # OS command injection
    "cmdi.command": Rule("cmdi", "OS command injection", 85, 0.9),
    "cmdi.substitution": Rule("cmdi", "OS command injection: command substitution", 85, 0.95),
    "cmdi.code": Rule("cmdi", "OS command through a code execution function", 85, 0.9),
    "cmdi.shellshock": Rule("cmdi", "Shellshock (CVE-2014-6271)", 90, 0.98),
    "cmdi.reverse-shell": Rule("cmdi", "OS command injection: reverse shell", 95, 0.98),
    "cmdi.web-shell": Rule(
        "cmdi", "PHP code running request input (web shell one-liner)", 90, 0.95, 1, "T1505.003"
    ),
    # Others
    "xxe.external-entity": Rule("xxe", "XXE: external entity", 80, 0.95),
    "xxe.parameter-entity": Rule("xxe", "XXE: parameter entity", 80, 0.9),
    "xxe.xinclude": Rule("xxe", "XXE: XInclude", 75, 0.9),
    "xxe.external-dtd": Rule("xxe", "XXE: external DTD", 70, 0.85),
    "xxe.expansion": Rule("xxe", "XML entity expansion (billion laughs)", 65, 0.85),
    "ssti.arithmetic": Rule("ssti", "Template injection: expression probe", 75, 0.9),
    "ssti.dunder": Rule("ssti", "Template injection: Python object walk", 85, 0.95),
    "ssti.object": Rule("ssti", "Template injection: template object access", 75, 0.85),
    "ssti.java-el": Rule("ssti", "Template/EL injection: Java classes", 85, 0.95),
    "ssti.block": Rule("ssti", "Template injection: template tag", 60, 0.7),
    "ssti.code": Rule("ssti", "Template injection: code execution", 85, 0.9),
    "ssti.probe": Rule("ssti", "Template injection: polyglot probe", 70, 0.85),
    "ssti.class-binding": Rule(
        "ssti", "Data binding to class internals (Spring4Shell, CVE-2022-22965)", 90, 0.95
    ),
    "jndi.lookup": Rule("jndi", "Log4Shell: JNDI lookup (CVE-2021-44228)", 95, 0.98),
    "jndi.obfuscated": Rule("jndi", "Log4Shell: obfuscated JNDI lookup", 95, 0.98),
    "jndi.exfil": Rule("jndi", "Log4j lookup in input", 70, 0.85),
    "deserialisation.php": Rule("deserialisation", "PHP object injection", 80, 0.9),
    "deserialisation.php-array": Rule("deserialisation", "PHP serialised array", 50, 0.6, 2),
    "deserialisation.java": Rule("deserialisation", "Java serialised object", 85, 0.9),
    "deserialisation.dotnet": Rule("deserialisation", ".NET deserialisation gadget", 85, 0.9),
    "deserialisation.viewstate": Rule(
        "deserialisation", "ViewState on a non-ASP.NET portal", 60, 0.7
    ),
    "deserialisation.json-type": Rule(
        "deserialisation", "JSON type-gadget (Fastjson/Jackson)", 85, 0.9
    ),
    "deserialisation.yaml": Rule("deserialisation", "YAML object tag", 80, 0.9),
    "deserialisation.pickle": Rule("deserialisation", "Python pickle", 85, 0.9),
    "deserialisation.gadget": Rule("deserialisation", "Java deserialisation gadget class", 85, 0.9),
    "deserialisation.ruby": Rule("deserialisation", "Ruby Marshal/YAML object", 85, 0.9),
    "deserialisation.nodejs": Rule("deserialisation", "node-serialize function", 85, 0.95),
    "deserialisation.phar": Rule("deserialisation", "PHP phar:// deserialisation", 80, 0.9),
    "deserialisation.prototype": Rule(
        "deserialisation",
        "JavaScript prototype pollution (__proto__, constructor.prototype)",
        75,
        0.9,
    ),
    "deserialisation.shiro": Rule(
        "deserialisation", "Shiro rememberMe cookie on a portal without Shiro", 75, 0.85
    ),
    "nosqli.operator-name": Rule("nosqli", "NoSQL injection: operator in parameter name", 75, 0.9),
    "nosqli.operator-value": Rule("nosqli", "NoSQL injection: operator object in value", 75, 0.85),
    "nosqli.where": Rule("nosqli", "NoSQL injection: JavaScript $where", 80, 0.85),
    # Protocol
    "protocol.smuggling": Rule("protocol", "HTTP request smuggling headers", 70, 0.85),
    "protocol.method": Rule("protocol", "Unusual HTTP method", 35, 0.7),
    "protocol.method-override": Rule("protocol", "HTTP method override header", 35, 0.7),
    "protocol.url-override": Rule("protocol", "URL override header (access rule bypass)", 55, 0.8),
    "protocol.script-upload": Rule("protocol", "Server script written with PUT", 70, 0.85),
    "protocol.script-file": Rule(
        "protocol", "Server script uploaded as a file (web shell)", 75, 0.85, 1, "T1505.003"
    ),
    "protocol.proxy": Rule("protocol", "Request for another site (absolute URI or Host)", 50, 0.8),
    "protocol.hop-by-hop": Rule("protocol", "Hop-by-hop header abuse", 50, 0.8),
    "protocol.range": Rule("protocol", "Range header abuse (denial of service)", 50, 0.85),
    "protocol.charset": Rule("protocol", "Unusual request charset (WAF evasion)", 50, 0.8),
    "protocol.response-splitting": Rule("protocol", "CR/LF header injection in a value", 65, 0.9),
    "protocol.trace": Rule("protocol", "TRACE method (cross-site tracing)", 35, 0.8),
    "protocol.version": Rule("protocol", "Invalid HTTP version", 40, 0.7),
    "protocol.header-injection": Rule("protocol", "CR/LF or NUL in a header", 60, 0.85),
    "protocol.encoding": Rule("protocol", "Evasive encoding (overlong UTF-8, %u)", 55, 0.8),
    "protocol.nul": Rule("protocol", "NUL byte in the request", 55, 0.8),
    "protocol.malformed": Rule("protocol", "Malformed request", 35, 0.6),
    "protocol.encoding-weak": Rule("protocol", "Unusual encoding", 25, 0.4, 2),
    "protocol.malformed-weak": Rule("protocol", "Malformed body or header", 25, 0.4, 2),
    "protocol.limits": Rule("protocol", "Request over parsing limits", 20, 0.3, 3),
    "protocol.ip-spoofing": Rule(
        "protocol", "Client address header naming the server itself (access rule bypass)", 55, 0.85
    ),
    "protocol.auth-bypass": Rule(
        "protocol", "Internal header that skips authorisation (Next.js CVE-2025-29927)", 70, 0.9
    ),
    "protocol.mail-injection": Rule("protocol", "E-mail header injection in a field", 65, 0.9),
    "protocol.json-duplicate-key": Rule(
        "protocol", "JSON object with a key twice (parser differential)", 55, 0.8
    ),
    "protocol.multipart-ambiguous": Rule(
        "protocol", "Multipart body with two boundaries (parser differential)", 55, 0.8
    ),
    "protocol.graphql-batch": Rule(
        "protocol", "GraphQL request repeating one mutation (brute force)", 60, 0.85, 1, "T1110"
    ),
    # Scanners
    "scanner.user-agent": Rule("scanner", "Attack tool user agent", 45, 0.95, 1, _VULN_SCAN),
    "scanner.password-tool": Rule(
        "scanner", "Password-guessing tool user agent", 45, 0.95, 1, "T1110"
    ),
    "scanner.tool-header": Rule("scanner", "Attack tool header", 45, 0.95, 1, _VULN_SCAN),
    "scanner.secret-file": Rule("scanner", "Probe for secret files", 40, 0.85, 1, _WORDLIST_SCAN),
    "scanner.admin-probe": Rule("scanner", "Probe for admin consoles", 35, 0.75, 1, _WORDLIST_SCAN),
    "scanner.backup": Rule("scanner", "Probe for backup files", 35, 0.75, 1, _WORDLIST_SCAN),
    "scanner.wordpress": Rule(
        "scanner", "WordPress probe on a non-WordPress portal", 30, 0.75, 1, _WORDLIST_SCAN
    ),
    "scanner.exploit-path": Rule(
        "scanner", "Probe for a known vulnerable path", 45, 0.85, 1, _VULN_SCAN
    ),
    "scanner.api-docs": Rule("scanner", "Probe for API descriptions", 20, 0.4, 2, _WORDLIST_SCAN),
    "scanner.graphql-introspection": Rule(
        "scanner", "GraphQL schema introspection", 35, 0.8, 1, _WORDLIST_SCAN
    ),
    "scanner.oast": Rule(
        "scanner",
        "Out-of-band test domain (Burp Collaborator, interactsh)",
        50,
        0.95,
        1,
        _VULN_SCAN,
    ),
}
"""Every rule by key."""

ANOMALY_RULES: dict[str, str] = {
    "duplicate-content-length": "protocol.smuggling",
    "te-and-cl": "protocol.smuggling",
    "bad-transfer-encoding": "protocol.smuggling",
    "header-name-whitespace": "protocol.smuggling",
    "duplicate-host": "protocol.smuggling",
    "h2c-upgrade": "protocol.smuggling",
    "smuggled-request": "protocol.smuggling",
    "absolute-uri": "protocol.proxy",
    "hop-by-hop-abuse": "protocol.hop-by-hop",
    "range-abuse": "protocol.range",
    "unusual-charset": "protocol.charset",
    "method-override": "protocol.method-override",
    "url-override": "protocol.url-override",
    "missing-host": "protocol.malformed",
    "unknown-method": "protocol.method",
    "bad-method": "protocol.method",
    "bad-version": "protocol.version",
    "header-injection": "protocol.header-injection",
    "overlong-utf8": "protocol.encoding",
    "percent-u-encoding": "protocol.encoding",
    "nul-byte": "protocol.nul",
    "bad-uri": "protocol.malformed",
    "uri-too-long": "protocol.malformed",
    "bad-content-length": "protocol.malformed",
    "bad-url-encoding": "protocol.encoding-weak",
    "multiple-url-encoding": "protocol.encoding-weak",
    "bad-utf8": "protocol.encoding-weak",
    "bad-header-name": "protocol.malformed-weak",
    "bad-json": "protocol.malformed-weak",
    "bad-multipart": "protocol.malformed",
    "too-many-params": "protocol.limits",
    "value-too-long": "protocol.limits",
    "body-too-large": "protocol.limits",
    "json-too-deep": "protocol.limits",
    "json-duplicate-key": "protocol.json-duplicate-key",
    "graphql-batch": "protocol.graphql-batch",
    "too-many-parts": "protocol.limits",
    "multipart-boundaries": "protocol.multipart-ambiguous",
    "utf7-body": "protocol.charset",
}
"""The rule each parse anomaly of :func:`~citywatch.detect.portal.request.parse_request` maps to."""
