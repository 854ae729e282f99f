"""Evasive variants of the hand-written attacks, generated deterministically.

Each :class:`Evasion` rewrites the decoded payload (``transform``: mixed case,
SQL comments, whitespace tricks, fullwidth forms, HTML entities, nested
lookups, IP obfuscation) and/or how it is put on the wire (``wire``: double
URL encoding, IIS ``%u`` encoding, JSON ``\\u`` escapes). A variant keeps its
original's class; its id is ``ORIGINAL~EVASION``. The same seed always gives
the same variants, byte for byte.

>>> from random import Random
>>> sql_comment("1 UNION SELECT 2", Random(0))
'1/**/UNION/**/SELECT/**/2'
>>> wire_percent_u("<a>")
'%u003ca%u003e'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from random import Random
from typing import Final
from urllib.parse import quote, quote_plus

from citywatch.bench.corpus import HttpRecord, Label
from citywatch.bench.corpus.placing import kind, payload, place

Transform = Callable[[str, Random], str | None]
"""Decoded payload in, rewritten payload out (None: does not apply)."""

_SQL_WORDS: Final = re.compile(
    r"\b(select|union|all|from|where|and|or|not|null|sleep|benchmark|waitfor|delay|concat|order"
    r"|by|limit|insert|into|values|drop|table|exec|case|when|then|else|end|if|rlike|cast|convert"
    r"|char|chr|substring|ascii|information_schema|extractvalue|updatexml|group|count|floor|rand"
    r"|elt|version|user|dual|pg_sleep|xp_cmdshell|tables|table_name)\b",
    re.IGNORECASE,
)
_SQL_VERSIONED: Final = re.compile(r"\b(union|select|and|or|from|sleep)\b", re.IGNORECASE)
_HTML_NAMES: Final = re.compile(
    r"(?<=<)/?[a-z]+|\bon[a-z]+(?=\s*=)|\b(?:src|href|action|data|style)(?=\s*=)|javascript(?=:)",
    re.IGNORECASE,
)
_ATTR_VALUE: Final = re.compile(
    r"(\b(?:on[a-z]+|href|src|action|data|formaction)\s*=\s*)([\"']?)([^\"'>\s]+)", re.IGNORECASE
)
_JNDI_WORDS: Final = re.compile(
    r"\b(jndi|ldaps?|rmi|dns|iiop|corba|nis|http|lower|upper|env|sys|date)(?=:)", re.IGNORECASE
)
_URL_HEAD: Final = re.compile(r"^([a-z][a-z0-9+.-]*)(://)([^/:?#@]*)", re.IGNORECASE)
_IPV4: Final = re.compile(r"(?<=//)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?=[:/?#]|$)")
_FULLWIDTH: Final = frozenset("<>\"'()/.;=")
_SQL_SPACE: Final = ("\t", "\n", "\r", "\x0b", "\x0c")
_HTML_SPACE: Final = ("\n", "\t", "\x0c")
_JNDI_NESTED: Final = (
    "${${lower:j}${lower:n}${lower:d}${lower:i}:",
    "${${::-j}${::-n}${::-d}${::-i}:",
    "${${env:NaN:-j}ndi${env:NaN:-:}",
    "${j${k8s:k5:-ND}i:",
)


def _flip(word: str, rng: Random) -> str:
    out = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)
    if out == word and word.isalpha():  # make sure the case really changed
        out = word[0].swapcase() + word[1:]
    return out


def _sub_words(pattern: re.Pattern[str], text: str, rng: Random) -> str | None:
    out = pattern.sub(lambda m: _flip(m.group(0), rng), text)
    return out if out != text else None


def mixed_case(cls: str) -> Transform:
    """Random case in the words that the target reads case-insensitively."""

    def sql(text: str, rng: Random) -> str | None:
        return _sub_words(_SQL_WORDS, text, rng)

    def html(text: str, rng: Random) -> str | None:
        return _sub_words(_HTML_NAMES, text, rng)

    def jndi(text: str, rng: Random) -> str | None:
        return _sub_words(_JNDI_WORDS, text, rng)

    def url(text: str, rng: Random) -> str | None:
        out = _URL_HEAD.sub(lambda m: _flip(m[1], rng) + m[2] + _flip(m[3], rng), text)
        return out if out != text else None

    return {"sqli": sql, "xss": html, "jndi": jndi}.get(cls, url)


def sql_comment(text: str, rng: Random) -> str | None:
    """Spaces become inline comments: ``UNION/**/SELECT``."""
    return text.replace(" ", "/**/") if " " in text else None


def sql_versioned(text: str, rng: Random) -> str | None:
    """Keywords inside MySQL versioned comments: ``/*!50000UNION*/``."""
    out = _SQL_VERSIONED.sub(lambda m: f"/*!50000{m.group(0)}*/", text)
    return out if out != text else None


def whitespace(cls: str) -> Transform:
    """Spaces replaced by what the target's parser also takes for whitespace."""

    def sql(text: str, rng: Random) -> str | None:
        if " " not in text:
            return None
        return "".join(rng.choice(_SQL_SPACE) if c == " " else c for c in text)

    def html(text: str, rng: Random) -> str | None:
        out = re.sub(r"<([a-zA-Z]+) ", r"<\1/", text)  # <svg onload=...> → <svg/onload=...>
        out = "".join(rng.choice(_HTML_SPACE) if c == " " else c for c in out)
        return out if out != text else None

    def shell(text: str, rng: Random) -> str | None:
        return text.replace(" ", "${IFS}") if " " in text else None

    return {"sqli": sql, "xss": html}.get(cls, shell)


