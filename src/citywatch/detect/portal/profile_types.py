"""What a parameter value looks like: its type, its character classes, its number.

The learned positive model (:mod:`citywatch.detect.portal.profile`) describes
each parameter by the most specific *type* all its normal values have, the
*character facts* they contain (digits, ASCII letters, other letters, space,
each ASCII punctuation mark, other symbols, control characters) and, for
numbers, their value. This module holds those pure functions and the
patterns that enforce them. Every pattern is linear: anchored by
``fullmatch``, built from character classes, repeated possessively.

>>> value_types("2025") & TYPE_BITS["integer"] != 0
True
>>> sorted(value_facts("O'Brien 12"))
["'", 'digit', 'letter', 'space']
>>> to_number("1.234,56")
1234.56
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from datetime import date as _date
from typing import Final
from urllib.parse import unquote

TYPES: Final = (
    "uuid",
    "date",
    "email",
    "integer",
    "decimal",
    "phone",
    "alpha",
    "token",
    "alphanumeric",
    "text",
)
"""Value types from the most specific to the most general (``text`` takes anything)."""
TYPE_BITS: Final = {name: 1 << i for i, name in enumerate(TYPES)}
NUMERIC: Final = frozenset({"integer", "decimal"})
TEXTUAL: Final = frozenset({"alpha", "alphanumeric", "text"})
"""Types that are only an alphabet: enforced by their characters, not a pattern."""

_A = re.ASCII
_WORD_PUNCTUATION: Final = {"alpha": " '-./", "alphanumeric": " '-./,#"}
"""What a name (letters) or a house number (letters and digits) may have besides its letters
and digits: its type's pattern takes it, and its alphabet always allows it (a name may have
an apostrophe, a street two names, ``Жарко Шћепановић / Žarko Šćepanović trg``, a house
number a slash, a comma or ``#``: ``12/II``, ``Flat 2, 14``)."""
_PATTERNS: Final = {
    "uuid": re.compile(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
    "date": re.compile(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
        r"|[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}",
        _A,
    ),
    "email": re.compile(r"[\w.%+'-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"),
    "integer": re.compile(r"[+-]?[0-9]{1,30}", _A),
    "decimal": re.compile(
        r"[+-]?(?:[0-9]{1,30}(?:[.,][0-9]{1,17})?"
        r"|[0-9]{1,3}(?:[.,' ][0-9]{3}){1,8}(?:[.,][0-9]{1,17})?"
        r"|[.,][0-9]{1,17})",
        _A,
    ),
    "phone": re.compile(r"\+?[0-9][0-9 ()./-]{4,22}[0-9]", _A),
    "alpha": re.compile(f"(?:[^\\W\\d_]|[{re.escape(_WORD_PUNCTUATION['alpha'])}])++"),
    "token": re.compile(
        r"(?=[^0-9]{0,200}[0-9])(?=[^A-Za-z]{0,200}[A-Za-z])[A-Za-z0-9_=+/.~-]{16,}", _A
    ),
    "alphanumeric": re.compile(f"(?:[^\\W_]|[{re.escape(_WORD_PUNCTUATION['alphanumeric'])}])++"),
}
PATTERNS: Final = _PATTERNS
"""The pattern of each type but ``text`` (``fullmatch`` them)."""

COMPANIONS: Final = {**_WORD_PUNCTUATION, "email": ".-_+@'0123456789", "decimal": ".,"}
"""Characters a type always allows, learned or not: a name's or a house number's punctuation
(:data:`_WORD_PUNCTUATION`), an e-mail address's punctuation and digits (``ana.85@…``), and an
amount's decimal comma (``1250,00`` is how many citizens write it)."""

_ASCII_FACT: Final = {
    **dict.fromkeys(string.digits, "digit"),
    **dict.fromkeys(string.ascii_letters, "letter"),
    **{c: c for c in string.punctuation},
    " ": "space",
    "\t": "ws",
    "\n": "ws",
    "\r": "ws",
}
FACT_CLASS: Final = {
    "digit": "0-9",
    "letter": "A-Za-z",
    "space": " ",
    "ws": r"\t\n\r",
    "control": r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f",
}
"""Regex class text of each ASCII fact that is not a punctuation mark."""

_DANGEROUS: Final = (
    ("quotes", "'\"`"),
    ("angle brackets", "<>"),
    ("braces", "{}"),
    ("brackets", "[]"),
    ("parentheses", "()"),
    ("semicolons", ";"),
    ("pipes", "|"),
    ("dollar signs", "$"),
    ("backslashes", "\\"),
    ("slashes", "/"),
    ("percent signs", "%"),
    ("ampersands", "&"),
    ("equals signs", "="),
    ("dots", "."),
    ("hyphens", "-"),
)
RISKY: Final = frozenset("'\"`<>{}[]();|$\\%&=/")
"""Punctuation that injections need: a value gaining one of these is worth more severity."""


def value_facts(value: str) -> set[str]:
    """The character facts of ``value`` (a small set of class names and punctuation marks).

    >>> sorted(value_facts("Õun <3"))
    ['<', 'digit', 'letter', 'space', 'uletter']
    """
    facts: set[str] = set()
    table = _ASCII_FACT
    for c in set(value):
        fact = table.get(c)
        if fact is None:
            if c.isascii():
                fact = "control"
            elif c.isalpha():
                fact = "uletter"
            elif c.isprintable():
                fact = "usymbol"
            else:
                fact = "control"
        facts.add(fact)
    return facts


def value_types(value: str) -> int:
    """The bit mask (:data:`TYPE_BITS`) of every type ``value`` matches; ``text`` always."""
    bits = TYPE_BITS["text"]
    n = len(value)
    if n > 512:
        return bits
    first = value[:1]
    if first.isdigit() or first in "+-.,":
        for name in ("integer", "decimal", "date", "phone"):
            if _PATTERNS[name].fullmatch(value) is not None:
                bits |= TYPE_BITS[name]
    if n == 36 and _PATTERNS["uuid"].fullmatch(value) is not None:
        bits |= TYPE_BITS["uuid"]
    if "@" in value and _PATTERNS["email"].fullmatch(value) is not None:
        bits |= TYPE_BITS["email"]
    for name in ("alpha", "alphanumeric"):
        if _PATTERNS[name].fullmatch(value) is not None:
            bits |= TYPE_BITS[name]
    if n >= 16 and value.isascii() and _PATTERNS["token"].fullmatch(value) is not None:
        bits |= TYPE_BITS["token"]
    return bits


_SHAPE: Final = str.maketrans(
    dict.fromkeys(string.digits, "9") | dict.fromkeys(string.ascii_letters, "a")
)
_DIGITS: Final = re.compile(r"[0-9]+")


def shape_of(value: str) -> str:
    """The shape of a value: ASCII digits as ``9``, ASCII letters as ``a``, the rest as is.

    >>> shape_of("2025-004211"), shape_of("HR-12b")
    ('9999-999999', 'aa-99a')
    """
    return value.translate(_SHAPE)


def digit_groups(value: str) -> list[int]:
    """The numbers of a value's runs of ASCII digits: ``2025-004211`` holds 2025 and 4211."""
    return [int(run) for run in _DIGITS.findall(value)]


_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+", _A)
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]", _A)


