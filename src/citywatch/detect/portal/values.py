"""Candidate classes of a value, and the findings that need no context (part of :mod:`.signatures`).

One Aho-Corasick pass of literal triggers over the folded value (NFKC,
lowercase, HTML entities decoded) gives a bit mask of candidate classes;
only their confirming checks run.

>>> mask, found = value_findings("1 UNION SELECT 1,2-- -", ENABLED)
>>> bool(mask & SQLI), found
(True, (('sqli.union', '1 union select 1,2-- -'),))
>>> candidates("drop-off point") == 0
True
"""

from __future__ import annotations

import re
from collections.abc import Callable

import ahocorasick_rs

from citywatch.detect.portal import cmdi, objects, rules, urls, webshells
from citywatch.detect.portal.catalog import Found
from citywatch.detect.portal.normalise import fold, html_decode
from citywatch.detect.portal.sqli import sql_injection

SQLI, XSS, TRAVERSAL, RFI, CMDI, SSRF, XXE, SSTI, JNDI, DESER, NOSQLI, CRLF = (
    1 << i for i in range(12)
)
_QUOTE, _EQUALS = 1 << 12, 1 << 13
CLASS_BITS = {
    "sqli": SQLI,
    "xss": XSS,
    "traversal": TRAVERSAL,
    "rfi": RFI,
    "cmdi": CMDI,
    "ssrf": SSRF,
    "xxe": XXE,
    "ssti": SSTI,
    "jndi": JNDI,
    "deserialisation": DESER,
    "nosqli": NOSQLI,
    "protocol": CRLF,
}
"""Classes with a candidate bit (protocol's is CR/LF injection; scanners have none)."""
URL_CLASSES = RFI | SSRF
_TRIGGERS: dict[str, int] = {
    "'": SQLI | _QUOTE,
    '"': SQLI | _QUOTE,
    "`": SQLI | CMDI | _QUOTE,
    "=": SQLI | _EQUALS,
    "(": SQLI,
    ";": SQLI | CMDI,
    "<": SQLI | XSS,
    ">": SQLI,
    "|": SQLI | CMDI,
    "#": SQLI,
    "--": SQLI,
    "/*": SQLI,
    "&": CMDI,
    "$(": CMDI,
    "\n": CMDI | DESER | CRLF,
    "\r": CRLF,
    "\u560a": CRLF,  # 嘊 and 嘍: LF and CR to a server that keeps the low byte
    "\u560d": CRLF,
    "/dev/": CMDI,
    ".execute(": CMDI,
    "child_process": CMDI,
    "invokefunction": CMDI,
    "call_user_func": CMDI,
    "$_": CMDI,  # a PHP superglobal: web-shell code (webshells)
    "preg_replace": CMDI,
    "{": SSTI,
    "${": JNDI | SSTI,
    "<%": SSTI,
    "@(": SSTI,
    "@{": SSTI,
    "[[": SSTI,
    "__": SSTI,
    "java.": SSTI | DESER,
    "javax.": DESER,
    "com.sun.": DESER,
    "org.apache.": DESER,
    "ch.qos.": DESER,
    "com.mchange": DESER,
    "org.springframework": DESER,
    "sun.reflect": DESER,
    "org.codehaus": DESER,
    "bsh.": DESER,
    "<dynamic-proxy>": DESER,
    "!ruby/": DESER,
    "_$$nd_func$$_": DESER,
    "[%": SSTI,
    "system.diagnostics": SSTI,
    "freemarker": SSTI,
    "getclass": SSTI,
    "forname": SSTI,
    "../": TRAVERSAL,
    "..\\": TRAVERSAL,
    "..;": TRAVERSAL,
    "/etc/": TRAVERSAL,
    "/proc/": TRAVERSAL,
    "/var/log": TRAVERSAL,
    "/root/": TRAVERSAL,
    "/home/": TRAVERSAL,
    ":/": TRAVERSAL | SSRF,  # http:/169.254.169.254/ is a URL to WHATWG parsers
    ":\\": TRAVERSAL | RFI,
    "\\\\": RFI,
    "://": RFI | SSRF | TRAVERSAL,
    "data:": RFI | XSS,
    "allow_url_include": RFI,
    "auto_prepend_file": RFI,
    "auto_append_file": RFI,
    "open_basedir": RFI,
    "script": XSS,
    "expression": XSS,
    "-moz-binding": XSS,
    "behavior": XSS,
    "alert": XSS,
    "prompt": XSS,
    "confirm": XSS,
    "eval": XSS,
    "document.": XSS,
    "document[": XSS,
    "](": XSS,
    "fromcharcode": XSS,
    "settimeout": XSS,
    "setinterval": XSS,
    "<!": XXE,
    "xi:include": XXE,
    "xmlns:xi": XXE,
    "o:": DESER,
    "c:": DESER,
    "a:": DESER,
    "$type": DESER,
    "@type": DESER,
    "!!": DESER,
    "tag:yaml.org": DESER,
    "objectdataprovider": DESER,
    "textformattingrunproperties": DESER,
    "__js_function": DESER,
    "py/": DESER,
    "__construct": DESER,
    "fnstream": DESER,
    ":__proto__": DESER,
    ":constructor:": DESER,
    "$": NOSQLI,
    "==": NOSQLI,
    "this.": NOSQLI,
    "db.": NOSQLI,
    "sleep(": NOSQLI,
    "return true": NOSQLI,
    "return 1": NOSQLI,
    "while(": NOSQLI,
    "while (": NOSQLI,
    "emit(": NOSQLI,
    "doc[": NOSQLI,
    "ctx._source": NOSQLI,
    "union": SQLI,
    "select": SQLI,
    "sleep": SQLI,
    "waitfor": SQLI,
    "benchmark": SQLI,
    " by ": SQLI,
    "having": SQLI,
    "xor": SQLI,
    "@@": SQLI,
    "information_schema": SQLI,
}
_PATTERNS = list(_TRIGGERS)
_BITS = [_TRIGGERS[p] for p in _PATTERNS]
_AUTOMATON = ahocorasick_rs.AhoCorasick(_PATTERNS)