def fullwidth(text: str, rng: Random) -> str | None:
    """Punctuation as fullwidth forms (``＜``, ``＇``), which NFKC-normalising backends fold."""
    if not any(c in _FULLWIDTH for c in text):
        return None
    return "".join(chr(ord(c) + 0xFEE0) if c in _FULLWIDTH else c for c in text)


def html_entities(text: str, rng: Random) -> str | None:
    """Attribute values as decimal or hex character references (``&#106;avascript``)."""

    def encode(m: re.Match[str]) -> str:
        value = "".join(
            (f"&#{ord(c)};" if rng.random() < 0.5 else f"&#x{ord(c):x};") if c.isalpha() else c
            for c in m[3]
        )
        return m[1] + m[2] + value

    out = _ATTR_VALUE.sub(encode, text)
    return out if out != text else None


def jndi_nested(text: str, rng: Random) -> str | None:
    """``${jndi:`` spelt with nested lookups, as log4shell campaigns did."""
    if "${jndi:" not in text:
        return None
    return text.replace("${jndi:", rng.choice(_JNDI_NESTED), 1)


def ip_obfuscation(text: str, rng: Random) -> str | None:
    """A dotted IPv4 host as one decimal, hex or octal number (``2130706433``)."""
    m = _IPV4.search(text)
    if m is None:
        return None
    octets = [int(x) for x in m.groups()]
    if any(o > 255 for o in octets):
        return None
    number = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    form = rng.choice((str(number), f"0x{number:08x}", ".".join(f"0{o:o}" for o in octets)))
    return text[: m.start()] + form + text[m.end() :]


def wire_plain(loc: str, value: str) -> str | None:
    """The location's usual encoding."""
    if loc == "query":
        return quote(value, safe="()*,!:/'")
    if loc == "form":
        return quote_plus(value, safe="")
    if loc == "json":
        return json_string(value, escape_all=False)
    printable = all(0x20 <= ord(c) < 0x7F for c in value)  # header and cookie values
    return value if printable else None


def wire_double(loc: str, value: str) -> str | None:
    """Percent-encoded twice: ``'`` → ``%2527``."""
    return quote(quote(value, safe=""), safe="") if loc in ("query", "form") else None


def wire_percent_u(value: str) -> str:
    """IIS ``%uXXXX`` for every character but letters and digits."""
    return "".join(c if c.isascii() and c.isalnum() else f"%u{ord(c):04x}" for c in value)


