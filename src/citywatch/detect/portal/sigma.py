"""Community and project Sigma rules on portal requests (``webserver`` and ``proxy`` rules).

:class:`SigmaRules` evaluates Sigma rules, such as SigmaHQ's ``rules/web``
and ``rules/proxy`` folders and the project's own portal rules shipped in
``citywatch/detect/portal/rules``, on every request of the portal
(``portal.access`` and ``portal.http``). pySigma only *parses* the rules;
:mod:`~citywatch.detect.portal.sigma_eval` compiles each detection into a
Python predicate, and :mod:`~citywatch.detect.portal.sigma_fields` maps the
W3C and ECS field names onto the request. See
:mod:`~citywatch.detect.portal.sigma_load` for what is loaded, skipped or
reported as broken (:meth:`SigmaRules.load_report`), and for how a rule's
level and tags become a hit's severity, technique and attack class.

Speed: each rule is reduced to what must be true for it to match: one of
a few literals in one part of the request (``|contains`` values, keywords,
the longest literal of a regex; the URI for ``cs-uri-query``, the user agent
for ``c-useragent``) or one of a few exact values of a field
(``cs-method: TRACE``). An Aho-Corasick automaton (a DFA, in Rust) finds
every rule's literals at once, one dict lookup per field checks the exact
values, and only the rules so selected are evaluated. Without keyword rules
each part of the request is scanned on its own and what a URI, agent or
referrer selected is remembered, so a benign access-log line mostly costs
three dict lookups; keywords need one scan of the whole casefolded line.
Parts of the line that no literal needs (headers, body) are not even built.
A full request is first cut into pieces (URI, body, each header...): those
not yet found clean are searched in one call, and only a request where a
literal turns up is searched part by part (3 in 100 of the benchmark's).
Measured on the simulated city's traffic: about 1,000,000 access-log
lines or 240,000 full requests per CPU-second with the shipped rules,
300,000 and 180,000 with 15 SigmaHQ-style rules more, keywords among them
(the reference WAF: 500-750).

>>> from citywatch.model import Event, HttpRequest
>>> detector = SigmaRules()
>>> req = HttpRequest(method="GET", uri="/traffic/incidents?district=3%27%20UNION%20SELECT%201")
>>> hits = detector.inspect(Event(id="r1", timestamp=0.0, dataset="portal.access", payload=req))
>>> [(h.attack_class, h.location) for h in hits]
[('sqli', 'query')]
"""

from __future__ import annotations

from collections import Counter
from importlib.resources import files
from itertools import filterfalse
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Final

import ahocorasick_rs
from pydantic import BaseModel, Field

from citywatch.detect.portal.hits import Hit, HitDetector, MergeConfig
from citywatch.detect.portal.masking import mask_private, masked, secret_name
from citywatch.detect.portal.sigma_fields import (
    ANYWHERE,
    MAX_VALUE,
    SEGMENTS,
    RequestView,
    line_parts,
    segment_spans,
)
from citywatch.model import Event, HttpRequest

if TYPE_CHECKING:  # pySigma is imported when rules are loaded, not when citywatch starts
    from citywatch.detect.portal.sigma_eval import Trace
    from citywatch.detect.portal.sigma_load import CompiledRule, LoadReport

__all__ = ["SigmaRules", "SigmaRulesConfig", "shipped_rules"]

_MAX_DFA_LITERALS: Final = 5000
"""Up to this many literals the automaton is a DFA (fastest, memory grows with literals)."""
_HEADERS_BIT: Final = 1 << SEGMENTS.index("headers")
_BODY_BIT: Final = 1 << SEGMENTS.index("body")
_UNIQUE: Final = SEGMENTS.index("headers")
"""Parts from this one on (the header block, the body) are all but unique: not remembered."""
_REMEMBER: Final = 65536
"""Texts of one part whose selected rules are remembered."""
_REMEMBER_LEN: Final = 512
"""Longer texts are searched each time (they seldom repeat and would hold memory)."""


def shipped_rules() -> Path:
    """The folder of the project's own portal rules (package data)."""
    return Path(str(files("citywatch.detect.portal") / "rules"))