def leading_zero(value: str) -> bool:
    """A number written with a leading zero (``0`` alone and ``0.5`` are not).

    >>> [leading_zero(v) for v in ("0007", "-05", "00.5", "0", "0.5", "0,5", "10", "")]
    [True, True, True, False, False, False, False, False]
    """
    return _LEADING_ZERO.match(value) is not None


def to_number(value: str) -> float | None:
    """The number a decimal or integer field holds (decimal comma and grouping understood).

    >>> to_number("1,234"), to_number("12,5"), to_number("1 234.5"), to_number("x")
    (1234.0, 12.5, 1234.5, None)
    """
    text = value.replace(" ", "").replace("'", "")
    if "," in text:
        if "." in text:  # the later separator is the decimal one
            if text.rfind(",") > text.rfind("."):
                text = text.replace(".", "").replace(",", ".")
            else:
                text = text.replace(",", "")
        elif _GROUPED.fullmatch(text) is not None:
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def fraction_digits(value: str) -> int:
    """Digits after the decimal separator of a number, read as :func:`to_number` reads it.

    >>> [fraction_digits(v) for v in ("12.50", "0,0001", "1,234", "7", "1.234,5", "0.125")]
    [2, 4, 0, 0, 1, 3]
    """
    text = value.replace(" ", "").replace("'", "")
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot < 0 and _GROUPED.fullmatch(text) is not None:
        return 0  # 1,234: grouping
    if dot >= 0 and comma < 0 and text.count(".") > 1:
        return 0  # 1.234.567: grouping
    tail = text[max(comma, dot) + 1 :] if max(comma, dot) >= 0 else ""
    return len(tail) if tail.isascii() and tail.isdigit() else 0