def json_string(value: str, *, escape_all: bool) -> str:
    r"""A JSON string literal; ``escape_all`` writes all but letters and digits as ``\uXXXX``."""
    out = []
    for c in value:
        if c.isascii() and c.isalnum():
            out.append(c)
        elif escape_all or c in '"\\' or ord(c) < 0x20:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else c)
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Evasion:
    """One evasion technique: for which classes, where, and how."""

    name: str
    classes: frozenset[str]
    kinds: frozenset[str]
    transform: Callable[[str], Transform] | None = None
    wire: str = "plain"
    """``plain``, ``double``, ``percent-u`` or ``json-u``."""

    def apply(self, cls: str, loc: str, value: str, rng: Random) -> str | None:
        """The wire text of the evaded payload, or None when the evasion does not apply."""
        if cls not in self.classes or loc not in self.kinds:
            return None
        if self.transform is not None:
            changed = self.transform(cls)(value, rng)
            if changed is None:
                return None
            value = changed
        if self.wire == "double":
            return wire_double(loc, value)
        if self.wire == "percent-u":
            return wire_percent_u(value)
        if self.wire == "json-u":
            return json_string(value, escape_all=True)
        return wire_plain(loc, value)


def _same(fn: Transform) -> Callable[[str], Transform]:
    return lambda cls: fn


_URLISH: Final = frozenset({"query", "form"})
_TEXT: Final = frozenset({"query", "form", "json"})
_ALL: Final = frozenset({"query", "form", "json", "header", "cookie"})
_STRING_CLASSES: Final = frozenset(
    {"sqli", "xss", "traversal", "rfi", "cmdi", "ssrf", "ssti", "jndi", "nosqli", "deserialisation"}
)

EVASIONS: Final = (
    Evasion("double-url", _STRING_CLASSES - {"deserialisation"}, _URLISH, wire="double"),
    Evasion(
        "percent-u",
        frozenset({"sqli", "xss", "traversal", "cmdi", "rfi"}),
        _URLISH,
        None,
        "percent-u",
    ),
    Evasion("json-unicode", _STRING_CLASSES, frozenset({"json"}), wire="json-u"),
    Evasion("mixed-case", frozenset({"sqli", "xss", "jndi", "rfi", "ssrf"}), _ALL, mixed_case),
    Evasion("sql-comment", frozenset({"sqli"}), _ALL, _same(sql_comment)),
    Evasion("sql-versioned-comment", frozenset({"sqli"}), _ALL, _same(sql_versioned)),
    Evasion("whitespace", frozenset({"sqli", "xss", "cmdi"}), _TEXT, whitespace),
    Evasion("fullwidth", frozenset({"sqli", "xss", "traversal"}), _TEXT, _same(fullwidth)),
    Evasion("html-entities", frozenset({"xss"}), _ALL, _same(html_entities)),
    Evasion("jndi-nested", frozenset({"jndi"}), _ALL, _same(jndi_nested)),
    Evasion("ip-obfuscation", frozenset({"ssrf"}), _ALL, _same(ip_obfuscation)),
)
"""Every evasion, in the order variants are generated."""


def generate(
    records: Iterable[HttpRecord], labels: Iterable[Label], *, seed: int = 0
) -> list[tuple[HttpRecord, Label]]:
    """The evasive variants of ``records`` (labelled by ``labels``), in a fixed order."""
    by_id = {label.id: label for label in labels}
    out: list[tuple[HttpRecord, Label]] = []
    for record in records:
        label = by_id[record.id]
        loc = kind(label.where)
        value = payload(record, label.where) if label.where else None
        if value is None:
            continue
        for evasion in EVASIONS:
            rng = Random(f"{seed}/{record.id}/{evasion.name}")
            wire = evasion.apply(label.cls, loc, value, rng)
            if wire is None:
                continue
            vid = f"{record.id}~{evasion.name}"
            n = len(out)
            variant = place(record, label.where, wire)
            if (variant.uri, variant.body, variant.headers) == (
                record.uri,
                record.body,
                record.headers,
            ):
                continue  # nothing to evade in this payload (``1`` stays ``1``)
            variant.id = vid
            variant.source_ip = _variant_ip(n)
            out.append(
                (
                    variant,
                    Label(
                        id=vid, cls=label.cls, where=label.where, evasion=evasion.name, of=record.id
                    ),
                )
            )
    return out


_VARIANT_NETS: Final = ("103.77", "5.188", "91.92", "179.43", "45.9", "37.120", "2.57", "212.70")


def _variant_ip(n: int) -> str:
    """A distinct client address for the n-th variant: each request is judged on its own."""
    net, k = _VARIANT_NETS[n % len(_VARIANT_NETS)], n // len(_VARIANT_NETS)
    return f"{net}.{k // 250}.{k % 250 + 2}"