class SigmaRulesConfig(MergeConfig):
    """Which Sigma rules to evaluate on portal requests."""

    shipped: bool = Field(
        True, description="evaluate citywatch's own portal rules (shipped with it) too"
    )
    rule_dirs: list[Path] = Field(
        default_factory=list,
        description="more rule files or folders (recursive *.yml/*.yaml, e.g. SigmaHQ's "
        "rules/web), evaluated beside the shipped rules",
    )
    include_categories: list[str] = Field(
        default_factory=lambda: ["webserver", "proxy"],
        description="logsource categories evaluated; rules of others are skipped",
    )
    strict: bool = Field(
        False, description="raise on the first invalid rule instead of reporting it and going on"
    )


def rule_sources(cfg: SigmaRulesConfig) -> list[Path]:
    """The rule files and folders ``cfg`` asks for: the shipped rules (unless turned off),
    then ``rule_dirs`` (a file named twice is loaded once: :func:`.sigma_load.rule_files`).

    >>> [p.name for p in rule_sources(SigmaRulesConfig(rule_dirs=[Path("/x/web")]))]
    ['rules', 'web']
    >>> rule_sources(SigmaRulesConfig(shipped=False, rule_dirs=[shipped_rules()])) == [
    ...     shipped_rules()]
    True
    """
    return [*([shipped_rules()] if cfg.shipped else []), *cfg.rule_dirs]


_MAX_NOTICES: Final = 20
"""Broken rules named one by one in :meth:`SigmaRules.notices`; the rest are counted."""
_MAX_NAMED_SKIPS: Final = 5
"""Rules not evaluated that :meth:`SigmaRules.notices` names; more are counted by reason."""


