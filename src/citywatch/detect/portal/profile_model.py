"""The learned model of the portal: explicit, serialisable state, and how it grows.

:class:`ProfileModel` holds, per endpoint (method and path template), the
parameters seen and, per parameter, what its values looked like. Learning is
made hard to poison in three ways:

- each client contributes at most ``per_client`` values to a parameter (a
  quota per client slot), so a few sources cannot outweigh the many;
- every discrete fact (a character class, a punctuation mark, an
  enumeration value, a value that breaks a type, a parameter name) keeps the
  distinct clients that showed it, and counts as normal only when
  ``value_clients`` of them did;
- bounds are quantiles of those capped counts, clipped to the median plus
  eight robust deviations (MAD), so a tail of outliers does not stretch them;
- and, against a small group of clients acting together (eight addresses
  teaching ``is_admin=1`` or ``amount=99999999999999``), each client's own
  range of lengths, numbers and dates is kept once (:attr:`ParamModel.spans`),
  and the endpoint counts its distinct clients (:attr:`EndpointModel.people`):
  the rules then hold a fact, a shape or a bound to a *share* of the
  endpoint's clients, not just to a handful (see :mod:`.profile_rules`).

The model is compiled into fast checks by :mod:`.profile_rules`.
"""

from __future__ import annotations

import hashlib
import math
import os
import zlib
from typing import Final

import msgspec

from citywatch.detect.portal.masking import secret_name
from citywatch.detect.portal.profile_types import (
    TYPE_BITS,
    TYPES,
    digit_groups,
    fraction_digits,
    iban_ok,
    iso_day,
    leading_zero,
    shape_of,
    to_number,
    value_facts,
    value_types,
)

QUOTA_SLOTS: Final = 4096
"""Client slots of a parameter's contribution quota (clients hash into them)."""
MAX_VALUES: Final = 64
"""Distinct values a parameter remembers (enumeration candidates)."""
MAX_PARAMS: Final = 128
"""Parameter names an endpoint remembers."""
MAX_MEDIA: Final = 8
"""Media types an endpoint counts (more: it takes anything, and none is checked)."""
MAX_SCHEMES: Final = 8
"""Credential schemes an endpoint counts (more: it takes any, and none is checked)."""
MAX_COOKIES: Final = 64
"""Cookie names the model remembers (the portal's own are few; trackers come and go)."""
MAX_ENDPOINTS: Final = 4096
"""Endpoints the model remembers."""
MAX_FLAGGED: Final = 65536
"""Flagged clients remembered during learning."""
_LEN_CAP: Final = 1024
_NUM_SCALE: Final = 200.0
"""Number buckets per unit of ``log1p``: 0.5 % wide."""
_CHECKED_TYPES: Final = TYPES[:-1]
_NUMERIC_BITS: Final = TYPE_BITS["integer"] | TYPE_BITS["decimal"]
_INTEGER_BIT: Final = TYPE_BITS["integer"]
MAX_WHOLES: Final = 1024
"""Distinct whole numbers a parameter counts exactly (more: its range is wide, log buckets do)."""
_WHOLE_LIMIT: Final = 1 << 53
MAX_GROUP_VALUES: Final = 32
"""Distinct numbers a digit group of a shape may have to be a closed set."""
MAX_SHAPES: Final = 8
"""Value shapes a parameter counts (more: its values have no fixed format)."""
_SHAPE_LEN: Final = 48
_DATE_BIT: Final = TYPE_BITS["date"]
SPANS: Final = ("length", "number", "whole", "day")
"""What a client's span keeps the range of (see :attr:`ParamModel.spans`)."""
_PEOPLE_BYTES: Final = QUOTA_SLOTS // 8


def client_hash(pseudonym: str | None) -> int:
    """A stable 32-bit id of a client (its pseudonym is already keyed)."""
    return zlib.crc32((pseudonym or "").encode())


class Fact(msgspec.Struct, array_like=True):
    """How often something was seen, and the first few distinct clients that showed it."""

    count: int = 0
    clients: list[int] = msgspec.field(default_factory=list)

    def trusted(self, keep: int) -> bool:
        """Shown by ``keep`` distinct clients at least: normal, not one client's say-so."""
        return len(self.clients) >= keep

    def see(self, client: int, keep: int) -> None:
        self.count += 1
        clients = self.clients
        if len(clients) < keep and client not in clients:
            clients.append(client)


def _see(table: dict[str, Fact], key: str, client: int, keep: int) -> None:
    """Count ``key`` in ``table`` as shown by ``client`` (a fact made on first sight)."""
    fact = table.get(key)
    if fact is None:
        fact = table[key] = Fact()
    fact.see(client, keep)