PLAIN = re.compile(r"[\w.@-]*").fullmatch
TEXT = re.compile(r"[\w.@, -]*").fullmatch
SQL_WORDS = re.compile(r"union|select|sleep|waitfor|benchmark|order by|group by|schema")
_CASED_MARKERS = (
    "rO0AB",
    "AAEAAAD/////",
    "gASV",
    "aced0005",
    "ACED0005",
    "BAh",
    "Tzo",
    "Qzo",
    "PD94bWwg",
    "PCFET0NUWVBF",
    "com.sun.",
    "org.apache.",
    "java.lang.",
    "java.beans.",
    "ch.qos.",
    "sun.reflect.",
    "org.codehaus.",
    "com.mchange.",
    "org.springframework.",
    "bsh.",
    "H4sI",
    "gAJ",
    "gAN",
    "gAU",
    "Y29zC",
    "Y3Bvc2l4C",
    "Y250C",
    "Y3N1YnByb2Nlc3",
    "Y19fYnVpbHRpbl9f",
    "Y2J1aWx0aW5z",
)
"""Case-sensitive markers of serialised objects and gadget classes, looked for even in
values that look plain (base64 tokens, class names)."""
CASED = re.compile("|".join(re.escape(m) for m in _CASED_MARKERS))


def candidates(text: str) -> int:
    mask = 0
    for index, _, _ in _AUTOMATON.find_matches_as_indexes(text, overlapping=True):
        mask |= _BITS[index]
    if mask & _QUOTE and mask & _EQUALS and "on" in text:
        mask |= XSS  # attribute break-out: " onmouseover=...
    return mask


def url_findings(text: str, name: str, mask: int) -> list[Found]:
    """SSRF and remote file inclusion findings of a value with URLs in it."""
    found: list[Found] = []
    if mask & SSRF:
        item = urls.ssrf(text, name)
        if item is not None:
            found.append(item)
    if mask & RFI:
        item = urls.rfi(text, name)
        if item is not None:
            found.append(item)
    return found


def value_findings(
    value: str, enabled: int, *, file: bool = False
) -> tuple[int, tuple[Found, ...]]:
    """Candidate classes of a value, and findings of the classes that need no context (of
    an uploaded ``file``: its XSS by :func:`~citywatch.detect.portal.rules.xss_in_file`)."""
    text = value
    if "&" in text:
        text = html_decode(text)
    text = fold(text)
    mask = candidates(text) & enabled
    found: list[Found] = []
    if mask & SQLI:
        hit = sql_injection(text)
        if hit is not None:
            found.append((f"sqli.{hit[0]}", hit[1]))
    for bit, check in _FILE_CHECKS if file else _TEXT_CHECKS:
        if mask & bit:
            hit = check(text)
            if hit is not None:
                found.append(hit)
    if mask & DESER or CASED.search(value):
        hit = objects.deserialisation(value, text)
        if hit is not None:
            found.append(hit)
    if enabled & XXE and value[:1] == "P" and not mask & XXE:
        hit = rules.xxe_in_base64(value)
        if hit is not None:
            found.append(hit)
    return mask, tuple(found)


_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
"""Control characters no text file holds (ESC aside: terminal colours in a log file)."""
_FILE_CODE = frozenset(("cmdi.web-shell", "cmdi.code", "ssti.code", "xss.script-tag"))
"""What a binary file (a photo, a PDF, a DOCX) carries that attacks: server code hidden in
it (a polyglot JPEG holding ``<?php eval($_POST[1]);?>``) or a script a browser sniffing it
as HTML runs. Its other bytes are chance: a quote, ``#``, ``;`` and ``|`` in any order."""


def file_findings(value: str, enabled: int) -> tuple[int, tuple[Found, ...]]:
    """:func:`value_findings` of an uploaded file's content: a binary file is judged only by
    the code it hides (:data:`_FILE_CODE`), a text file (an SVG, a CSV) as text, its
    ``<svg>`` root no attack (:func:`~citywatch.detect.portal.rules.xss_in_file`)."""
    mask, found = value_findings(value, enabled, file=True)
    if found and _BINARY.search(value, 0, 4096) is not None:
        found = tuple(item for item in found if item[0] in _FILE_CODE)
    return mask, found


_TEXT_CHECKS: tuple[tuple[int, Callable[[str], Found | None]], ...] = (
    (RFI, rules.php_cgi),
    (XSS, rules.xss),
    (TRAVERSAL, rules.traversal),
    (CMDI, cmdi.cmdi),
    (CMDI, webshells.php_code),
    (JNDI, rules.jndi),
    (SSTI, rules.ssti),
    (XXE, rules.xxe),
    (NOSQLI, objects.nosqli),
    (CRLF, rules.response_splitting),
)

_FILE_CHECKS = tuple(
    (bit, rules.xss_in_file if check is rules.xss else check) for bit, check in _TEXT_CHECKS
)

ENABLED = sum(CLASS_BITS.values())
"""Every value class enabled."""
