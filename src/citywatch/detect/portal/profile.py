"""A learned positive security model of this city's portal: flag what its own traffic never does.

Signatures know attacks; this detector knows the portal. From trusted records
(``--learn``, or the first ``learn_first_s`` seconds of a live stream) it
learns, per endpoint (method and path template), which parameters exist and
what their values look like: a type (integer, decimal, date, e-mail, UUID,
letters, token, free text...), an enumeration when a few values are all there
is, robust length and number ranges (an amount, which spans orders of
magnitude, by its order of magnitude), the character classes seen, the JSON
types of a JSON body's values, whether it was ever empty and whether it was
ever sent twice in one request; also the media types of its bodies and the
schemes of its credentials, and, portal-wide, the form of the portal's own
token cookies (a session id). A request that strays from that on an endpoint
known well enough is reported as tampering (ATT&CK T1190) with a sentence that
says what is normal and what came: parameter tampering no signature would
catch (``amount=99999999999999``, ``role=admin``, an extra ``is_admin=1``, a
required name left empty, ``district=2&district=11``, ``2026-02-31``,
``"password": true`` where a string belongs, a number where the route's ids
are UUIDs, a session cookie ``sid=1``, Basic credentials where the app sends
Bearer tokens).

Learning resists poisoning: a request a signature flags is not learned, nor
is anything more from its client; each client contributes a few values per
parameter; a fact counts as normal only when several clients, and a share
(``client_share``) of the endpoint's clients, showed it; and bounds are
clipped quantiles, of values and of each client's own range counted once, so
a small group of clients cannot stretch them (see :mod:`.profile_model`).

The learned model is global detector state, kept apart from the per-client
episode states: :meth:`PortalProfile.snapshot_model` and
:meth:`PortalProfile.restore_model` save and restore it, and
:meth:`PortalProfile.describe` summarises it for people.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import ClassVar, Final, cast

import msgspec
from pydantic import BaseModel, Field

from citywatch.detect.portal.bodies import media_type
from citywatch.detect.portal.headers import auth_scheme
from citywatch.detect.portal.hits import BLOCK_CLIENTS, Hit, HitDetector, MergeConfig
from citywatch.detect.portal.masking import masked, personal_name, personal_value, secret_name
from citywatch.detect.portal.params import JSON_TYPES, Param, ParsedRequest
from citywatch.detect.portal.profile_model import ProfileModel, client_hash
from citywatch.detect.portal.profile_rules import (
    NOT_SHOWN,
    EndpointRule,
    ParamRule,
    compile_cookies,
    compile_endpoint,
    shown,
)
from citywatch.detect.portal.profile_types import TEXTUAL, folded
from citywatch.detect.portal.request import parse_request
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.model import Event, HttpRequest

Gate = Callable[[Event], Sequence[Hit]]
"""A signature check: the hits of one request (learning skips requests with any)."""

_NONE: Final[list[Hit]] = []
_REMEMBER: Final = 32768
"""Values remembered as passed, over all parameters (then forgotten at once)."""
_REMEMBER_LEN: Final = 64
"""Longer values are checked each time."""
_TECHNIQUE: Final = "T1190"
_NAMES: Final = {
    "portal.profile.chars": "Parameter tampering: unexpected characters",
    "portal.profile.type": "Parameter tampering: wrong type",
    "portal.profile.length": "Parameter tampering: value too long",
    "portal.profile.range": "Parameter tampering: number or date out of range",
    "portal.profile.enum": "Parameter tampering: value never seen",
    "portal.profile.unknown-param": "Parameter tampering: unknown parameter",
    "portal.profile.repeated": "Parameter tampering: parameter sent twice (parameter pollution)",
    "portal.profile.unknown-endpoint": "Request to an endpoint never seen",
    "portal.profile.body": "Parameter tampering: body of another kind",
    "portal.profile.method": "Parameter tampering: method the endpoint never takes",
    "portal.profile.auth": "Credential tampering: credentials of a scheme the endpoint never takes",
    "portal.profile.cookie": "Session tampering: cookie of another form",
}
_PROBES: Final = frozenset({"HEAD", "OPTIONS"})
"""Methods that ask about an endpoint (monitors, CORS preflight), asked of any."""
_BENIGN_ANOMALIES: Final = frozenset({"bad-url-encoding"})
"""Parser anomalies that do not stop a request from being learned (``50% off``)."""


_ENDED: Final = frozenset({"", "deleted"})
"""A session cookie's value after logout (the server's ``Set-Cookie`` to end it)."""


class PortalProfileConfig(MergeConfig):
    """How the positive model learns and what it enforces."""

    learn_first_s: float = Field(
        0.0, ge=0, description="learn from the first seconds of a live stream (0: off)"
    )
    min_requests: int = Field(
        20, ge=1, description="learned requests before an endpoint or parameter is enforced"
    )
    min_clients: int = Field(
        5, ge=1, description="distinct clients before an endpoint or parameter is enforced"
    )
    value_clients: int = Field(
        5, ge=1, description="distinct clients that make a value, character or name normal"
    )
    client_share: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="share of an endpoint's distinct clients that must show a parameter, a"
        " value, a character, a type, a shape or a repeated parameter for it to be normal, and"
        " that a length, number or date bound leaves outside (each client counted once with its"
        " own range), so a small group of clients cannot teach tampering; a rarely used optional"
        " field (a note) is used by more than this",
    )
    trust_clients: int = Field(
        64,
        ge=1,
        le=1024,
        description="most distinct clients a learned fact counts: the share's count is capped at"
        " this (and is never below value_clients)",
    )
    per_client: int = Field(3, ge=1, le=255, description="values per parameter one client teaches")
    quantile: float = Field(0.99, gt=0.5, lt=1.0, description="quantile of the length bounds")
    enum_max: int = Field(12, ge=1, description="most distinct values of an enumeration")
    type_tolerance: float = Field(
        0.001, ge=0, lt=0.1, description="share of values that may break a parameter's type"
    )
    locations: tuple[str, ...] = Field(
        ("query", "body", "path"), description="parameter locations learned and enforced"
    )
    unknown_params: bool = Field(True, description="flag parameters an endpoint never takes")
    tracking_params: tuple[str, ...] = Field(
        ("utm_*", "mtm_*", "pk_*", "fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid",
         "yclid", "twclid", "ttclid", "li_fat_id", "srsltid", "igshid", "igsh", "mc_cid",
         "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "_hsmktg", "mkt_tok", "_kx"),
        description="query parameters a link adds on its way (campaigns, ad clicks, analytics):"
        " never unknown; a trailing * matches any ending",
    )  # fmt: skip
    unknown_endpoints: bool = Field(
        False, description="flag answered requests to endpoints never learned (low severity)"
    )
    max_hits: int = Field(4, ge=1, description="findings reported per request")


class PortalProfile(HitDetector):
    """Parameter tampering against the learned positive model of the portal.

    ``gate`` is the signature check learning trusts (default: the portal's
    :class:`~citywatch.detect.portal.signatures.WebAttackSignatures`).
    """

    name: ClassVar[str] = "portal-profile"
    description: ClassVar[str] = "learned positive model of the portal: parameter tampering"
    config_model: ClassVar[type[BaseModel]] = PortalProfileConfig
    measures: ClassVar[tuple[str, ...]] = (
        "Check that the portal refuses the flagged values itself (each finding says what is "
        "normal), and review what the client's session changed",
        BLOCK_CLIENTS,
    )

    def __init__(self, config: BaseModel | None = None, *, gate: Gate | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, PortalProfileConfig)
        self.cfg: PortalProfileConfig = self.config
        self.model = ProfileModel()
        self._gate: Gate = gate if gate is not None else WebAttackSignatures().inspect
        self._locations = frozenset(self.cfg.locations)
        tracking = self.cfg.tracking_params
        self._tracking = frozenset(t.lower() for t in tracking if not t.endswith("*"))
        self._tracking_starts = tuple(t[:-1].lower() for t in tracking if t.endswith("*"))
        self._keep = max(self.cfg.min_clients, self.cfg.value_clients)
        self._cap = max(self._keep, self.cfg.trust_clients)
        """Distinct clients a fact keeps (the share of an endpoint's clients is counted to it)."""
        self._rules: dict[str, dict[str, EndpointRule]] = {}
        self._cookies: dict[str, ParamRule] = {}
        """The portal's token cookies (:func:`~.profile_rules.compile_cookies`), by name."""
        self._routes: dict[str, str] = {}
        """A template with its ids unnamed (``/documents/{}/download``) → the learned one."""
        self._remembered = 0
        """Values the parameter rules remember having passed, in all."""
        self._dirty = False
        self._learn_until: float | None = None

    # learning ---------------------------------------------------------------

    def learn(self, event: Event) -> None:
        """Learn one trusted request (skipped when a signature or its client's past says no;
        which clients many people share is learned of every one the signatures pass)."""
        gated = bool(self._gate(event))
        self.learn_shared(event, gated)
        payload = event.payload
        if not isinstance(payload, HttpRequest):
            return
        model = self.model
        status = payload.status
        if status is not None and (status in (404, 405) or status >= 500):
            model.skipped += 1
            return
        parsed = parse_request(payload)
        client = client_hash(event.source_pseudonym)
        if client in model.flagged or not _BENIGN_ANOMALIES.issuperset(parsed.anomalies):
            model.skipped += 1
            return
        if gated:
            model.flag(client)
            model.skipped += 1
            return
        keep, cap = self._keep, self._cap
        endpoint = model.endpoint(parsed.method, parsed.template, keep)
        if endpoint is None:
            return
        endpoint.seen += 1
        endpoint.visit(client)
        if len(endpoint.clients) < keep and client not in endpoint.clients:
            endpoint.clients.append(client)
        endpoint.body(media_type(parsed.content_type) if payload.body else "", client, cap)
        endpoint.credential(auth_scheme(payload.headers), client, cap)
        per_client, locations = self.cfg.per_client, self._locations
        sent: set[int] = set()  # the ids of the parameter models this request fed
        for param in parsed.params:
            location = param.location
            learned = (
                endpoint.param(location, param.name, keep)
                if location in locations
                else model.cookie(param.name, keep)
                if location == "cookie"
                else None
            )
            if learned is not None:
                learned.learn(param.value, client, per_client, keep, param.json, cap)
                if id(learned) not in sent:
                    sent.add(id(learned))
                else:
                    learned.repeated(client, cap)
        model.learned += 1
        self._dirty = True

    def snapshot_own(self) -> bytes:
        """The learned model as MessagePack (what :meth:`snapshot_model` saves beside the
        shared clients, and all that releases before them saved)."""
        return msgspec.msgpack.encode(self.model)

    def restore_own(self, blob: bytes) -> None:
        """Replace the learned model with one from :meth:`snapshot_own` (one saved before
        values were hidden is sealed: see :meth:`ParamModel.seal`)."""
        model = msgspec.msgpack.decode(blob, type=ProfileModel)
        for endpoint in model.endpoints.values():
            for param in endpoint.params.values():
                param.seal(self._keep)
        for cookie in model.cookies.values():
            cookie.seal(self._keep)
        self.model = model
        self._dirty = True

    def _compile(self) -> None:
        rules: dict[str, dict[str, EndpointRule]] = {}
        for endpoint in self.model.endpoints.values():
            rules.setdefault(endpoint.template, {})[endpoint.method] = compile_endpoint(
                endpoint, self.cfg
            )
        self._rules = rules
        self._cookies = compile_cookies(self.model.cookies, self.cfg)
        self._routes = {_unnamed(template): template for template in rules}
        self._remembered = 0
        self._dirty = False

    # scoring ----------------------------------------------------------------

    def inspect(self, event: Event) -> list[Hit]:
        payload = event.payload
        if not isinstance(payload, HttpRequest):
            return _NONE
        if self.cfg.learn_first_s and self._learning(event):
            return _NONE
        if self._dirty:
            self._compile()
        if not self._rules:
            return _NONE
        parsed = parse_request(payload)
        methods = self._rules.get(parsed.template)
        endpoint = None if methods is None else methods.get(parsed.method)
        if endpoint is None:
            return self._unlearned(payload, parsed, methods)
        if not endpoint.enforced:
            return _NONE
        # an access log's request (no headers, no body) cannot show the body it carried
        full = payload.headers or payload.body
        hits = (
            _NONE
            if endpoint.media is None or not full
            else self._body(endpoint, parsed, payload.body)
        )
        if endpoint.auth is not None:
            hits = self._credentials(endpoint, payload, hits)
        known, locations, cookies = endpoint.params, self._locations, self._cookies
        once: dict[ParamRule, str] | None = None
        for param in parsed.params:
            if (location := param.location) not in locations:
                if location != "cookie" or not cookies or (hit := self._cookie(param)) is None:
                    continue
            elif (rule := known.get(location, _NO_PARAMS).get(param.name)) is None:
                if self.cfg.unknown_params and not endpoint.open and not self._tracked(param):
                    hit = self._unknown_param(endpoint, param.location, param.name, param.value)
                else:
                    continue
            elif rule.single and once is not None and rule in once:
                if once[rule] == param.value:
                    continue
                hit = self._repeated(endpoint, rule, once[rule], param.value)
            else:
                if rule.single:
                    if once is None:
                        once = {}
                    once[rule] = param.value
                # a JSON null is an empty value (an app's place without location permission):
                # a finding only where a value was never missing
                if (
                    param.json
                    and rule.jsons
                    and param.json not in rule.jsons
                    and (param.json != "z" or rule.required)
                ):
                    hit = self._json_type(endpoint, rule, param)
                elif not rule.enforced:
                    continue
                elif param.value in rule.passed or self._passes(rule, param.value):
                    if param.raw is param.value or rule.kind in TEXTUAL or not folded(param.raw):
                        continue
                    hit = self._folded(endpoint, rule, param)
                else:
                    hit = self._violation(endpoint, rule, param.value)
            if hits is _NONE:
                hits = []
            hits.append(hit)
            if len(hits) >= self.cfg.max_hits:
                break
        return hits

    def _tracked(self, param: Param) -> bool:
        """Whether a parameter is one a link adds on its way (``utm_source``, ``fbclid``)."""
        if param.location != "query":
            return False
        name = param.name.lower()
        return name in self._tracking or name.startswith(self._tracking_starts)

    def _learning(self, event: Event) -> bool:
        """Learn ``event`` if it falls in the learning window at the start of the stream."""
        until = self._learn_until
        if until is None:
            until = self._learn_until = event.timestamp + self.cfg.learn_first_s
        if event.timestamp >= until:
            return False
        self.learn(event)
        return True

    def _unlearned(
        self, payload: HttpRequest, parsed: ParsedRequest, methods: dict[str, EndpointRule] | None
    ) -> list[Hit]:
        """The finding of a request to no learned endpoint: a learned one with ids of another
        kind, a learned path asked with another method, or (when asked) an unknown one."""
        sibling = self._sibling(parsed.method, parsed.template)
        if sibling is not None:
            return [self._wrong_ids(sibling, parsed.norm_path)]
        if methods and parsed.method not in _PROBES:
            learned = [e for e in methods.values() if e.enforced]
            if learned:
                return [self._other_method(learned, parsed.method)]
        return self._unknown_endpoint(payload, parsed.method, parsed.template)

    def _passes(self, rule: ParamRule, value: str) -> bool:
        """``rule.check(value)``, remembered when true for a short value: ids, pages and
        choices recur, and a set lookup is cheaper than the check (which is pure)."""
        if not rule.check(value):
            return False
        if len(value) <= _REMEMBER_LEN and not rule.secret:
            if self._remembered >= _REMEMBER:
                for methods in self._rules.values():
                    for endpoint in methods.values():
                        for by_name in endpoint.params.values():
                            for known in by_name.values():
                                known.passed.clear()
                for known in self._cookies.values():
                    known.passed.clear()
                self._remembered = 0
            rule.passed.add(value)
            self._remembered += 1
        return True

    def _violation(self, endpoint: EndpointRule, rule: ParamRule, value: str) -> Hit:
        found = rule.explain(value)
        return _param_tampering(
            found.rule,
            endpoint,
            rule,
            _snippet(rule, value),
            (found.severity, found.confidence),
            f"is normally {rule.normally()}; got {found.got}",
        )

    def _body(self, endpoint: EndpointRule, parsed: ParsedRequest, body: str) -> list[Hit]:
        """A finding when the request's body is of a media type (or absent, or present) that
        the endpoint's learned bodies never were."""
        media = endpoint.media or frozenset()
        got = media_type(parsed.content_type) if body else ""
        if got in media:
            return _NONE
        usual = " or ".join(f"`{m}`" if m else "none" for m in sorted(media)) or "none"
        hit = _tampering(
            "portal.profile.body",
            "body",
            got or "(no body)",
            (40, 0.55),
            f"{endpoint.method} {endpoint.template} normally takes a body of {usual}; "
            f"got {f'`{shown(got)}`' if got else 'none'}",
        )
        return [hit]

    def _credentials(
        self, endpoint: EndpointRule, payload: HttpRequest, hits: list[Hit]
    ) -> list[Hit]:
        """``hits`` and a finding when the request's credentials are of a scheme the
        endpoint's learned requests never used (Basic where the app sends Bearer tokens);
        none sent is for the portal to refuse."""
        schemes = endpoint.auth or frozenset()
        got = auth_scheme(payload.headers)
        if not got or got in schemes:
            return hits
        usual = " or ".join(_scheme(s) for s in sorted(schemes) if s)
        hit = _tampering(
            "portal.profile.auth",
            "header:Authorization",
            got,
            (45, 0.6),
            f"{endpoint.method} {endpoint.template} normally takes {usual} credentials; "
            f"got {_scheme(got)}",
        )
        return [*hits, hit]

    def _cookie(self, param: Param) -> Hit | None:
        """A finding when a token cookie of the portal's is not of its learned form."""
        rule = self._cookies.get(param.name)
        value = param.value
        if rule is None or value in _ENDED or value in rule.passed or self._passes(rule, value):
            return None
        found = rule.explain(value)
        return _tampering(
            "portal.profile.cookie",
            f"cookie:{rule.name}",
            _snippet(rule, value),
            (found.severity, found.confidence),
            f"cookie `{rule.name}` (the portal's own) is normally {rule.normally()}; "
            f"got {found.got}",
        )

    def _other_method(self, learned: list[EndpointRule], method: str) -> Hit:
        template = learned[0].template
        usual = ", ".join(sorted(e.method for e in learned))
        return _tampering(
            "portal.profile.method",
            "request",
            f"{method} {template}"[:80],
            (35, 0.5),
            f"{template} is normally requested with {usual}; got {shown(method)}",
        )

    def _folded(self, endpoint: EndpointRule, rule: ParamRule, param: Param) -> Hit:
        return _param_tampering(
            "portal.profile.chars",
            endpoint,
            rule,
            _snippet(rule, param.raw),
            (45, 0.6),
            f"is normally {rule.normally()} in plain characters; got {_quoted(rule, param.raw)}, "
            f"compatibility characters (full-width, superscript) that read as "
            f"{_quoted(rule, param.value)}",
        )

    def _repeated(self, endpoint: EndpointRule, rule: ParamRule, first: str, value: str) -> Hit:
        return _param_tampering(
            "portal.profile.repeated",
            endpoint,
            rule,
            f"{rule.name}={NOT_SHOWN}"
            if rule.secret
            else f"{rule.name}={shown(rule.said(first))}, {rule.name}={shown(rule.said(value))}"[
                :80
            ],
            (45, 0.6),
            f"is sent once per request; got it twice, {_quoted(rule, first)} then "
            f"{_quoted(rule, value)}",
        )

    def _json_type(self, endpoint: EndpointRule, rule: ParamRule, param: Param) -> Hit:
        usual = " or ".join(JSON_TYPES[t] for t in sorted(rule.jsons))
        got = JSON_TYPES[param.json] + (
            f" {_quoted(rule, param.value)}" if param.json != "z" else ""
        )
        return _param_tampering(
            "portal.profile.type",
            endpoint,
            rule,
            _snippet(rule, param.value),
            (50, 0.7),
            f"is normally {usual} in JSON; got {got}",
        )

    def _sibling(self, method: str, template: str) -> EndpointRule | None:
        """The learned endpoint this unknown ``template`` is, but for the kind of its ids
        (``/documents/{id}/download`` where ``{uuid}`` was learned), or but for one segment
        that no id pattern collapsed yet looks like an id tampered with (digits in it, or
        longer than any word: ``/permits/12ab``, ``/permits/AAAA…`` where ``/permits/{id}``
        was learned; ``/permits/new`` is a page of its own), if any."""
        shape = _unnamed(template)
        learned = self._routes.get(shape) if "{" in template else None
        if learned is None:
            segments = shape.split("/")
            for i in range(len(segments) - 1, 0, -1):
                segment = segments[i]
                if segment == "{}" or not (len(segment) > _WORDY or _DIGIT.search(segment)):
                    continue
                learned = self._routes.get("/".join((*segments[:i], "{}", *segments[i + 1 :])))
                if learned is not None:
                    break
        methods = None if learned is None else self._rules.get(learned)
        endpoint = None if methods is None else methods.get(method)
        return endpoint if endpoint is not None and endpoint.enforced else None

    def _wrong_ids(self, endpoint: EndpointRule, path: str) -> Hit:
        return _tampering(
            "portal.profile.type",
            "path",
            path[:80],
            (50, 0.65),
            f"{endpoint.method} {endpoint.template} takes ids of that kind in its path; "
            f"got `{shown(path)}`",
        )

    def _unknown_param(self, endpoint: EndpointRule, location: str, name: str, value: str) -> Hit:
        short, secret = name[:40], secret_name(name)
        if not secret and (personal_name(name) or personal_value(value)):
            value = masked(value)  # the name tells the finding; a person's value is theirs
        got = NOT_SHOWN if secret else f"`{short}={value[:40]}`"
        return _tampering(
            "portal.profile.unknown-param",
            f"param:{short}",
            f"{short}={NOT_SHOWN if secret else value[:60]}",
            (35, 0.55),
            f"{endpoint.method} {endpoint.template} never takes a {location} parameter "
            f"`{short}` (it takes: {endpoint.known(location)}); got {got}",
        )

    def _unknown_endpoint(self, payload: HttpRequest, method: str, template: str) -> list[Hit]:
        status = payload.status
        if not self.cfg.unknown_endpoints or (status is not None and status >= 400):
            return _NONE
        if self.model.learned < self.cfg.min_requests * 10:
            return _NONE
        return [
            _tampering(
                "portal.profile.unknown-endpoint",
                "path",
                f"{method} {template}"[:80],
                (20, 0.4),
                f"{method} {template} was never seen while learning the portal",
            )
        ]

    # for people ---------------------------------------------------------------

    def describe(self) -> dict[str, object]:
        """A JSON-able summary of the learned model (endpoints, parameters, what is normal)."""
        if self._dirty:
            self._compile()
        endpoints = []
        for methods in self._rules.values():
            for rule in methods.values():
                params = [p.describe() for by in rule.params.values() for p in by.values()]
                endpoints.append(
                    {
                        "method": rule.method,
                        "template": rule.template,
                        "requests": rule.requests,
                        "enforced": rule.enforced,
                        "open": rule.open,
                        "bodies": None if rule.media is None else sorted(rule.media),
                        "credentials": None if rule.auth is None else sorted(rule.auth),
                        "params": sorted(
                            params, key=lambda p: (str(p["location"]), str(p["name"]))
                        ),
                    }
                )
        endpoints.sort(key=lambda e: (-cast(int, e["requests"]), str(e["template"])))
        return {
            "learned": self.model.learned,
            "skipped": self.model.skipped,
            "flagged_clients": len(self.model.flagged),
            "cookies": [rule.describe() for _, rule in sorted(self._cookies.items())],
            "endpoints": endpoints,
        }


_NO_PARAMS: Final[dict[str, ParamRule]] = {}


def _tampering(
    rule_id: str, location: str, snippet: str, weight: tuple[int, float], explanation: str
) -> Hit:
    """A finding of the profile: tampering (T1190), ``weight`` its severity and confidence."""
    return Hit(
        attack_class="tampering",
        rule_id=rule_id,
        rule_name=_NAMES[rule_id],
        technique=_TECHNIQUE,
        location=location,
        snippet=snippet,
        severity=weight[0],
        confidence=weight[1],
        explanation=explanation,
    )


def _param_tampering(
    rule_id: str,
    endpoint: EndpointRule,
    rule: ParamRule,
    snippet: str,
    weight: tuple[int, float],
    says: str,
) -> Hit:
    """A finding about one parameter, explained as "parameter `x` on METHOD /path ``says``"."""
    return _tampering(
        rule_id,
        f"param:{rule.name}",
        snippet,
        weight,
        f"parameter `{rule.name}` on {endpoint.method} {endpoint.template} {says}",
    )


def _snippet(rule: ParamRule, value: str) -> str:
    """What a finding shows of ``value``: its start (masked, a person's), or that it is a
    secret's."""
    return NOT_SHOWN if rule.secret else rule.said(value[:80])


def _quoted(rule: ParamRule, value: str) -> str:
    """``value`` as an explanation quotes it (masked, a person's), or that it is a secret's."""
    return NOT_SHOWN if rule.secret else f"`{shown(rule.said(value))}`"


def _scheme(scheme: str) -> str:
    """A credential scheme (:func:`~.headers.auth_scheme`) in words: ``Bearer``, ``a bare
    token``."""
    return "a bare token" if scheme == "-" else shown(scheme.capitalize())


_PLACEHOLDER: Final = re.compile(r"\{(?:id|uuid|token)\}")


_WORDY: Final = 32
"""A path segment longer than this is no page's name (see :meth:`PortalProfile._sibling`)."""
_DIGIT: Final = re.compile("[0-9]")


def _unnamed(template: str) -> str:
    """``template`` with its id placeholders made one (``{id}``, ``{uuid}``, ``{token}``: ``{}``).

    >>> _unnamed("/documents/{uuid}/download")
    '/documents/{}/download'
    """
    return _PLACEHOLDER.sub("{}", template) if "{" in template else template