def _see_within(table: dict[str, Fact], key: str, most: int, client: int, keep: int) -> None:
    """:func:`_see`, while ``table`` holds ``key`` or fewer than ``most`` kinds (a full table
    counts no new kind: the compiled rule then holds to none of them)."""
    if key in table or len(table) < most:
        _see(table, key, client, keep)


class Shape(msgspec.Struct, array_like=True):
    """The values of one shape (:func:`~.profile_types.shape_of`): how many, and the numbers
    of each digit group with the clients that sent them, while few (``None`` once more than
    :data:`MAX_GROUP_VALUES` distinct: a serial number or an account number is no closed set,
    a year is)."""

    count: int = 0
    groups: list[dict[int, Fact] | None] = msgspec.field(default_factory=list)
    clients: list[int] = msgspec.field(default_factory=list)
    """The first distinct clients that sent a value of this shape (empty: a model learned
    before they were kept)."""
    tops: list[dict[int, int]] = msgspec.field(default_factory=list)
    """Per digit group, each client's (by quota slot) highest number, so an open group (a
    serial) can be bounded by what enough clients reached, each counted once (empty: a model
    learned before they were kept)."""

    def add(self, value: str, client: int, keep: int) -> None:
        self.count += 1
        if len(self.clients) < keep and client not in self.clients:
            self.clients.append(client)
        groups, tops, slot = self.groups, self.tops, client % QUOTA_SLOTS
        for i, number in enumerate(digit_groups(value)):
            if tops:
                _raise_top(tops[i], slot, min(number, _WHOLE_LIMIT))
            numbers = groups[i]
            if numbers is None:
                continue
            fact = numbers.get(number)
            if fact is None:
                # a number past what a model saves (64 bits; 2**53 as the wholes) is no
                # closed set's member: an account's or a serial's digits
                if len(numbers) >= MAX_GROUP_VALUES or number >= _WHOLE_LIMIT:
                    groups[i] = None
                    continue
                fact = numbers[number] = Fact()
            fact.see(client, keep)


TOPS_KEPT: Final = 127
"""Clients' highest numbers a digit group keeps, the highest: the bound of an open group is
the ``keep``-th highest of at least ``2 * keep - 1`` (:func:`.profile_rules._serial_top`),
and ``keep`` is at most the default ``trust_clients`` (64), so keeping the 127 highest gives
the bound all 4,096 quota slots would (a ``trust_clients`` set higher bounds nothing past
it). A slot's number only grows, so one dropped for a lower number is never needed back."""


def _raise_top(top: dict[int, int], slot: int, number: int) -> None:
    """Note ``number`` as quota slot ``slot``'s highest in ``top``, which keeps the
    :data:`TOPS_KEPT` highest slots.

    >>> top = {}
    >>> for slot in range(300):
    ...     _raise_top(top, slot, slot)
    >>> len(top), min(top.values()), max(top.values())
    (127, 173, 299)
    """
    old = top.get(slot)
    if old is not None:
        if old < number:
            top[slot] = number
    elif len(top) < TOPS_KEPT:
        top[slot] = number
    else:
        lowest = min(top, key=top.__getitem__)
        if top[lowest] < number:
            del top[lowest]
            top[slot] = number


