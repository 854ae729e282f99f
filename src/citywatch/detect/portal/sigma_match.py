"""Matching text fast and in linear time: Sigma wildcards, and the literals a regex needs.

:func:`wildcard_matcher` turns a Sigma string (literal parts and ``*``/``?``
wildcards) into the cheapest test that decides it: ``==``, ``startswith``,
``endswith``, ``find``, a linear ``*``-only glob, or RE2 for ``?``.

:func:`required_literal` finds a literal that every match of a regular
expression must contain, for the prefilter. Conservative by design: it reads
only the top level of the pattern, treats groups, classes, escapes such as
``\\d`` and anchors as breaks, drops a character made optional by ``?``,
``*`` or ``{0,n}``, and gives up (None) on a top-level alternation,
``\\Q...\\E`` or verbose mode. A None only means the rule is evaluated on
every request, never that a match is missed.

>>> required_literal(r"^/api/(v1|v2)/users\\?id=\\d+")
'/users?id='
>>> required_literal(r"union\\s+select") in ("union", "select")
True
>>> required_literal(r"a|b") is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import re2  # type: ignore[import-untyped]
from sigma.types import SpecialChars

Matcher = Callable[[str], tuple[int, int] | None]
"""A test on a text: the (start, end) of the match, or None."""

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False

_BREAKS: Final = frozenset(".^$")
_QUANTIFIERS: Final = frozenset("*?+{")


def _skip_class(pattern: str, i: int) -> int:
    """The index after the character class starting at ``pattern[i] == '['``."""
    i += 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        if pattern[i] == "\\":
            i += 1
        elif pattern.startswith("[:", i):  # POSIX class [:alpha:]
            end = pattern.find(":]", i + 2)
            i = end + 1 if end >= 0 else i
        i += 1
    return i + 1


def _skip_group(pattern: str, i: int) -> int:
    """The index after the group starting at ``pattern[i] == '('``."""
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _skip_class(pattern, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _quantifier(pattern: str, i: int) -> tuple[int, int] | None:
    """(minimum repeats, index after) of a quantifier at ``i``, or None if there is none."""
    if i >= len(pattern) or pattern[i] not in _QUANTIFIERS:
        return None
    c = pattern[i]
    if c == "{":
        end = pattern.find("}", i)
        body = pattern[i + 1 : end] if end > 0 else ""
        low = body.split(",", 1)[0]
        if (
            not body.isascii()
            or not low.isdigit()
            or not all(p.isdigit() or p == "" for p in body.split(",", 1))
        ):
            return None
        minimum, i = int(low), end + 1
    else:
        minimum, i = (1 if c == "+" else 0), i + 1
    if i < len(pattern) and pattern[i] in "?+":  # lazy or possessive
        i += 1
    return minimum, i


def required_literal(pattern: str) -> str | None:
    """The longest literal that every match of ``pattern`` contains, or None."""
    if "\\Q" in pattern or "x" in _flag_text(pattern):
        return None
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        atom_literal: str | None = None
        if c == "|":
            return None
        if c == "(":
            i = _skip_group(pattern, i)
        elif c == "[":
            i = _skip_class(pattern, i)
        elif c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            atom_literal = None if nxt.isascii() and nxt.isalnum() else nxt
            i += 2
        elif c in _BREAKS or c in _QUANTIFIERS:
            i += 1
        else:
            atom_literal = c
            i += 1
        quant = _quantifier(pattern, i)
        if quant is not None:
            minimum, i = quant
            if atom_literal is not None and minimum >= 1:
                run.append(atom_literal)
            atom_literal = None
            runs.append("".join(run))
            run = []
        elif atom_literal is not None:
            run.append(atom_literal)
        else:
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    best = max(runs, key=len)
    return best or None


def _flag_text(pattern: str) -> str:
    """The letters of every inline flag group ``(?flags)`` / ``(?flags:`` in ``pattern``."""
    out = []
    start = pattern.find("(?")
    while start >= 0:
        j = start + 2
        while j < len(pattern) and pattern[j].isalpha():
            out.append(pattern[j])
            j += 1
        start = pattern.find("(?", j)
    return "".join(out)


def wildcard_matcher(parts: list[str | SpecialChars]) -> Matcher:
    """A matcher for a Sigma wildcard pattern: exact, prefix, suffix, contains, glob or RE2.

    ``parts`` are literal texts and wildcards (``*``, ``?``); the matcher
    returns the (start, end) of the match in a text, or None.

    >>> star = SpecialChars.WILDCARD_MULTI
    >>> wildcard_matcher([star, "/etc/", star, "passwd", star])("x=/etc/../passwd")
    (2, 16)
    >>> wildcard_matcher(["/a", star])("/b") is None
    True
    """
    star = SpecialChars.WILDCARD_MULTI
    if SpecialChars.WILDCARD_SINGLE in parts:
        pattern = "".join(
            re2.escape(p) if isinstance(p, str) else (".*" if p is star else ".") for p in parts
        )
        compiled = re2.compile(f"(?s){pattern}", RE2_OPTIONS)

        def glob_re(text: str) -> tuple[int, int] | None:
            return (0, len(text)) if compiled.fullmatch(text) else None

        return glob_re
    texts = [p for p in parts if isinstance(p, str)]
    if not texts:  # only stars: any value
        return lambda text: (0, len(text))
    if len(parts) == 1:
        lit = texts[0]
        return lambda text: (0, len(text)) if text == lit else None
    if len(parts) == 3 and parts[0] is star and parts[2] is star:
        lit = texts[0]

        def contains(text: str) -> tuple[int, int] | None:
            i = text.find(lit)
            return None if i < 0 else (i, i + len(lit))

        return contains
    if len(parts) == 2 and parts[1] is star:
        lit = texts[0]
        return lambda text: (0, len(lit)) if text.startswith(lit) else None
    if len(parts) == 2:
        lit = texts[0]
        return lambda text: (len(text) - len(lit), len(text)) if text.endswith(lit) else None
    return _glob(parts)


def _glob(parts: list[str | SpecialChars]) -> Matcher:
    """``*``-only globs in linear time: anchored ends, then leftmost greedy middle parts."""
    head = parts[0] if isinstance(parts[0], str) else None
    tail = parts[-1] if isinstance(parts[-1], str) else None
    middle = [p for p in parts[1 if head is not None else 0 : -1 if tail is not None else None]]
    middle_texts = [p for p in middle if isinstance(p, str)]

    def glob(text: str) -> tuple[int, int] | None:
        pos = 0
        first = -1
        if head is not None:
            if not text.startswith(head):
                return None
            pos, first = len(head), 0
        for lit in middle_texts:
            i = text.find(lit, pos)
            if i < 0:
                return None
            first = i if first < 0 else first
            pos = i + len(lit)
        end = pos
        if tail is not None:
            if not text.endswith(tail) or len(text) - len(tail) < pos:
                return None
            end = len(text)
            first = len(text) - len(tail) if first < 0 else first
        return (max(first, 0), end)

    return glob