class _Prefilter:
    """All rules' literals in one automaton, their exact values in one dict per field.

    Without keywords, every literal lies in given parts of the line (the URI,
    the user agent, the header block...): each part is searched on its own,
    and what a short part selects is remembered by its text, as logs repeat
    URIs, agents and referrers far more than whole requests (casefolding maps
    each character on its own, so a part folded alone is that part of the
    folded line). A keyword may lie anywhere, across parts too: with one, the
    whole line is searched in one pass and each match is placed in its part.
    """

    def __init__(self, rules: list[CompiledRule]) -> None:
        by_literal: dict[str, list[tuple[int, int]]] = {}
        by_value: dict[str, dict[str, list[int]]] = {}
        always: list[int] = []
        masks = 0
        for index, rule in enumerate(rules):
            if rule.needs is None:
                always.append(index)
                continue
            for need in rule.needs:
                if need.key:
                    by_value.setdefault(need.key, {}).setdefault(need.literal, []).append(index)
                else:
                    by_literal.setdefault(need.literal, []).append((need.mask, index))
                    masks |= need.mask
        self.always = tuple(always)
        self.literals = tuple(by_literal)
        self.targets = tuple(tuple(by_literal[lit]) for lit in self.literals)
        self.automaton = (
            ahocorasick_rs.AhoCorasick(
                self.literals,
                implementation=ahocorasick_rs.Implementation.DFA
                if len(self.literals) <= _MAX_DFA_LITERALS
                else None,
            )
            if self.literals
            else None
        )
        self.values = tuple(
            (key, {v: tuple(r) for v, r in t.items()}) for key, t in by_value.items()
        )
        self.headers = bool(masks & _HEADERS_BIT)
        self.body = bool(masks & _BODY_BIT)
        self.keywords = any(mask == ANYWHERE for targets in self.targets for mask, _ in targets)
        self.parts: tuple[tuple[int, dict[str, tuple[int, ...]]], ...] = tuple(
            (seg, {}) for seg in range(len(SEGMENTS)) if masks >> seg & 1
        )
        """The parts searched one by one (by segment), with what their texts selected."""
        self.sweep = (
            ahocorasick_rs.BytesAhoCorasick(
                [lit.encode("utf-8", "surrogatepass") for lit in self.literals],
                implementation=ahocorasick_rs.Implementation.DFA
                if len(self.literals) <= _MAX_DFA_LITERALS
                else None,
            )
            if self.literals and not self.keywords and not any("\n" in x for x in self.literals)
            else None
        )
        """Every literal, for one search of a request's pieces (see :meth:`_clean`); None with
        keywords or a literal of several lines."""
        self.clean: dict[str | tuple[str, str], None] = {}
        """Pieces (texts, headers) found to hold no literal."""

    def candidates(
        self, event: Event, request: HttpRequest
    ) -> tuple[list[int], RequestView | None]:
        """Indexes of the rules worth evaluating on this request, in rule order, and the
        view of the request if one was needed (None when the parts alone told)."""
        picked: set[int] | None = None
        view: RequestView | None = None
        for key, table in self.values:
            if key == "method":
                value: str | None = request.method.casefold()
            else:
                if view is None:
                    view = RequestView(event, request)
                value = view.folded(key)
            if value is not None and (hit := table.get(value)) is not None:
                picked = set(hit) if picked is None else picked.union(hit)
        automaton = self.automaton
        if self.sweep is not None and request.headers and self._clean(request):
            pass  # a full request none of whose parts holds a literal: nothing selected
        elif automaton is not None and not self.keywords:  # each part on its own
            texts = line_parts(request, self.headers, self.body)
            for seg, seen in self.parts:
                text = texts[seg]
                if not text:
                    continue
                selected = seen.get(text)
                if selected is None:
                    selected = self._in_part(seg, text)
                    if seg < _UNIQUE and len(text) <= _REMEMBER_LEN:
                        if len(seen) >= _REMEMBER:
                            seen.clear()
                        seen[text] = selected
                if selected:
                    if picked is None:
                        picked = set()
                    picked.update(selected)
        elif automaton is not None:  # keywords: the whole line in one pass
            if view is None:
                view = RequestView(event, request)
            text, pieces = view.scan_text(self.headers, self.body)
            matches = automaton.find_matches_as_indexes(text, overlapping=True)
            spans = segment_spans(pieces) if matches else ()
            targets = self.targets
            for pattern, start, end in matches:
                bit = 0
                for seg in range(len(SEGMENTS)):
                    if spans[2 * seg] <= start and end <= spans[2 * seg + 1]:
                        bit = 1 << seg
                        break
                for mask, index in targets[pattern]:
                    if mask & bit or mask == ANYWHERE:
                        if picked is None:
                            picked = set()
                        picked.add(index)
        if picked is None:
            return list(self.always), view
        picked.update(self.always)
        return sorted(picked), view

    def _clean(self, request: HttpRequest) -> bool:
        """True when no part of the full ``request`` holds a literal (one search or none).

        Searching each part on its own costs a call per part, and a full
        request's header block is long and all but unique, though most of its
        lines are not (agent, language, encodings); an access log line has
        three short parts, remembered one by one with what they select. So a
        full request is cut into pieces: ``-``, method, URI, referrer, agent,
        body and each header (a part is one of these texts, or header lines
        joined by newlines, which no literal holds). Pieces already found
        clean are skipped in C, by their text or (name, value) pair; the rest
        are searched in one call, UTF-8 encoded (casefolding and encoding map
        each character on its own, so a literal in a piece is in the text).
        No match: every piece is clean, and so is every part. A match (even
        across pieces) sends the request the slow way, which places it.
        """
        assert self.sweep is not None
        clean = self.clean
        texts = (
            "-",
            request.method,
            request.uri[:MAX_VALUE],
            request.referrer or "-",
            request.user_agent or "-",
            request.body[:MAX_VALUE] if self.body else "",
        )
        fresh = [*filterfalse(clean.__contains__, texts)]
        lines = [*filterfalse(clean.__contains__, request.headers)] if self.headers else []
        if not fresh and not lines:
            return True
        text = "\n".join((*fresh, *map(": ".join, lines)))
        if self.sweep.find_matches_as_indexes(text.casefold().encode("utf-8", "surrogatepass")):
            return False
        if len(clean) >= _REMEMBER:
            clean.clear()
        for piece in fresh:
            if len(piece) <= _REMEMBER_LEN:
                clean[piece] = None
        for line in lines:
            if len(line[0]) + len(line[1]) <= _REMEMBER_LEN:
                clean[line] = None
        return True

    def _in_part(self, seg: int, text: str) -> tuple[int, ...]:
        """The rules a literal found in part ``seg`` (its text ``text``) selects."""
        assert self.automaton is not None
        bit = 1 << seg
        targets = self.targets
        found = self.automaton.find_matches_as_indexes(text.casefold(), overlapping=True)
        return tuple({index: None for p, _, _ in found for mask, index in targets[p] if mask & bit})