class ParamModel(msgspec.Struct, kw_only=True):
    """What one parameter's learned values looked like (all counts are client-capped)."""

    location: str
    name: str
    seen: int = 0
    clients: list[int] = msgspec.field(default_factory=list)
    nonempty: int = 0
    empty: int = -1
    """Empty values (``-1``: not counted, a model learned before they were)."""
    repeats: int = -1
    """Requests that sent the parameter more than once (``-1``: not counted)."""
    repeaters: list[int] | None = None
    """The first distinct clients that sent it more than once (None: not kept, a model
    learned before they were)."""
    ibans: int = -1
    """Values of an IBAN's form (``-1``: not counted)."""
    upper: int = -1
    """Values with an upper-case letter (``-1``: not counted)."""
    leading_zeros: int = -1
    """Numbers written with a leading zero, ``007`` (``-1``: not counted)."""
    jsons: dict[str, Fact] = msgspec.field(default_factory=dict)
    """The JSON types its values had, in a JSON body (letters of ``params.JSON_TYPES``)."""
    lengths: dict[int, int] = msgspec.field(default_factory=dict)
    numbers: dict[int, int] = msgspec.field(default_factory=dict)
    fractions: dict[int, int] = msgspec.field(default_factory=dict)
    """Numbers by their count of decimal places (an amount has two)."""
    wholes: dict[int, int] = msgspec.field(default_factory=dict)
    """Whole-number values, exactly, while there are at most :data:`MAX_WHOLES` distinct ones
    (a year or a house number needs units, not the 0.5 % of a number bucket)."""
    wholes_overflow: bool = False
    shapes: dict[str, Shape] = msgspec.field(default_factory=dict)
    """Values by shape while there are at most :data:`MAX_SHAPES` (a record number's format:
    ``2025-004211`` is ``9999-999999``, its first group a year)."""
    shapes_overflow: bool = False
    days: dict[int, int] = msgspec.field(default_factory=dict)
    """ISO dates by day number."""
    facts: dict[str, Fact] = msgspec.field(default_factory=dict)
    misses: dict[str, Fact] = msgspec.field(default_factory=dict)
    """Per type, the values that were not of that type."""
    values: dict[str, Fact] = msgspec.field(default_factory=dict)
    """Values that ``keep`` clients sent (a choice many make, an enumeration's candidates)."""
    hidden: dict[str, Fact] = msgspec.field(default_factory=dict)
    """Values fewer clients sent, by a salted digest: one person's e-mail or name is counted,
    never kept readable (it moves to :attr:`values` once ``keep`` clients sent it)."""
    salt: bytes = msgspec.field(default_factory=lambda: os.urandom(8))
    secret: bool = False
    """A secret's parameter (:func:`~.masking.secret_name`): its values, their numbers,
    shapes and dates are never kept; only their lengths, characters and types."""
    pruned: int = 0
    """Values seen once and forgotten to make room: evidence of an open set."""
    overflow: bool = False
    quota: bytearray = msgspec.field(default_factory=lambda: bytearray(QUOTA_SLOTS))
    spans: dict[str, dict[int, list[int]]] = msgspec.field(default_factory=dict)
    """Per measure of :data:`SPANS`, each client's (by quota slot) lowest and highest key,
    so a bound can be a quantile over clients: a client counts once however often it sent
    its extreme (empty: a model learned before they were kept)."""

    def repeated(self, client: int, keep: int) -> None:
        """Count a request of ``client`` that sent the parameter more than once."""
        if self.repeats >= 0:
            self.repeats += 1
        repeaters = self.repeaters
        if repeaters is not None and len(repeaters) < keep and client not in repeaters:
            repeaters.append(client)

    def _span(self, measure: str, slot: int, key: int) -> None:
        """Widen the span of ``measure`` of the client in quota slot ``slot`` to ``key``."""
        table = self.spans.get(measure)
        if table is None:
            table = self.spans[measure] = {}
        span = table.get(slot)
        if span is None:
            table[slot] = [key, key]
        elif key < span[0]:
            span[0] = key
        elif key > span[1]:
            span[1] = key

    def learn(
        self, value: str, client: int, per_client: int, keep: int, json: str = "", cap: int = 0
    ) -> None:
        """Fold one value sent by ``client`` in (``json``: its JSON type, in a JSON body).

        ``keep`` clients make a value readable; facts keep up to ``cap`` (at least ``keep``)
        distinct clients, so the rules can ask for a share of an endpoint's clients.
        """
        self.seen += 1
        keep, readable = max(keep, cap), keep
        clients = self.clients
        if len(clients) < keep and client not in clients:
            clients.append(client)
        slot = client % QUOTA_SLOTS
        if self.quota[slot] >= per_client:
            return
        self.quota[slot] += 1
        if json:
            _see(self.jsons, json, client, keep)
        if not value:
            if self.empty >= 0:
                self.empty += 1
            return
        self.nonempty += 1
        if self.ibans >= 0 and iban_ok(value):
            self.ibans += 1
        if self.upper >= 0 and value != value.lower():
            self.upper += 1
        n = len(value)
        key = n if n <= _LEN_CAP else _LEN_CAP + n.bit_length()
        self.lengths[key] = self.lengths.get(key, 0) + 1
        self._span("length", slot, key)
        facts = self.facts
        for name in value_facts(value):
            _see(facts, name, client, keep)
        bits = value_types(value)
        misses = self.misses
        for i, name in enumerate(_CHECKED_TYPES):
            if not bits & (1 << i):
                _see(misses, name, client, keep)
        if self.secret:
            return
        if bits & _NUMERIC_BITS:
            if self.leading_zeros >= 0 and leading_zero(value):
                self.leading_zeros += 1
            number = to_number(value)
            if number is not None:
                bucket = round(math.copysign(math.log1p(abs(number)) * _NUM_SCALE, number))
                self.numbers[bucket] = self.numbers.get(bucket, 0) + 1
                self._span("number", slot, bucket)
                places = fraction_digits(value)
                self.fractions[places] = self.fractions.get(places, 0) + 1
            if bits & _INTEGER_BIT and not self.wholes_overflow:
                self._whole(int(value))
                if not self.wholes_overflow:
                    self._span("whole", slot, int(value))
        if bits & _DATE_BIT and (day := iso_day(value)) is not None:
            self.days[day] = self.days.get(day, 0) + 1
            self._span("day", slot, day)
        if not self.shapes_overflow:
            self._shape(value, client, keep)
        self._value(value[:256], client, keep, readable)

    def _whole(self, whole: int) -> None:
        wholes = self.wholes
        if abs(whole) >= _WHOLE_LIMIT or (whole not in wholes and len(wholes) >= MAX_WHOLES):
            wholes.clear()
            self.spans.pop("whole", None)
            self.wholes_overflow = True
        else:
            wholes[whole] = wholes.get(whole, 0) + 1

    def _shape(self, value: str, client: int, keep: int) -> None:
        shapes = self.shapes
        key = shape_of(value) if len(value) <= _SHAPE_LEN else None
        shape = None if key is None else shapes.get(key)
        if shape is None:
            if key is None or len(shapes) >= MAX_SHAPES:
                shapes.clear()
                self.shapes_overflow = True
                return
            runs = len(digit_groups(value))
            shape = shapes[key] = Shape(
                groups=[{} for _ in range(runs)], tops=[{} for _ in range(runs)]
            )
        shape.add(value, client, keep)

    def _value(self, value: str, client: int, keep: int, readable: int) -> None:
        fact = self.values.get(value)
        if fact is not None:
            fact.see(client, keep)
            return
        hidden = self.hidden
        key = self._digest(value)
        fact = hidden.get(key)
        if fact is None:
            if self.overflow or not self._room():
                return
            fact = hidden[key] = Fact()
        fact.see(client, keep)
        if fact.trusted(readable):
            self.values[value] = hidden.pop(key)

    def _digest(self, value: str) -> str:
        data = value.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, digest_size=12, salt=self.salt).hexdigest()

    def _room(self) -> bool:
        """Room for one more distinct value, after forgetting those seen once (False, and
        :attr:`overflow` set, when there is none: the values are an open set)."""
        if len(self.values) + len(self.hidden) < MAX_VALUES:
            return True
        for table in (self.values, self.hidden):
            for rare in [v for v, f in table.items() if f.count < 2]:
                del table[rare]
                self.pruned += 1
        if len(self.values) + len(self.hidden) < MAX_VALUES:
            return True
        self.overflow = True
        return False

    def seal(self, keep: int) -> None:
        """Bring a model learned before values were hidden to the rules of :meth:`learn`:
        a secret's parameter keeps no values, and values fewer than ``keep`` clients sent
        are hidden."""
        self.secret = secret_name(self.name)
        if self.secret:
            self.values.clear()
            self.hidden.clear()
            self.shapes.clear()
            self.wholes.clear()
            self.numbers.clear()
            self.fractions.clear()
            self.days.clear()
            self.spans.clear()
            return
        for value in [v for v, f in self.values.items() if not f.trusted(keep)]:
            self.hidden[self._digest(value)] = self.values.pop(value)


