"""Sigma detections compiled into Python predicates over a request, with prefilter literals.

pySigma parses a rule and resolves its condition (``1 of selection*``,
``all of them``, ``not``, parentheses, value lists as OR, maps as AND,
``|all``, ``|neq``) into a tree of AND/OR/NOT over *leaves*: a field
compared with one value, or a keyword searched in the whole line. Each leaf
becomes a closure; the tree becomes a closure over them. Semantics:

- strings are case-insensitive (``|cased``: case-sensitive); ``*`` and ``?``
  are wildcards; ``|contains``/``|startswith``/``|endswith`` add them;
  a keyword matches anywhere in the line (as if wrapped in ``*``);
  ``|base64``, ``|base64offset``, ``|wide``, ``|windash`` expand to strings;
- ``|re`` (flags ``i``, ``m``, ``s``) is searched with RE2, in linear time;
  it is case-sensitive unless ``|i``;
- numbers equal a numeric field (``sc-status: 404``) or the field's text;
  ``|lt``, ``|lte``, ``|gt``, ``|gte`` compare numbers;
- ``|cidr`` matches an address in the network; ``null`` matches a missing
  field; ``|exists`` tests presence.

Anything else (``|fieldref``, ``|expand`` placeholders, timestamp parts, an
unmapped field) raises :class:`Unsupported`, and the rule is skipped with
that reason.

Next to each predicate come its *needs*: a set of :class:`Need` such that
the predicate can only be true when one of them is met: a literal that
occurs (casefolded) in one of the given segments of the line, or a field
whose casefolded value equals a given text (``cs-method: TRACE``,
``c-uri-extension: exe``); ``None`` when no such set exists (a negation, a
number comparison, a regex without a literal). Of the parts of an AND, the
most selective needs are kept: ``contains`` literals (the payload) over
prefixes (``/documents``), longer literals over shorter, and never a common
method such as ``GET``. The detector's prefilter finds every rule's literals
in one scan, looks the exact values up in one dict per field, and evaluates
only the rules whose needs are met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import re2  # type: ignore[import-untyped]
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from citywatch.detect.portal.sigma_fields import (
    LINE,
    NUMERIC,
    RequestView,
    location,
    segment_mask,
)
from citywatch.detect.portal.sigma_match import (
    RE2_OPTIONS,
    Matcher,
    required_literal,
    wildcard_matcher,
)

Trace = list[tuple[int, str, str, int, int, int, int]]
"""(rank, location, text, lo, hi, start, end) of every positive leaf that made a predicate
true so far: the snippet is ``text[lo:hi]``, cut when a hit is made of it (after the secrets
in the text, and the persons' values but the match ``text[start:end]``, are masked, which
keeps the text's length).

Rank 2: a ``contains``, wildcard, regex or keyword match (the payload);
1: an exact, prefix or suffix match; 0: numbers, addresses, presence and the
method (context). A hit is located at its first leaf of the highest rank.
"""
Predicate = Callable[[RequestView, Trace], bool]


class Need(NamedTuple):
    """A literal in one of the segments in ``mask``, or (``key`` set) a field's exact value."""

    mask: int
    literal: str
    weight: int
    """Selectivity: 8 per character of a ``contains`` literal, 1 of a prefix or suffix."""
    key: str = ""
    """The field key of an exact-value need (then ``mask`` is 0)."""


Needs = frozenset[Need] | None

_COMMON_METHODS: Final = frozenset({"get", "post", "head", "options", "put", "delete", "patch"})
_CONTEXT: Final = frozenset({"method", "status", "source_ip", "version", *NUMERIC})
_FLAGS: Final = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


class Unsupported(Exception):  # noqa: N818 - a reason to skip a rule, not a failure
    """A detection this engine does not evaluate; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compile_condition(node: object, resolve: Callable[[str], str]) -> tuple[Predicate, Needs]:
    """The predicate and needs of a pySigma condition tree.

    ``resolve`` turns a Sigma field name into a field key (or raises
    :class:`Unsupported`).
    """
    if isinstance(node, ConditionAND | ConditionOR):
        parts = [compile_condition(arg, resolve) for arg in node.args]
        preds = tuple(p for p, _ in parts)
        if isinstance(node, ConditionOR):
            return _any(preds), _union([n for _, n in parts])
        return _all(preds), _best([n for _, n in parts])
    if isinstance(node, ConditionNOT):
        inner, _ = compile_condition(node.args[0], resolve)
        return _not(inner), None
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _value(resolve(node.field), node.value, keyword=False)
    if isinstance(node, ConditionValueExpression):
        return _value(LINE, node.value, keyword=True)
    if node is None:
        raise Unsupported("a detection is empty")
    raise Unsupported(f"condition element {type(node).__name__} is not supported")


def any_of(compiled: list[tuple[Predicate, Needs]]) -> tuple[Predicate, Needs]:
    """The OR of compiled conditions (a rule with a list of conditions)."""
    return _any(tuple(p for p, _ in compiled)), _union([n for _, n in compiled])


def _any(preds: tuple[Predicate, ...]) -> Predicate:
    def pred(v: RequestView, trace: Trace) -> bool:
        return any(p(v, trace) for p in preds)

    return pred


def _all(preds: tuple[Predicate, ...]) -> Predicate:
    def pred(v: RequestView, trace: Trace) -> bool:
        mark = len(trace)
        for p in preds:
            if not p(v, trace):
                del trace[mark:]
                return False
        return True

    return pred


def _not(inner: Predicate) -> Predicate:
    def pred(v: RequestView, trace: Trace) -> bool:
        mark = len(trace)
        result = inner(v, trace)
        del trace[mark:]
        return not result

    return pred


def _union(needs: list[Needs]) -> Needs:
    out: set[Need] = set()
    for n in needs:
        if n is None:
            return None
        out |= n
    return frozenset(out)


def _score(needs: frozenset[Need]) -> int:
    """How selective a needs set is: its weakest need."""
    return min(n.weight for n in needs)


def _best(needs: list[Needs]) -> Needs:
    known = [n for n in needs if n]
    if not known:
        return None
    return max(known, key=lambda n: (_score(n), -len(n)))


def _value(key: str, value: Any, *, keyword: bool) -> tuple[Predicate, Needs]:
    if isinstance(value, SigmaExpansion):
        parts = [_value(key, v, keyword=keyword) for v in value.values]
        return _any(tuple(p for p, _ in parts)), _union([n for _, n in parts])
    if isinstance(value, SigmaString):
        return _string(key, value, keyword=keyword)
    if isinstance(value, SigmaRegularExpression):
        return _regex(key, value)
    if isinstance(value, SigmaTimestampPart):
        raise Unsupported("timestamp modifiers are not supported on requests")
    if isinstance(value, SigmaNumber):
        return _number(key, value.number)
    if isinstance(value, SigmaCompareExpression):
        return _compare(key, value.number.number, value.op), None
    if isinstance(value, SigmaCIDRExpression):
        return _cidr(key, value), None
    if isinstance(value, SigmaExists):
        return _exists(key, bool(value.exists)), None
    if isinstance(value, SigmaNull):
        return _exists(key, False), None
    if isinstance(value, SigmaBool):
        return _string(key, SigmaString(str(bool(value.boolean)).lower()), keyword=keyword)
    raise Unsupported(f"value type {type(value).__name__} is not supported")


def _leaf(key: str, match: Matcher, cased: bool, rank: int) -> Predicate:
    rank = 0 if key in _CONTEXT else rank

    def pred(v: RequestView, trace: Trace) -> bool:
        text = v.original(key) if cased else v.folded(key)
        if text is None:
            return False
        span = match(text)
        if span is None:
            return False
        trace.append((rank, *v.evidence(key, text, span[0], span[1]), span[0], span[1]))
        return True

    return pred


def _context(key: str, text: str) -> tuple[int, str, str, int, int, int, int]:
    return (0, location(key), text, 0, min(len(text), 120), 0, 0)


def _string(key: str, value: SigmaString, *, keyword: bool) -> tuple[Predicate, Needs]:
    cased = isinstance(value, SigmaCasedString)
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise Unsupported(f"placeholder %{part.name}% (|expand) is not supported")
        if isinstance(part, str):
            text = part if cased else part.casefold()
            if parts and isinstance(parts[-1], str):
                parts[-1] += text
            else:
                parts.append(text)
        else:
            parts.append(part)
    if keyword:  # a keyword matches anywhere in the line
        if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
            parts.insert(0, SpecialChars.WILDCARD_MULTI)
        if parts[-1] is not SpecialChars.WILDCARD_MULTI:
            parts.append(SpecialChars.WILDCARD_MULTI)
    stars = sum(p is SpecialChars.WILDCARD_MULTI for p in parts)
    rank = 2 if stars >= 2 or SpecialChars.WILDCARD_SINGLE in parts else 1
    literal = max((p for p in parts if isinstance(p, str)), key=len, default="").casefold()
    mask = segment_mask(key)
    if len(parts) == 1 and literal:
        needs: Needs = frozenset({_exact_need(key, literal)})
    elif literal and mask:
        needs = frozenset({Need(mask, literal, (8 if rank == 2 else 1) * len(literal))})
    else:
        needs = None
    return _leaf(key, wildcard_matcher(parts), cased, rank), needs


def _exact_need(key: str, value: str) -> Need:
    if key == "method":
        weight = 0 if value in _COMMON_METHODS else 12
    else:
        weight = 1 if key in _CONTEXT else 12
    return Need(0, value, weight, key)


def _regex(key: str, value: SigmaRegularExpression) -> tuple[Predicate, Needs]:
    pattern = str(value.regexp)
    flags = "".join(sorted(_FLAGS[f] for f in value.flags))
    try:
        compiled = re2.compile(f"(?{flags}){pattern}" if flags else pattern, RE2_OPTIONS)
    except re2.error as exc:
        raise Unsupported(f"regular expression {pattern!r} is not RE2 syntax: {exc}") from exc

    def search(text: str) -> tuple[int, int] | None:
        m = compiled.search(text)
        return None if m is None else (m.start(), m.end())

    literal = required_literal(pattern)
    mask = segment_mask(key)
    needs = (
        frozenset({Need(mask, literal.casefold(), 8 * len(literal))}) if literal and mask else None
    )
    return _leaf(key, search, cased=True, rank=2), needs


def _number(key: str, number: int | float) -> tuple[Predicate, Needs]:
    if key not in NUMERIC:  # a number compared with text: its decimal form
        text = str(number)
        return _string(key, SigmaString(text), keyword=key == LINE)

    def pred(v: RequestView, trace: Trace) -> bool:
        if v.number(key) != number:
            return False
        trace.append(_context(key, str(number)))
        return True

    exact = isinstance(number, int) or number.is_integer()
    return pred, frozenset({_exact_need(key, str(int(number)))}) if exact else None


def _compare(key: str, number: int | float, op: CompareOperators) -> Predicate:
    tests: dict[CompareOperators, Callable[[int], bool]] = {
        CompareOperators.LT: lambda x: x < number,
        CompareOperators.LTE: lambda x: x <= number,
        CompareOperators.GT: lambda x: x > number,
        CompareOperators.GTE: lambda x: x >= number,
        CompareOperators.NEQ: lambda x: x != number,
    }
    test = tests[op]

    def pred(v: RequestView, trace: Trace) -> bool:
        x = v.number(key)
        if x is None or not test(x):
            return False
        trace.append(_context(key, str(x)))
        return True

    return pred


def _cidr(key: str, value: SigmaCIDRExpression) -> Predicate:
    network = value.network

    def pred(v: RequestView, trace: Trace) -> bool:
        address = v.ip(key)
        if address is None or address.version != network.version or address not in network:
            return False
        trace.append(_context(key, str(address)))
        return True

    return pred


def _exists(key: str, wanted: bool) -> Predicate:
    def pred(v: RequestView, trace: Trace) -> bool:
        text = v.original(key)
        if (text is not None) != wanted:
            return False
        if text is not None:
            trace.append(_context(key, text))
        return True

    return pred