class SigmaRules(HitDetector):
    """Sigma ``webserver``/``proxy`` rules on every portal request, prefiltered by literals."""

    name: ClassVar[str] = "sigma"
    description: ClassVar[str] = (
        "Sigma rules (SigmaHQ web and proxy rules, the project's portal rules) on portal requests"
    )
    config_model: ClassVar[type[BaseModel]] = SigmaRulesConfig
    partition_key: ClassVar[str | None] = "source.pseudonym"  # one client's requests, no more

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        from citywatch.detect.portal.sigma_load import load_rules  # noqa: PLC0415 - lazy pySigma

        cfg = self.config
        assert isinstance(cfg, SigmaRulesConfig)
        self._rules, self._report = load_rules(
            rule_sources(cfg), categories=cfg.include_categories, strict=cfg.strict
        )
        self._prefilter = _Prefilter(self._rules)

    def load_report(self) -> LoadReport:
        """What was loaded, skipped (with the reason) and found broken (with file and rule id)."""
        return self._report

    def notices(self) -> list[str]:
        """Each broken file or rule (file, rule id, why; the first :data:`_MAX_NOTICES`), then
        the rules not evaluated: each named when few, else counted by reason (a SigmaHQ
        checkout holds thousands of rules of other log sources)."""
        report = self._report
        out = [
            f"{e.file}: {f'rule {e.id}: ' if e.id else ''}{e.message}"
            for e in report.errors[:_MAX_NOTICES]
        ]
        if len(report.errors) > _MAX_NOTICES:
            out.append(f"and {len(report.errors) - _MAX_NOTICES:,} more broken rules")
        if len(report.skipped) <= _MAX_NAMED_SKIPS:
            out += [f"{r.file}: rule {r.id} not evaluated: {r.reason}" for r in report.skipped]
        else:
            reasons = Counter(r.reason for r in report.skipped)
            out += [f"{n:,} rules not evaluated: {why}" for why, n in reasons.most_common()]
        return out

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        """The rules evaluated, in order."""
        return tuple(self._rules)

    def inspect(self, event: Event) -> list[Hit]:
        request = event.payload
        if not isinstance(request, HttpRequest):
            return []
        candidates, view = self._prefilter.candidates(event, request)
        if not candidates:
            return []
        if view is None:
            view = RequestView(event, request)
        hits: list[Hit] = []
        for index in candidates:
            rule = self._rules[index]
            trace: Trace = []
            if rule.predicate(view, trace):
                hits.append(_hit(rule, trace, request))
        return hits


def _hit(rule: CompiledRule, trace: Trace, request: HttpRequest) -> Hit:
    if trace:
        best = max(t[0] for t in trace)
        _, where, text, lo, hi, start, end = next(t for t in trace if t[0] == best)
    else:  # matched through negations only
        where, text = "request", f"{request.method} {request.uri}"
        lo, hi, start, end = 0, min(len(text), 120), 0, 0
    if secret_name(where.partition(":")[2]):
        snippet = masked(text[lo:hi])
    else:  # before the cut, which may leave a name out (masking keeps the length); a
        # person's value beside the match is masked, the match itself is the attack
        snippet = mask_private(text, (start, end))[lo:hi]
    info = rule.info
    return Hit(
        attack_class=info.attack_class,
        rule_id=info.id,
        rule_name=info.title,
        technique=info.technique,
        location=where,
        snippet=snippet,
        severity=rule.severity,
        confidence=rule.confidence,
        explanation=rule.description,
    )