class EndpointModel(msgspec.Struct, kw_only=True):
    """One endpoint: how often it was learned, from whom, and its parameters."""

    method: str
    template: str
    seen: int = 0
    clients: list[int] = msgspec.field(default_factory=list)
    params: dict[str, ParamModel] = msgspec.field(default_factory=dict)
    """By ``location:name``."""
    dropped: int = 0
    """Parameter names not remembered (the endpoint was full)."""
    media: dict[str, Fact] = msgspec.field(default_factory=dict)
    """The media types of its request bodies (``application/json``; ``""``: no body), at most
    :data:`MAX_MEDIA` (an empty table: a model learned before they were counted)."""
    auth: dict[str, Fact] = msgspec.field(default_factory=dict)
    """The schemes of its ``Authorization`` credentials (``bearer``; ``""``: none), at most
    :data:`MAX_SCHEMES` (an empty table: a model learned before they were counted)."""
    people: int = 0
    """Its distinct clients (by quota slot; 0: a model learned before they were counted):
    the base of the share of clients a fact needs to be normal."""
    slots: bytearray = msgspec.field(default_factory=lambda: bytearray(_PEOPLE_BYTES))

    def visit(self, client: int) -> None:
        """Count a request of ``client`` (a client not seen before adds to :attr:`people`)."""
        slot = client % QUOTA_SLOTS
        byte, bit = slot >> 3, 1 << (slot & 7)
        if not self.slots[byte] & bit:
            self.slots[byte] |= bit
            self.people += 1

    def body(self, media: str, client: int, keep: int) -> None:
        """Count one request's body by its media type (``""``: none)."""
        _see_within(self.media, media, MAX_MEDIA, client, keep)

    def credential(self, scheme: str, client: int, keep: int) -> None:
        """Count one request's ``Authorization`` scheme (``""``: none; see
        :func:`~.headers.auth_scheme`)."""
        _see_within(self.auth, scheme, MAX_SCHEMES, client, keep)

    def param(self, location: str, name: str, keep: int) -> ParamModel | None:
        model, dropped = _param(self.params, location, name, keep, MAX_PARAMS)
        self.dropped += dropped
        return model


