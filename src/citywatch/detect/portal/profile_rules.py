"""The learned model compiled into fast checks, and violations explained to a person.

A :class:`ParamRule` answers "is this value normal?" with a length test and
one or two anchored, possessive regex matches (or a set lookup for an
enumeration), so a clean request costs well under a microsecond per
parameter. Only a value that fails is looked at again, slowly, to say what
is wrong with it (:meth:`ParamRule.explain`).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Final, Protocol

from citywatch.detect.portal.masking import masked, personal_name, personal_value
from citywatch.detect.portal.profile_model import (
    MAX_MEDIA,
    MAX_SCHEMES,
    EndpointModel,
    Fact,
    ParamModel,
    Shape,
    length_of,
    mad,
    number_of,
    quantiles,
)
from citywatch.detect.portal.profile_types import (
    COMPANIONS,
    FACT_CLASS,
    NUMERIC,
    PATTERNS,
    RISKY,
    TEXTUAL,
    TYPES,
    describe_chars,
    digit_groups,
    fraction_digits,
    iban_ok,
    iso_day,
    leading_zero,
    mixed_word,
    shape_of,
    to_number,
)

_ARTICLE: Final = {
    "uuid": "a UUID",
    "date": "a date",
    "email": "an e-mail address",
    "integer": "an integer",
    "decimal": "a decimal",
    "phone": "a phone or record number",
    "alpha": "letters",
    "token": "a token",
    "alphanumeric": "letters and digits",
    "text": "free text",
}
_CONTROL: Final = FACT_CLASS["control"]
_NOT_CONTROL: Final = re.compile(f"[^{_CONTROL}]*+")
_ANY: Final = re.compile(r"[\s\S]*+")
_ANY_CHAR: Final = re.compile(r"[\s\S]")
_ENUM_TYPES: Final = frozenset({"alpha", "alphanumeric"})
_ENUM_LEN: Final = 40
_FORMATTED: Final = frozenset({"phone", "alphanumeric"})
"""Types whose values may have a fixed format (a record number), bounded per digit group."""
_FORMAT_SHARE: Final = 0.95
_FORMAT_REPEATS: Final = 4
"""Times each number of a digit group recurs, on average, for the group to be a closed set
(a few dozen serial numbers seen once each are not)."""
_PROSE: Final = 64
"""Free text longer than this, normally, is prose (a complaint), not a name or a handle."""
_FIXED_MIN: Final = 30
"""Values a parameter needs before a fixed length, an IBAN or an enumeration is enforced."""
_FREE_FORM: Final = frozenset({"text", "alpha", "integer", "decimal"})
"""Types whose values are never held to one length or shape (names and notes vary; a
number's range is what is checked, not how many digits it has)."""
_ISSUED: Final = frozenset({"uuid"})
"""Types of ids the portal issues, written one way (a UUID in lower case: a client that
writes one in upper case wrote it by hand)."""
_ORDINAL: Final = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_INVISIBLE: Final = (
    " \t\r\n\u00a0\u2000\u2001\u2002\u2003\u2009\u200a\u200b\u200c\u200d\u2060\u3000\ufeff"
)
"""Characters a person does not see: a required value of only these is empty to them."""
_SIGNED: Final = re.compile(r"[+-]?[0-9]{1,18}")
"""A whole number as written, its sign included (a house number ``-5`` is no house number)."""


class RuleConfig(Protocol):
    """The thresholds a compiled rule needs (:class:`~.profile.PortalProfileConfig` has them)."""

    @property
    def min_requests(self) -> int: ...
    @property
    def min_clients(self) -> int: ...
    @property
    def value_clients(self) -> int: ...
    @property
    def quantile(self) -> float: ...
    @property
    def enum_max(self) -> int: ...
    @property
    def type_tolerance(self) -> float: ...
    @property
    def client_share(self) -> float: ...
    @property
    def trust_clients(self) -> int: ...


def needed(people: int, cfg: RuleConfig) -> int:
    """The distinct clients that make a fact of an endpoint with ``people`` clients normal:
    ``value_clients`` at least, and the ``client_share`` of them up to ``trust_clients`` (a
    fact keeps no more clients than that), so eight addresses among 200 teach nothing.

    >>> class Cfg: value_clients, client_share, trust_clients = 5, 0.05, 64
    >>> needed(0, Cfg()), needed(60, Cfg()), needed(226, Cfg()), needed(5000, Cfg())
    (5, 5, 12, 64)
    """
    share = math.ceil(cfg.client_share * people - 1e-9)
    return max(cfg.value_clients, min(share, max(cfg.trust_clients, cfg.value_clients)))


class Violation:
    """What is wrong with one value: rule, severity, confidence and the words for it."""

    __slots__ = ("confidence", "got", "rule", "severity")

    def __init__(self, rule: str, severity: int, confidence: float, got: str) -> None:
        self.rule = rule
        self.severity = severity
        self.confidence = confidence
        self.got = got


class ParamRule:
    """The compiled check of one parameter."""

    __slots__ = (
        "char_re",
        "chars_re",
        "day_hi",
        "day_lo",
        "enforced",
        "enum",
        "form",
        "groups",
        "iban",
        "jsons",
        "kind",
        "learned",
        "len_hi",
        "len_lo",
        "length",
        "location",
        "lower",
        "max_len",
        "name",
        "num_hi",
        "num_lo",
        "one_script",
        "passed",
        "personal",
        "places",
        "precision",
        "required",
        "secret",
        "shape",
        "single",
        "type_re",
        "unpadded",
        "value_re",
        "whole_hi",
        "whole_lo",
    )

    def __init__(self, location: str, name: str) -> None:  # noqa: PLR0915 - one per fact, told
        self.location = location
        self.name = name
        self.enforced = False
        self.kind = "text"
        self.max_len = 1 << 30
        self.len_lo = self.len_hi = 0
        self.chars_re: re.Pattern[str] = _ANY
        """The characters a value may have (``fullmatch`` it)."""
        self.char_re: re.Pattern[str] = _ANY_CHAR
        """One character ``chars_re`` allows (``findall`` it)."""
        self.type_re: re.Pattern[str] | None = None
        self.value_re: re.Pattern[str] = _ANY
        """``chars_re`` and ``type_re`` in one pattern (one match instead of two)."""
        self.passed: set[str] = set()
        """Values that passed :meth:`check` (the detector remembers them, and bounds them)."""
        self.enum: frozenset[str] | None = None
        self.num_lo: float | None = None
        self.num_hi = 0.0
        self.learned: tuple[float, float] | None = None
        """The learned bottom and top of a quantity judged by its order of magnitude (see
        :func:`_range`; None: judged by its width, or not a number)."""
        self.places: int | None = None
        """Most decimal places a number has (None: not checked)."""
        self.precision: int | None = None
        """``places`` where :meth:`check` must test them: a decimal's (an integer has none)."""
        self.day_lo: int | None = None
        self.day_hi = 0
        self.whole_lo: int | None = None
        """The range of a often numeric parameter's whole-number values (a house number)."""
        self.whole_hi = 0
        self.shape: str | None = None
        """The one shape (:func:`shape_of`) of a fixed-format value, such as a record number."""
        self.groups: tuple[tuple[int, int] | None, ...] = ()
        """The range of each digit group of a value of that shape (``None``: not bounded)."""
        self.required = False
        """The parameter was never empty: an empty value is a finding."""
        # a secret's parameter (a password): never quoted nor remembered; a person's (a name,
        # an e-mail, an IBAN): its values quoted masked
        self.secret = self.personal = False
        self.single = False
        """The parameter was never sent twice in one request (HTTP parameter pollution)."""
        self.jsons: frozenset[str] = frozenset()
        """The JSON types its values had (empty: not learned from JSON, or not enforced)."""
        self.length = 0
        """The one length every value had (a token, a code; 0: none): a shorter value is a
        finding (a longer one is judged by :attr:`form` and :attr:`max_len`: ids grow)."""
        self.form: str | None = None
        """The one shape every value had: another is a finding unless only its runs grew
        (``2024-0012345`` after ``9999-999999``: ids grow; ``001234-2024`` is another format)."""
        self.iban = False
        """Every value had an IBAN's form: a value must have it."""
        self.lower = False
        """Every value of an id the portal issues (a UUID) was in lower case: a value must be."""
        self.unpadded = False
        """Every number was written without a leading zero: one with it is a finding (``0007``
        passes a string comparison that ``7`` fails, and may be read as octal)."""
        self.one_script = True
        """Each word of a value is in one script (not so in prose: a typo is no homoglyph)."""

    def check(self, value: str) -> bool:
        """True when ``value`` is normal for this parameter (the fast path)."""
        if not value:
            return not self.required
        if self.required and not value.strip(_INVISIBLE):
            return False  # only spaces and zero-width characters: empty to a person
        if len(value) > self.max_len:
            return False
        enum = self.enum
        if enum is not None:
            return value in enum
        if self.value_re.fullmatch(value) is None:
            return False
        if self.one_script and not value.isascii() and mixed_word(value) is not None:
            return False
        if len(value) < self.length:
            return False
        if self.iban and not iban_ok(value):
            return False
        if self.lower and value != value.lower():
            return False
        if self.unpadded and leading_zero(value):
            return False
        if self.form is not None and reshaped(self.form, value):
            return False
        if self.num_lo is not None:
            try:
                number: float | None = float(value)
            except ValueError:
                number = to_number(value)
            if number is None or not self.num_lo <= number <= self.num_hi:
                return False
            if self.precision is not None and _too_precise(value, number, self.precision):
                return False
        elif self.day_lo is not None:
            day = iso_day(value)
            if day is None:
                if _impossible(value):
                    return False
            elif not self.day_lo <= day <= self.day_hi:
                return False
        elif self.whole_lo is not None and _SIGNED.fullmatch(value) is not None:
            return self.whole_lo <= int(value) <= self.whole_hi
        if self.shape is not None:
            return self._group_out_of_range(value) is None
        return True

    def _group_out_of_range(self, value: str) -> tuple[int, int] | None:
        """(index, number) of the first digit group of a value of the learned shape, or of
        that shape with longer runs (an id that grew: ``1970-0000001``), that is out of its
        range, if any."""
        shape = self.shape
        if shape is None or (shape_of(value) != shape and reshaped(shape, value)):
            return None
        for i, (bounds, number) in enumerate(zip(self.groups, digit_groups(value), strict=True)):
            if bounds is not None and not bounds[0] <= number <= bounds[1]:
                return i, number
        return None

    def normally(self) -> str:
        """What the parameter normally holds, in words."""
        if self.enum is not None:
            shown = ", ".join(f"`{v}`" for v in sorted(self.enum)[:6])
            more = f" ({len(self.enum)} values)" if len(self.enum) > 6 else ""
            return f"one of {shown}{more}"
        lengths = (
            f"{self.len_lo}–{self.len_hi} chars"
            if self.len_lo != self.len_hi
            else _chars(self.len_hi)
        )
        text = f"{_ARTICLE[self.kind]} of {lengths}"
        if self.num_lo is not None:
            text += f" between {_num(self.num_lo)} and {_num(self.num_hi)}"
            if self.learned is not None:
                lo, hi = self.learned
                text += f" (learned {_num(lo)} to {_num(hi)}, a quantity judged by magnitude)"
            if self.places is not None and self.kind == "decimal":
                text += f" with at most {self.places} decimal places"
        elif self.day_lo is not None:
            text += f" between {_day(self.day_lo)} and {_day(self.day_hi)}"
        elif self.whole_lo is not None:
            text += f", its numbers between {self.whole_lo} and {self.whole_hi}"
        if self.iban:
            text += ", an IBAN"
        if self.lower:
            text += " in lower case"
        if self.shape is not None:
            bounded = [
                f"{_ORDINAL[i]} number {b[0]}–{b[1]}" for i, b in enumerate(self.groups) if b
            ]
            text += f" shaped `{self.shape}` ({', '.join(bounded)})"
        return text

    def said(self, value: str) -> str:
        """``value`` as a finding may show it: :func:`~.masking.masked` when it is a person's
        (by the parameter's name or its own shape), else as it is (a secret's is never shown:
        see :data:`NOT_SHOWN`)."""
        return masked(value) if self.personal or personal_value(value) else value

    def explain(self, value: str) -> Violation:
        """Why ``value`` failed :meth:`check` (call it only then); the worst problem leads."""
        n = len(value)
        said = self.said(value)
        if not value or (self.required and not value.strip(_INVISIBLE)):
            got = "an empty value" if not value else f"{n} invisible characters and nothing else"
            return Violation("portal.profile.length", 40, 0.55, got)
        if self.enum is not None and value not in self.enum:
            return Violation("portal.profile.enum", 45, 0.6, f"`{shown(said)}`, a value never seen")
        found: list[Violation] = []
        bad = set(value).difference(self.char_re.findall(value))
        if bad:
            risky = bool(bad & RISKY) or any(not c.isprintable() for c in bad)
            found.append(Violation("portal.profile.chars", 60 if risky else 45, 0.7, ""))
        long = n > self.max_len
        if long:
            found.append(
                Violation("portal.profile.length", 30 if self.kind == "text" else 40, 0.5, "")
            )
        parts = [_chars(n) + (f" with {describe_chars(bad)}" if bad else "")] if bad or long else []
        if self.one_script and (mixed := mixed_word(value)) is not None:
            found.append(Violation("portal.profile.chars", 55, 0.65, ""))
            word, scripts = mixed
            if said != value:  # a person's name: the letters of other scripts show, no more
                word = _ASCII_ALNUM.sub("*", word)
            parts.append(f"`{shown(word)}`, one word in {' and '.join(scripts)} letters")
        if n < self.length:
            found.append(Violation("portal.profile.length", 40, 0.55, ""))
            parts.append(f"{_chars(n)}, where it always has {self.length}")
        if self.iban and not bad and not iban_ok(value):
            found.append(Violation("portal.profile.type", 50, 0.65, ""))
            parts.append(f"`{shown(said)}`, not of an IBAN's form")
        if self.lower and value != value.lower():
            found.append(Violation("portal.profile.chars", 45, 0.6, ""))
            parts.append(f"`{shown(said)}`, in upper case where it always is in lower case")
        if self.unpadded and not bad and leading_zero(value):
            found.append(Violation("portal.profile.type", 50, 0.65, ""))
            parts.append(f"`{shown(said)}`, a number written with leading zeros")
        if self.form is not None and not bad and reshaped(self.form, value):
            found.append(Violation("portal.profile.type", 50, 0.65, ""))
            parts.append(f"`{shown(said)}`, shaped `{shape_of(said)}`")
        typed = value[: self.max_len] if long else value  # too long is said; 200 nines are
        # an integer's digits, not "not an integer"
        if not bad and self.type_re is not None and self.type_re.fullmatch(typed) is None:
            found.append(Violation("portal.profile.type", 50, 0.65, ""))
            parts.append(f"`{shown(said)}`, not {_ARTICLE[self.kind]}")
        elif not bad and (why := self._out_of_range(value, said)) is not None:
            found.append(Violation("portal.profile.range", 40, 0.55, ""))
            parts.append(why)
        if not found:
            found.append(Violation("portal.profile.type", 40, 0.5, ""))
        best = max(found, key=lambda v: v.severity)
        best.got = self._secret(n, bad) if self.secret else "; ".join(parts) or f"`{shown(said)}`"
        return best

    def _secret(self, n: int, bad: set[str]) -> str:
        """What an explanation says of a secret's value that failed: its length and the
        injection's punctuation, never the secret."""
        says = [_chars(n)]
        if bad:
            risky = bad & RISKY
            says.append(f"with {describe_chars(risky) if risky else 'characters it never has'}")
        if n < self.length:
            says.append(f"where it always has {self.length}")
        return f"{', '.join(says)} {NOT_SHOWN}"

    def _out_of_range(self, value: str, said: str) -> str | None:
        """Why a well-formed ``value`` (shown as ``said``) is outside what was learned
        (number, places, date or digit group)."""
        hidden = said != value  # a person's: the number or date is not told
        if self.num_lo is not None:
            number = to_number(value)
            if number is None:
                return None
            if self.places is not None and _too_precise(value, number, self.places):
                return f"`{shown(said)}`, with {fraction_digits(value)} decimal places"
            if self.num_lo <= number <= self.num_hi:
                return None
            if hidden:
                return "a number out of range"
            # as written: a float rounds 20 digits, and two places round 0.0001 to 0.00
            return f"the number {shown(value.strip())}, {self._beyond(number)}out of range"
        if self.day_lo is not None:
            day = iso_day(value)
            if day is None:
                return f"`{shown(said)}`, a date no calendar has" if _impossible(value) else None
            if not self.day_lo <= day <= self.day_hi:
                return "a date out of range" if hidden else f"the date {_day(day)}, out of range"
        lo = self.whole_lo
        if lo is not None and _SIGNED.fullmatch(value) is not None:
            if lo <= int(value) <= self.whole_hi:
                return None
            return "a number out of range" if hidden else f"the number {value}, out of range"
        if self.shape is not None and (off := self._group_out_of_range(value)) is not None:
            return f"{off[1]} as its {_ORDINAL[off[0]]} number, out of range"
        return None

    def _beyond(self, number: float) -> str:
        """How far ``number``, out of the numeric range, is from what was learned, in words
        ending in a comma (or nothing: a number judged by its width says no more)."""
        if number < 0 <= (self.num_lo or 0):
            return "negative where it never is, "
        if self.learned is None:
            return ""
        lo, hi = self.learned
        if number == 0:
            return "zero where it never is, "
        if number > hi:
            return f"{math.log10(number / hi):.1f} orders of magnitude above the largest learned, "
        return f"{math.log10(lo / number):.1f} orders of magnitude below the smallest learned, "

    def describe(self) -> dict[str, object]:
        """A JSON-able summary for the dashboard."""
        out: dict[str, object] = {
            "location": self.location,
            "name": self.name,
            "type": "enumeration" if self.enum is not None else self.kind,
            "base_type": self.kind,
            "enforced": self.enforced,
            "length": [self.len_lo, self.len_hi],
            "max_length": self.max_len if self.max_len < 1 << 30 else None,
            "normally": self.normally(),
            "required": self.required,
            "sent_once": self.single,
        }
        if self.jsons:
            out["json_types"] = sorted(self.jsons)
        if self.length:
            out["fixed_length"] = self.length
        if self.form is not None:
            out["shape"] = self.form
        if self.iban:
            out["iban"] = True
        if self.lower:
            out["lower_case"] = True
        if self.unpadded:
            out["no_leading_zeros"] = True
        if self.enum is not None:
            out["values"] = sorted(self.enum)
        if self.num_lo is not None:
            out["range"] = [self.num_lo, self.num_hi]
        if self.learned is not None:
            out["by_magnitude"] = list(self.learned)
        if self.places is not None:
            out["decimal_places"] = self.places
        if self.day_lo is not None:
            out["date_range"] = [_day(self.day_lo), _day(self.day_hi)]
        if self.whole_lo is not None:
            out["number_range"] = [self.whole_lo, self.whole_hi]
        if self.shape is not None:
            out["shape"] = self.shape
            out["group_ranges"] = [list(b) if b is not None else None for b in self.groups]
        return out


class EndpointRule:
    """The compiled checks of one endpoint."""

    __slots__ = ("auth", "enforced", "media", "method", "open", "params", "requests", "template")

    def __init__(self, method: str, template: str) -> None:
        self.method = method
        self.template = template
        self.enforced = False
        self.open = False
        self.requests = 0
        self.media: frozenset[str] | None = None
        """The media types its bodies come in (``""``: no body; None: not checked)."""
        self.auth: frozenset[str] | None = None
        """The schemes its credentials come in (``""``: none), when it takes credentials at
        all (None: not checked)."""
        self.params: dict[str, dict[str, ParamRule]] = {}
        """Known parameters by location, then name."""

    def known(self, location: str) -> str:
        """The known parameter names at ``location``, for an explanation."""
        names = sorted(self.params.get(location, {}))
        return ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") or "none"


def compile_endpoint(model: EndpointModel, cfg: RuleConfig) -> EndpointRule:
    """The checks of one learned endpoint: a parameter fewer than :func:`needed` of its
    clients sent is unknown (an ``is_admin`` a few addresses taught is still tampering)."""
    rule = EndpointRule(model.method, model.template)
    rule.requests = model.seen
    rule.enforced = model.seen >= cfg.min_requests and len(model.clients) >= cfg.min_clients
    need = needed(model.people, cfg)
    rare = 0
    for param in model.params.values():
        if len(param.clients) < cfg.value_clients:
            rare += 1  # the endpoint is open when many names are one client's or two
            continue
        if len(param.clients) < need:
            continue
        compiled = compile_param(param, cfg, need)
        rule.params.setdefault(param.location, {})[param.name] = compiled
    known = sum(len(p) for p in rule.params.values())
    rule.open = model.dropped > 0 or rare > max(8, known)
    if rule.enforced:
        rule.media = _trusted(model.media, MAX_MEDIA, cfg.min_requests, need)
        schemes = _trusted(model.auth, MAX_SCHEMES, cfg.min_requests, need)
        rule.auth = schemes if schemes is not None and any(schemes) else None
    return rule


def _trusted(table: dict[str, Fact], most: int, least: int, need: int) -> frozenset[str] | None:
    """The kinds (body media types, credential schemes) ``need`` clients sent, once ``least``
    requests were counted in a table that did not fill up; None when there is nothing to
    hold to."""
    if len(table) >= most or sum(f.count for f in table.values()) < least:
        return None
    return frozenset(k for k, f in table.items() if f.trusted(need)) or None


def compile_cookies(models: dict[str, ParamModel], cfg: RuleConfig) -> dict[str, ParamRule]:
    """The checks of the portal's token cookies, by name.

    Only a token the portal issues (a session id), which a client does not
    write itself, is held to its form: a cookie of many distinct values (no
    enumeration), all of one length or one shape. A token is held to its
    characters, its one length (it may not grow) or shape, not to a type: a
    random token without a digit reads as letters, another as a token. A
    preference (consent, language) is the client's to write, in a form the
    model may not have seen, and a cookie the portal never set (a tracker's)
    is not the portal's: neither is checked.
    """
    rules: dict[str, ParamRule] = {}
    for model in models.values():
        if len(model.clients) < cfg.value_clients:
            continue
        rule = compile_param(model, cfg)
        open_set = model.secret or model.overflow or model.pruned  # a secret's is never closed
        if not rule.enforced or rule.enum is not None or not open_set:
            continue
        if len(model.lengths) == 1 and model.nonempty >= _FIXED_MIN:
            rule.length = rule.max_len = length_of(next(iter(model.lengths)))
        if rule.length or rule.form is not None:
            rule.kind, rule.type_re, rule.value_re = "token", None, rule.chars_re
            rules[model.name] = rule
    return rules


def compile_param(model: ParamModel, cfg: RuleConfig, need: int = 0) -> ParamRule:
    """The check of one learned parameter; ``need`` clients (at least ``value_clients``) make
    a fact of it normal, and bound its ranges (see :func:`needed`)."""
    rule = ParamRule(model.location, model.name)
    rule.secret = model.secret
    rule.personal = personal_name(model.name)
    keep = max(need, cfg.value_clients)
    nonempty = model.nonempty
    rule.enforced = (
        nonempty > 0 and model.seen >= cfg.min_requests and len(model.clients) >= cfg.min_clients
    )
    if not nonempty:
        return rule
    _habits(rule, model, keep)
    if model.repeaters is not None and not rule.single and rule.enforced:
        rule.single = len(model.repeaters) < keep  # a few clients' pollution is no habit

    for kind in TYPES:
        miss = model.misses.get(kind)
        if (
            kind == "text"
            or miss is None
            or not miss.trusted(keep)
            or miss.count <= cfg.type_tolerance * nonempty
        ):
            rule.kind = kind
            break
    kind = rule.kind
    # a character is a habit of few (a space in a postcode, ``10 000``): ``value_clients``
    # make it normal, and the signatures keep an injection's characters out of learning
    facts = {name for name, fact in model.facts.items() if fact.trusted(cfg.value_clients)}
    _alphabet(rule, facts)
    rule.value_re = rule.chars_re
    if kind not in TEXTUAL:
        rule.type_re = PATTERNS[kind]
        rule.value_re = both(rule.chars_re, rule.type_re)
    rule.len_lo, rule.len_hi = _lengths(model, cfg.quantile, keep)
    rule.one_script = kind != "text" or rule.len_hi <= _PROSE
    if kind == "text":  # notes and complaints run long (a formal appeal runs to pages, and
        # the longest are too rare to set a bound): only an absurd length is a finding
        rule.max_len = max(16 * rule.len_hi, rule.len_hi + _PAGES)
    elif kind in TEXTUAL:  # names vary more than a sample shows (María del Carmen Núñez-García
        # de la Torre y Villanueva is no attack): only far longer is a finding
        rule.max_len = max(3 * rule.len_hi, rule.len_hi + 48)
    elif kind in NUMERIC:  # 45.812000000000005 is a float's repr, not tampering: judge the value
        rule.max_len = max(rule.len_hi, 24)
    else:
        rule.max_len = math.ceil(rule.len_hi * 1.25) + 2
    exact = model.wholes if not model.wholes_overflow else None
    wholes = _by_client(model.spans.get("whole"), keep)
    if kind == "integer" and exact:
        rule.num_lo, rule.num_hi = _whole_range(exact, cfg.quantile, wholes)
    elif kind in NUMERIC and model.numbers:
        _range(rule, model.numbers, cfg.quantile, _by_client(model.spans.get("number"), keep))
        if model.fractions:
            rule.places = quantiles(model.fractions, (cfg.quantile,))[0]
            if kind == "decimal":  # an integer (its pattern passed) has no decimal places
                rule.precision = rule.places
    elif kind == "date" and model.days:
        _days(rule, model.days, cfg.quantile, _by_client(model.spans.get("day"), keep))
    elif kind == "alphanumeric" and exact and sum(exact.values()) >= _OFTEN_WHOLE * nonempty:
        rule.whole_lo, rule.whole_hi = _whole_range(exact, cfg.quantile, wholes)
    if kind in _FORMATTED and model.shapes:
        _format(rule, model.shapes, nonempty, cfg, keep)
    if nonempty >= _FIXED_MIN:
        _fixed(rule, model, keep, cfg)
    return rule


def _lengths(model: ParamModel, q: float, keep: int) -> tuple[int, int]:
    """The robust range of a parameter's lengths: quantiles clipped to the median plus eight
    deviations, and to the lengths ``keep`` clients reach (:func:`_by_client`)."""
    lo, med, hi_q = quantiles(model.lengths, (1 - q, 0.5, q))
    scale = max(1.4826 * mad(model.lengths, med), 1.0)
    hi = max(med, min(hi_q, math.ceil(med + 8 * scale)))
    if (by_client := _by_client(model.spans.get("length"), keep)) is not None:
        hi = max(med, min(hi, by_client[1]))
        lo = min(max(lo, by_client[0]), hi)
    return length_of(lo), length_of(hi)


def _fixed(rule: ParamRule, model: ParamModel, keep: int, cfg: RuleConfig) -> None:
    """What every one of enough values had: few values (an enumeration), one length, one
    shape, an IBAN's form, lower case (an issued id)."""
    kind = rule.kind
    if kind in _ENUM_TYPES and not model.overflow:
        _enumeration(rule, model, cfg.value_clients, keep, cfg.enum_max)
    if kind not in _FREE_FORM:
        if len(model.lengths) == 1:
            rule.length = length_of(next(iter(model.lengths)))
        if not model.shapes_overflow:
            rule.form = _one_shape(model.shapes, model.nonempty, keep)
    rule.iban = model.ibans == model.nonempty
    rule.lower = kind in _ISSUED and model.upper == 0
    rule.unpadded = kind in NUMERIC and model.leading_zeros == 0


def _habits(rule: ParamRule, model: ParamModel, keep: int) -> None:
    """How an enforced parameter is sent, beyond its values: never empty, never twice in a
    request, always of the JSON types enough clients used."""
    if not rule.enforced:
        return
    rule.required = model.empty == 0
    rule.single = model.repeats == 0
    rule.jsons = frozenset(t for t, fact in model.jsons.items() if fact.trusted(keep))


def _one_shape(shapes: dict[str, Shape], nonempty: int, keep: int) -> str | None:
    """The one shape of every value, or of all values but a few that fewer than ``keep``
    clients sent (``123456-2025`` from eight addresses where ``2025-123456`` is the form)."""
    if len(shapes) == 1:
        return next(iter(shapes))
    trusted = [key for key, shape in shapes.items() if len(shape.clients) >= keep]
    if len(trusted) != 1:
        return None
    return trusted[0] if shapes[trusted[0]].count >= _FORMAT_SHARE * nonempty else None


def _by_client(spans: dict[int, list[int]] | None, keep: int) -> tuple[int, int] | None:
    """The range that ``keep`` clients reach at each end, each client counted once with its
    own lowest and highest (None: too few clients for it): a bound no small group of
    clients can stretch, however often they send their extreme.

    >>> _by_client({c: [c, c] for c in range(20)} | {99: [-1000, 1000]}, 5)
    (3, 16)
    """
    if not spans or len(spans) < 2 * keep - 1:
        return None
    lows = sorted(span[0] for span in spans.values())
    highs = sorted((span[1] for span in spans.values()), reverse=True)
    lo, hi = lows[keep - 1], highs[keep - 1]
    return (lo, hi) if lo <= hi else None


_RUNS: Final = re.compile(r"9++|a++|[\s\S]")


def reshaped(form: str, value: str) -> bool:
    """True when ``value`` is not of shape ``form`` and not that shape with longer runs of
    digits or letters (an id that grew).

    >>> [reshaped("9999-999999", v) for v in ("2024-001863", "2024-0018631", "001863-2024")]
    [False, False, True]
    """
    shape = shape_of(value)
    if shape == form:
        return False
    learned, got = _RUNS.findall(form), _RUNS.findall(shape)
    if len(learned) != len(got):
        return True
    for old, new in zip(learned, got, strict=True):
        if old[0] != new[0] or len(new) < len(old) or (old[0] not in "9a" and old != new):
            return True
    return False


def both(chars: re.Pattern[str], kind: re.Pattern[str]) -> re.Pattern[str]:
    """One pattern that fully matches what both ``chars`` and ``kind`` fully match.

    ``chars`` is a possessive repetition of single characters, so a lookahead
    of it up to the end holds exactly when it matches the whole text; the
    type's own flags (ASCII classes) are kept in a scoped group.
    """
    scope = "a" if kind.flags & re.ASCII else ""
    return re.compile(f"(?={chars.pattern}\\Z)(?{scope}:{kind.pattern})", chars.flags)


def _enumeration(rule: ParamRule, model: ParamModel, keep: int, need: int, most: int) -> None:
    """Make the rule an enumeration when the values form a small closed set.

    The set is closed when values seen once or twice (the Good-Turing
    estimate of values not seen yet), and values several clients sent but too
    few to trust yet (a real choice a small sample holds a few times), are
    under 2 % of all; values many times from one client are not evidence
    either way (that is what poisoning looks like) but may not be more than a
    tenth; nor are values ``keep`` clients but fewer than ``need`` sent (a small
    group's ``district=0``): they are left out of the set.
    """
    common: list[str] = []
    rare = model.pruned
    few_clients = 0
    # a hidden value (fewer clients sent it than the model makes readable) is one
    # this rule cannot list: trusted here, it leaves the set open
    for value, fact in [*model.values.items(), *((None, f) for f in model.hidden.values())]:
        if fact.count <= 2 or (len(fact.clients) > 1 and not fact.trusted(keep)):
            rare += fact.count
        elif not fact.trusted(keep) or (value is not None and not fact.trusted(need)):
            few_clients += fact.count
        elif value is not None and len(value) <= _ENUM_LEN:
            common.append(value)
        else:
            return
    total = model.nonempty
    if 0 < len(common) <= most and rare <= 0.02 * total and few_clients <= 0.1 * total:
        rule.enum = frozenset(common)


def _alphabet(rule: ParamRule, facts: set[str]) -> None:
    """The character pattern of a rule from its trusted facts and its type: one pattern for
    ASCII and other characters, as every class of ASCII facts holds ASCII characters only."""
    if rule.kind == "text":
        rule.chars_re = _ANY if "control" in facts else _NOT_CONTROL
    else:
        rule.chars_re = _characters(rule.kind, facts)
    # every alphabet is one character's pattern repeated possessively, or empty (none)
    pattern = rule.chars_re.pattern
    one = pattern[:-2] if pattern.endswith("*+") else "(?!)"
    rule.char_re = re.compile(one, rule.chars_re.flags)


_UNICODE_FACTS: Final = frozenset({"uletter", "usymbol"})
"""Facts of non-ASCII characters: their own alternatives, never members of the ASCII class."""


def _characters(kind: str, facts: set[str]) -> re.Pattern[str]:
    """The alphabet of a typed parameter: its trusted facts and its type's companions."""
    parts = [FACT_CLASS.get(f, re.escape(f)) for f in sorted(facts - _UNICODE_FACTS)]
    parts += [re.escape(c) for c in COMPANIONS.get(kind, "")]
    cls = "".join(parts)
    if "usymbol" in facts:
        return re.compile(f"[{cls}\\x80-\\U0010ffff]*+")
    if "uletter" in facts:
        ascii_part = f"[{cls}]|" if cls else ""
        return re.compile(f"(?:{ascii_part}[^\\W\\d_\\x00-\\x7f])*+")
    return re.compile(f"[{cls}]*+" if cls else "")


def _robust(
    hist: dict[int, int],
    q: float,
    least_scale: float,
    by_client: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """The ``1 - q`` and ``q`` quantiles of a histogram, clipped to its median plus and minus
    eight robust deviations (the MAD as a normal's sigma, at least ``least_scale``), so a
    tail of outliers, or of poison, does not stretch them; and clipped to ``by_client``
    (:func:`_by_client`), so a few clients do not either."""
    lo, med, hi = quantiles(hist, (1 - q, 0.5, q))
    scale = max(1.4826 * mad(hist, med), least_scale)
    lo, hi = max(lo, math.floor(med - 8 * scale)), min(hi, math.ceil(med + 8 * scale))
    if by_client is not None:
        lo, hi = max(lo, min(by_client[0], med)), min(hi, max(by_client[1], med))
    return lo, hi


def _range(
    rule: ParamRule, numbers: dict[int, int], q: float, by_client: tuple[int, int] | None
) -> None:
    """The range of a number not counted exactly: its robust bounds widened by their width.

    A quantity whose learned values span an order of magnitude or more (an amount of 40 to
    4,200, an area, a count: :data:`_DECADE`) is widened on the log scale its buckets are
    kept in (:func:`~.profile_model.number_of`): by the factor between its learned bottom
    and top, each way (upwards a hundredfold at most: :data:`_FOLD`). Such quantities are
    heavy-tailed, and a day's sample does not reach their top: a tax-deadline filing of
    48,000 where the sample's largest was 3,900 is a large return, not tampering, while a
    million or a billion is orders of magnitude beyond what anyone sent, and a negative
    amount, or zero far below the smallest, is still out of range. A narrow one (a coordinate, 45.76
    to 45.99) is widened by its width as it is.
    """
    lo_b, hi_b = _robust(numbers, q, 20.0, by_client)
    lo, hi = number_of(lo_b), number_of(hi_b)
    if lo >= 0 and math.log1p(hi) - math.log1p(lo) >= _DECADE:
        rule.learned = (lo, hi)
        low = number_of(max(2 * lo_b - hi_b, 0))
        high = min(number_of(2 * hi_b - lo_b), hi * _FOLD)
    else:
        margin = max(hi - lo, 0.01 * max(abs(lo), abs(hi)), 1.0)
        low, high = lo - margin, hi + margin
    # the margin widens the range, but never across a sign or down to zero the values never
    # reached: a district numbered from 1 is not 0, an amount is not negative
    floor = 1.0 if lo >= 1 and rule.kind == "integer" else 0.0 if lo >= 0 else -math.inf
    if rule.kind == "integer":
        rule.num_lo, rule.num_hi = max(math.floor(low), floor), math.ceil(high)
    else:
        rule.num_lo, rule.num_hi = max(round(low, 2), floor), round(high, 2)


def _format(
    rule: ParamRule, shapes: dict[str, Shape], nonempty: int, cfg: RuleConfig, keep: int
) -> None:
    """A fixed format: one shape held by all values but a few, with digit groups that are
    closed sets (a year), each bounded by the numbers enough clients sent; and open groups (a
    serial number) held, like a quantity, to two orders of magnitude (:data:`_FOLD`) above the
    highest that ``keep`` clients reached: records are issued, and ``2024-9999999`` where
    serials reach 5,000 is an id probe, not one issued since."""
    key, shape = max(shapes.items(), key=lambda item: item[1].count)
    if shape.count < _FORMAT_SHARE * nonempty or len(shape.groups) > len(_ORDINAL):
        return
    groups: list[tuple[int, int] | None] = []
    for i, numbers in enumerate(shape.groups):
        trusted = {n: fact.count for n, fact in (numbers or {}).items() if fact.trusted(keep)}
        if not trusted:  # too few clients for a share: as many as make a fact normal at all
            trusted = {
                n: fact.count
                for n, fact in (numbers or {}).items()
                if fact.trusted(cfg.value_clients)
            }
        closed = numbers is not None and shape.count >= _FORMAT_REPEATS * len(numbers)
        if closed and trusted:
            groups.append(_whole_range(trusted, cfg.quantile))
        else:
            top = _serial_top(shape.tops[i] if shape.tops else None, keep)
            groups.append(None if top is None else (0, math.ceil(max(top, 1) * _FOLD)))
    if any(groups):
        rule.shape, rule.groups = key, tuple(groups)


def _serial_top(tops: dict[int, int] | None, keep: int) -> int | None:
    """The highest number of a digit group that ``keep`` clients reached, each counted once
    with its own highest (None: too few clients for it, as :func:`_by_client`), so a few
    clients sending ``9999999`` do not raise it.

    >>> _serial_top({c: c for c in range(20)} | {99: 9999999}, 5), _serial_top({1: 5}, 5)
    (16, None)
    """
    bounds = _by_client({slot: [0, top] for slot, top in (tops or {}).items()}, keep)
    return None if bounds is None else bounds[1]


def _whole_range(
    wholes: dict[int, int], q: float, by_client: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The range of whole numbers counted exactly: their robust bounds widened by their width
    and at least 2, never across zero they did not reach (tax year 2025 is not 2031; house
    numbers 1–200 are not 100000)."""
    lo, hi = _robust(wholes, q, 1.0, by_client)
    margin = max(hi - lo, 2)
    low = lo - margin if lo < 0 else max(lo - margin, min(lo, 1))
    return low, hi + margin


def _days(
    rule: ParamRule, days: dict[int, int], q: float, by_client: tuple[int, int] | None
) -> None:
    """The date range: the robust bounds of the learned days (as numbers' are), widened by
    their width and at least 30 days."""
    lo, hi = _robust(days, q, 7.0, by_client)
    margin = max(hi - lo, 30)
    rule.day_lo, rule.day_hi = lo - margin, hi + margin


def _impossible(value: str) -> bool:
    """An ISO date no calendar has (``2026-02-31``), which :func:`iso_day` cannot number.

    >>> _impossible("2026-02-31"), _impossible("2026-02-28"), _impossible("14.03.2026")
    (True, False, False)
    """
    return len(value) >= 10 and value[4] == "-" and value[7] == "-" and iso_day(value) is None


def _chars(n: int) -> str:
    """``n`` chars, in words (``1 char``, ``2 chars``)."""
    return f"{n} char" if n == 1 else f"{n} chars"


_ASCII_ALNUM: Final = re.compile("[A-Za-z0-9]")
_DECADE: Final = math.log(10)
"""How far apart (in the natural log of one plus the value, as the model's buckets) a
number's learned bottom and top are for it to be a quantity judged by order of magnitude:
one plus its top ten times one plus its bottom."""
_FOLD: Final = 100.0
"""The most a quantity judged by order of magnitude is widened above its learned top: two
orders (an amount learned from 5 to 4,000 spans near three, and a million is still absurd)."""
_OFTEN_WHOLE: Final = 0.3
"""The share of a letters-and-digits parameter's values that are whole numbers for those to be
bounded (a house number: 12, 12a, 12/3; about half are bare numbers, a day's sample fewer)."""
_PAGES: Final = 4096
"""Characters of free text a person may write (an appeal of a page or two) over the longest
learned: only longer is a finding (a value is read up to :data:`~.params.MAX_VALUE`, 8192)."""
NOT_SHOWN: Final = "(a secret's value: not shown)"


def shown(value: str) -> str:
    """``value`` as an explanation quotes it: at most 40 characters, on one line, no backticks."""
    text = value if len(value) <= 40 else value[:37] + "..."
    return text.replace("`", "'").replace("\n", " ")


def _too_precise(value: str, number: float, places: int) -> bool:
    """More decimal places than ``places`` that are not a float's binary noise
    (``45.815000000000005`` is 45.815 as an app's JSON writes it; ``0.0001`` is no amount)."""
    if fraction_digits(value) <= places:
        return False
    return abs(round(number, places) - number) > 1e-9 * max(1.0, abs(number))


def _day(day: int) -> str:
    return date.fromordinal(day).isoformat()


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 or x == int(x) else f"{x:.2f}"