def iso_day(value: str) -> int | None:
    """The day number (proleptic Gregorian ordinal) of an ISO date or date-time, else None.

    >>> iso_day("2026-03-14"), iso_day("2026-03-14T10:00:00Z"), iso_day("14.03.2026")
    (739689, 739689, None)
    """
    if len(value) < 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return _date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return None


_WORD: Final = re.compile(r"[^\W\d_]++")
_CONFUSABLE_SCRIPTS: Final = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})
"""Scripts whose letters pass for each other's (Latin ``a`` and Cyrillic ``а``)."""


def mixed_word(value: str) -> tuple[str, list[str]] | None:
    """The first word of ``value`` written in letters of two look-alike scripts, and those
    scripts: one Cyrillic or Greek letter in a Latin word is a homoglyph, not a spelling.

    >>> mixed_word("Ana K\u03bfva\u010d"), mixed_word("Müller, Дмитрий Ivanov")
    (('Kοvač', ['Greek', 'Latin']), None)
    """
    for word in _WORD.findall(value):
        if word.isascii():
            continue
        scripts = {
            "LATIN" if c.isascii() else unicodedata.name(c, "").partition(" ")[0] for c in word
        }
        scripts &= _CONFUSABLE_SCRIPTS
        if len(scripts) > 1:
            return word, sorted(s.title() for s in scripts)
    return None


def folded(raw: str) -> bool:
    """True when a value was written in compatibility characters that Unicode normalisation
    (NFKC) folds into plain ones: full-width or superscript digits, ligatures (``raw`` as
    sent, percent-encoding and all).

    >>> folded("%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95"), folded("2025"), folded("Õun")
    (True, False, False)
    """
    text = unquote(raw) if "%" in raw else raw
    return not text.isascii() and unicodedata.normalize("NFKC", text) != text


_IBAN: Final = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", re.ASCII)


def iban_ok(value: str) -> bool:
    """True for a value of an IBAN's form (ISO 13616: country, two check digits, up to 30
    letters and digits; 15–34 in all), grouped by spaces or not. The check digits are not
    verified: a citizen's typo is no tampering, and the portal's own check answers it.

    >>> iban_ok("HR12 1001 0051 8630 0016 0"), iban_ok("HRAB 1001 0051 8630 0016 0")
    (True, False)
    >>> iban_ok("HR12" + "1" * 31), iban_ok("2025")
    (False, False)
    """
    if len(value) < 15 or not value[:2].isalpha():
        return False
    return _IBAN.fullmatch(value.replace(" ", "").upper()) is not None


def describe_chars(chars: set[str]) -> str:
    """Name the unexpected characters of a value for a person: ``quotes and braces``.

    >>> describe_chars({"'", "{", "x"})
    'quotes, braces and letters'
    """
    names: list[str] = []
    rest = set(chars)
    for label, members in _DANGEROUS:
        if rest & set(members):
            names.append(label)
            rest -= set(members)
    kinds = (
        ("digits", str.isdigit),
        ("letters", str.isalpha),
        ("spaces", str.isspace),
        ("control characters", lambda c: not c.isprintable()),
    )
    for label, test in kinds:
        hit = {c for c in rest if test(c)}
        if hit:
            names.append(label)
            rest -= hit
    if rest:
        marks = "".join(sorted(rest))[:8]
        names.append(f"`{marks}`")
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