def _param(
    table: dict[str, ParamModel], location: str, name: str, keep: int, most: int
) -> tuple[ParamModel | None, int]:
    """The model of parameter ``name`` at ``location`` in ``table`` (made on first sight while
    there is room, after forgetting the ones fewer than ``keep`` clients sent), and how many
    names were forgotten or refused to make it."""
    key = f"{location}:{name}"
    model = table.get(key)
    if model is not None:
        return model, 0
    dropped = 0
    if len(table) >= most:
        for rare in [k for k, p in table.items() if len(p.clients) < keep]:
            del table[rare]
            dropped += 1
        if len(table) >= most:
            return None, dropped + 1
    model = table[key] = ParamModel(
        location=location,
        name=name[:128],
        empty=0,
        repeats=0,
        ibans=0,
        upper=0,
        leading_zeros=0,
        secret=secret_name(name),
        repeaters=[],
    )
    return model, dropped


class ProfileModel(msgspec.Struct, kw_only=True):
    """The whole learned model: endpoints by ``METHOD template``, and learning counters."""

    endpoints: dict[str, EndpointModel] = msgspec.field(default_factory=dict)
    cookies: dict[str, ParamModel] = msgspec.field(default_factory=dict)
    """The portal's cookies by ``cookie:name``, learned from every endpoint (a browser sends
    them all everywhere), at most :data:`MAX_COOKIES`."""
    flagged: dict[int, int] = msgspec.field(default_factory=dict)
    """Clients a signature flagged while learning (their requests are not learned)."""
    learned: int = 0
    skipped: int = 0

    def endpoint(self, method: str, template: str, keep: int) -> EndpointModel | None:
        key = f"{method} {template}"
        model = self.endpoints.get(key)
        if model is not None:
            return model
        if len(self.endpoints) >= MAX_ENDPOINTS:
            for rare in [k for k, e in self.endpoints.items() if len(e.clients) < 2]:
                del self.endpoints[rare]
            if len(self.endpoints) >= MAX_ENDPOINTS:
                return None
        model = self.endpoints[key] = EndpointModel(method=method, template=template)
        return model

    def cookie(self, name: str, keep: int) -> ParamModel | None:
        """The model of cookie ``name`` (None: no room for another)."""
        return _param(self.cookies, "cookie", name, keep, MAX_COOKIES)[0]

    def flag(self, client: int) -> None:
        """Remember a client a signature caught (oldest forgotten first)."""
        flagged = self.flagged
        if client in flagged:
            return
        if len(flagged) >= MAX_FLAGGED:
            del flagged[next(iter(flagged))]
        flagged[client] = 1


def quantiles(hist: dict[int, int], qs: tuple[float, ...]) -> list[int]:
    """The keys of a histogram at quantiles ``qs`` (ascending).

    >>> quantiles({1: 10, 2: 80, 50: 10}, (0.05, 0.5, 0.99))
    [1, 2, 50]
    """
    items = sorted(hist.items())
    total = sum(c for _, c in items)
    out: list[int] = []
    for q in qs:
        target = q * total
        cum = 0
        for key, count in items:
            cum += count
            if cum >= target:
                out.append(key)
                break
        else:
            out.append(items[-1][0])
    return out


def mad(hist: dict[int, int], centre: int) -> float:
    """The median absolute deviation of a histogram from ``centre``."""
    devs: dict[int, int] = {}
    for key, count in hist.items():
        d = abs(key - centre)
        devs[d] = devs.get(d, 0) + count
    return float(quantiles(devs, (0.5,))[0]) if devs else 0.0


def length_of(key: int) -> int:
    """The length a length-histogram key stands for (an upper bound above the cap)."""
    return key if key <= _LEN_CAP else 1 << (key - _LEN_CAP)


def number_of(bucket: int) -> float:
    """The number a number-histogram bucket stands for."""
    return math.copysign(math.expm1(abs(bucket) / _NUM_SCALE), bucket)
