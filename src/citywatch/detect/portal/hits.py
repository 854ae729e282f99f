"""Per-request findings ("hits") merged per client and attack class.

Signature and learned-model detectors inspect one request at a time and
return :class:`Hit` s. :class:`HitDetector` keys them by client and folds
them into one episode per attack class, so a flood of a million attack
requests from a few clients is a handful of detections whose evidence
lists every request, not a million alerts. From ``--learn`` traffic it also
learns which clients many people share (:mod:`.shared_clients`: a campus's, a
carrier's NAT), and declares such a client's address spared in its
detections: reported, never blocked.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable
from operator import attrgetter
from typing import ClassVar, Final

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.portal.crawlers import crawler_spared
from citywatch.detect.portal.hosts import host_name
from citywatch.detect.portal.links import LINKED_REQUESTS
from citywatch.detect.portal.logins_config import LoginAbuseConfig
from citywatch.detect.portal.shared_clients import SharedClients, SharedModel
from citywatch.model import SPARED, Detection, Event, HttpRequest

TARGET = "portal"
"""The ``target`` entity of portal detections: the correlator fuses attacks on it."""
DATASETS: frozenset[str] = frozenset({"portal.access", "portal.http"})
UNNAMED: Final = "unnamed-clients"
"""The state key of requests whose records name no client (no address to pseudonymise)."""
"""The datasets of the portal's requests (access-log lines, full requests): what every portal
detector reads, and all that it reads."""
BLOCK_CLIENTS = "Rate-limit or block the flagged client addresses at the portal's reverse proxy"
"""The measure against the clients of a portal detection, in one wording for every detector,
so that an incident lists it once."""

_MAX_SAMPLES = 8
"""Distinct findings a detection keeps as samples, each with its explanation if it has one."""


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One finding in one request.

    ``attack_class`` is the class (``sqli``, ``xss``, ``traversal``...),
    ``location`` where it matched (``param:amount``, ``header:User-Agent``,
    ``path``, ``body``), ``snippet`` the decoded text that matched (short),
    ``explanation`` a sentence for the analyst.
    """

    attack_class: str
    rule_id: str
    rule_name: str
    technique: str
    location: str
    snippet: str
    severity: int
    confidence: float
    explanation: str = ""


class HitModel(msgspec.Struct, tag="hits", kw_only=True):
    """What a per-request detector saves of what it learned: the clients many people share,
    and its own model (``own``) as it saves it alone. Tagged, so that an older release's own
    model alone (untagged) is told from it and still loads."""

    shared: SharedModel
    own: bytes | None = None


class ClassEpisode(msgspec.Struct, kw_only=True):
    """An open detection for one client and one attack class."""

    episode: Episode
    first: Hit
    worst: Hit
    hits: int = 0
    rules: dict[str, int] = msgspec.field(default_factory=dict)
    names: dict[str, str] = msgspec.field(default_factory=dict)
    """The name of each rule in ``rules``."""
    samples: list[Hit] = msgspec.field(default_factory=list)


class ClientHits(msgspec.Struct, kw_only=True):
    """A client's open episodes by attack class, and its address while any is open."""

    open: dict[str, ClassEpisode] = msgspec.field(default_factory=dict)
    address: str | None = None
    via: str | None = None
    """The host of the page that sent every flagged request of the client (their Referer),
    all GETs; "" once one was not, None before the first (see :func:`linked_from`)."""


class MergeConfig(BaseModel):
    """What every per-request detector's config holds: how hits are merged into detections,
    and what makes a client address one many people share (:mod:`.shared_clients`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gap_s: float = Field(900.0, gt=0, description="idle time that closes a detection, seconds")
    shared_people: int = Field(
        20,
        ge=2,
        description="distinct sessions or logged-in accounts (each counted apart) that one "
        "client address showed within shared_window_s of the --learn traffic, with no request "
        "a detector flags, to be one many people share (a campus's or a carrier's NAT): its "
        "detections declare it spared, and no block nor partner intel takes it. A household "
        "that visits all day shows one an hour, a campus dozens",
    )
    shared_window_s: float = Field(
        3600.0,
        gt=0,
        description="window of the learning traffic in which shared_people are counted, "
        "seconds (a person's sessions are one a visit: counted over days, a household's add up)",
    )
    session_cookies: tuple[str, ...] = Field(
        LoginAbuseConfig.model_fields["session_cookies"].default,
        description="cookies that carry a session id (counted only as a hash, while learning)",
    )


class HitDetector(Detector[ClientHits]):
    """Base of per-request detectors: implement :meth:`inspect`, get merging for free."""

    state_type: ClassVar[type[msgspec.Struct]] = ClientHits
    datasets: ClassVar[frozenset[str]] = DATASETS
    category: ClassVar[str] = "cyber"
    measures: ClassVar[tuple[str, ...]] = (BLOCK_CLIENTS,)
    """What the city can do about a detection of this detector (the incident lists them)."""
    _hits: list[Hit] = []  # noqa: RUF012 - per instance once set; hits between keys() and update()

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        if not isinstance(cfg, MergeConfig):  # a plug-in's own: said, not a bare assert
            raise TypeError(f"{type(self).__name__}'s config must subclass MergeConfig")
        self.gap_s = cfg.gap_s
        """Idle seconds that close an episode (from the config's ``gap_s``)."""
        self.shared = SharedClients(
            people=cfg.shared_people,
            window_s=cfg.shared_window_s,
            session_cookies=cfg.session_cookies,
        )
        """The client keys many people share, learned (:mod:`.shared_clients`)."""

    @abstractmethod
    def inspect(self, event: Event) -> list[Hit]:
        """The findings in one request (empty for a clean one)."""

    def learn(self, event: Event) -> None:
        """Learn which clients many people share (a subclass that learns more calls this, or
        :meth:`learn_shared` with its own verdict on the request)."""
        self.learn_shared(event, bool(self.inspect(event)))

    def learn_shared(self, event: Event, flagged: bool) -> None:
        """Count a trusted request's client towards one many people share, unless ``flagged``:
        an attack in the learning traffic keeps its client from ever being learned shared
        (:meth:`~.shared_clients.SharedClients.learn`)."""
        self.shared.learn(event, flagged)

    def snapshot_model(self) -> bytes | None:
        """What the detector learned: the shared clients beside its own model
        (:meth:`snapshot_own`); None when it learned nothing."""
        own = self.snapshot_own()
        if own is None and not self.shared.model.shared:
            return None
        return msgspec.msgpack.encode(HitModel(shared=self.shared.model, own=own))

    def restore_model(self, blob: bytes) -> None:
        """Take back what :meth:`snapshot_model` saved, or the detector's own model as it was
        saved before shared clients were learned (then none is known shared)."""
        try:
            saved = msgspec.msgpack.decode(blob, type=HitModel)
        except msgspec.ValidationError:  # untagged: the own model alone, of an older release
            self.restore_own(blob)
            return
        self.shared.model = saved.shared
        if saved.own is not None:
            self.restore_own(saved.own)

    def snapshot_own(self) -> bytes | None:
        """What the detector itself learned, for :meth:`snapshot_model`; by default nothing."""
        return None

    def restore_own(self, blob: bytes) -> None:
        """Take back what :meth:`snapshot_own` saved."""
        del blob

    def keys(self, event: Event) -> tuple[str, ...]:
        # Inspect here, so a clean request touches no state: most requests are clean,
        # and a state per clean client would be created, swept and dropped for nothing.
        # The runner calls update() for this same event right after, with the hits.
        hits = self.inspect(event)
        if not hits:
            return ()
        self._hits = hits
        return (event.source_pseudonym or UNNAMED,)

    def new_state(self, key: str) -> ClientHits:
        return ClientHits()

    def update(self, key: str, state: ClientHits, event: Event, out: list[Detection]) -> None:
        """Fold the hits :meth:`keys` found in this request into the client's episodes."""
        ts = event.timestamp
        if state.open:  # close what went idle before this request
            self._close_idle(key, state, ts, out)
        hits, self._hits = self._hits, []
        if event.source_ip is not None:
            state.address = event.source_ip
        if state.via != "":
            via = linked_from(event)
            state.via = via if state.via is None or state.via == via else ""
        for cls, mine in _by_class(hits):
            worst = mine[0] if len(mine) == 1 else max(mine, key=_rank)
            found = state.open.get(cls)
            if found is None:
                episode = Episode(
                    id=detection_id(self.name, cls, key, ts),
                    fired=ts,
                    first=ts,
                    last=ts,
                    evidence=[],
                )
                open_ = state.open[cls] = ClassEpisode(episode=episode, first=worst, worst=worst)
            else:
                open_ = found
            if open_.hits and _rank(worst) > _rank(open_.worst):
                open_.worst = worst
            open_.hits += 1
            for hit in mine:
                rules = open_.rules
                if hit.rule_id in rules:
                    rules[hit.rule_id] += 1
                else:
                    rules[hit.rule_id] = 1
                    open_.names[hit.rule_id] = hit.rule_name
                if len(open_.samples) < _MAX_SAMPLES and hit.snippet not in {
                    s.snippet for s in open_.samples
                }:
                    open_.samples.append(hit)
            if open_.episode.add(event.id, ts):
                out.append(self._emit(key, state, open_))

    def expire(self, key: str, state: ClientHits, watermark: float, out: list[Detection]) -> bool:
        self._close_idle(key, state, watermark, out)
        if not state.open:
            state.address = state.via = None
        return not state.open

    def _close_idle(self, key: str, state: ClientHits, now: float, out: list[Detection]) -> None:
        """Emit and forget the episodes idle for more than the gap at event time ``now``."""
        gap = self.gap_s
        for cls, open_ in list(state.open.items()):
            if now - open_.episode.last > gap:
                if open_.episode.unsent:
                    out.append(self._emit(key, state, open_))
                del state.open[cls]

    def _emit(self, key: str, state: ClientHits, open_: ClassEpisode) -> Detection:
        worst = open_.worst
        n = open_.hits
        where = state.address or (
            "clients the records do not name" if key == UNNAMED else "one client"
        )
        summary = f"{worst.rule_name} from {where}"
        summary += f": {n} requests" if n > 1 else f" in {worst.location}"
        if worst.explanation and not worst.explanation.startswith(worst.rule_name):
            summary += f" ({worst.explanation})"  # not a sentence that repeats the title
        if len(open_.rules) > 1:  # named by its worst, said by what it mostly did
            summary += f"; by kind: {_kinds(open_.rules, open_.names)}"
        # requests with no address are no one client's: naming them one would link every
        # such detection into one incident
        entity = (
            {"target": TARGET} if key == UNNAMED else {"target": TARGET, "source.pseudonym": key}
        )
        if state.address:
            entity["source.ip"] = state.address
        confidence = min(0.99, worst.confidence + 0.02 * min(n - 1, 10))
        # the more requests and the more kinds of finding (one odd value may be a bug; five
        # kinds of tampering in ten minutes are someone probing), the more it matters
        breadth = 5 * min(3, len(open_.rules) - 1)
        linked: dict[str, object] = {}
        measures = list(self.measures)
        if state.via and n <= LINKED_REQUESTS:  # a link followed, by a person or a crawler
            linked["referrer"] = state.via
            measures.append(TAKE_DOWN.format(host=state.via))
        # a crawler's reason before a crowd's: its operator's ranges say more than a count
        if state.address and (
            (why := crawler_spared(state.address)) is not None
            or (why := self.shared.why(key)) is not None
        ):
            linked[SPARED] = {state.address: why}  # the incident's first measure names it
        return self.detection(
            open_.episode,
            rule_id=worst.rule_id,
            rule_name=worst.rule_name,
            severity=min(ATTEMPT_CEILING, worst.severity + min(10, n // 10) + breadth),
            confidence=confidence,
            category=self.category,
            summary=summary,
            entity=entity,
            tags=[f"attack.{worst.technique}"],
            attributes={
                "portal": {
                    "class": worst.attack_class,
                    "attack_technique": worst.technique,
                    "location": worst.location,
                    "snippet": worst.snippet,
                    "explanation": worst.explanation,
                    "requests": n,
                    "rules": dict(open_.rules),
                    "measures": measures,
                    "samples": [_sample(s) for s in open_.samples],
                    **linked,
                }
            },
        )


TAKE_DOWN: Final = (
    "Find the page on {host} that links to the attack (its address is the detection's "
    "snippet) and have it taken down: browsers and crawlers that follow it send the attack"
)
_REFERRER_READ: Final = 512
"""Characters of a Referer read for its host (a host name is at most 253)."""
_AUTHORITY_END: Final = re.compile(r"[/?#\\]")
_HOST: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?|\[[0-9a-f:.]{2,45}\]")
"""A host name or an IP literal, what a detection may name and a measure say; else none."""


def linked_from(event: Event) -> str:
    """The host of the page whose link sent ``event``'s request (its Referer), for a GET with
    one; else "".

    >>> from citywatch.model import HttpRequest
    >>> get = HttpRequest(method="GET", uri="/x", referrer="https://Forum.example.net/t/9")
    >>> e = Event(id="1", timestamp=0.0, dataset="portal.http", payload=get)
    >>> linked_from(e)
    'forum.example.net'
    """
    request = event.payload
    if not isinstance(request, HttpRequest) or request.method != "GET":
        return ""
    referrer = request.referrer or request.header("referer") or ""
    scheme, _, rest = referrer.partition("://")
    if not scheme or not rest:
        return ""
    # the authority ends where a browser ends it (a path, a query, a fragment; a backslash in
    # http's URLs), so "host?t=9&mail=..." names the host, not what the query holds
    authority = _AUTHORITY_END.split(rest[:_REFERRER_READ], maxsplit=1)[0]
    host = host_name(authority.rpartition("@")[2]).removesuffix(".")
    return host if _HOST.fullmatch(host) else ""


ATTEMPT_CEILING: Final = 90
"""The most severe a portal finding is alone: requests show an attempt, never its outcome (a
quake that damages the city or a crowd crush ranks above one attacker's SQL injection)."""

_rank = attrgetter("severity", "confidence")
"""How bad a hit is: (severity, confidence), the worse the greater."""


def _by_class(hits: list[Hit]) -> Iterable[tuple[str, list[Hit]]]:
    """The hits by attack class, classes in first-seen order (deterministic)."""
    if len(hits) == 1:  # the common case
        return ((hits[0].attack_class, hits),)
    by_class: dict[str, list[Hit]] = {}
    for hit in hits:
        by_class.setdefault(hit.attack_class, []).append(hit)
    return by_class.items()


_KINDS_SHOWN: Final = 4


def _kinds(rules: dict[str, int], names: dict[str, str]) -> str:
    """The rules of an episode by how often each matched, most first, in a clause; the
    class their names share is said once (the detection is named by it).

    >>> names = {"a": "SQL injection: UNION", "b": "SQL injection: stacked query",
    ...          "c": "SQL injection: boolean"}
    >>> _kinds({"b": 1, "a": 45, "c": 31}, names)
    'UNION 45, boolean 31, stacked query 1'
    >>> _kinds({"x": 2, "y": 9}, {"x": "Webshell upload", "y": "Sigma: PHP code in URL"})
    'Sigma: PHP code in URL 9, Webshell upload 2'
    """
    ranked = sorted(rules.items(), key=lambda kv: -kv[1])
    said = [names.get(rule, rule) for rule, _ in ranked]
    classes = {name.partition(": ")[0] for name in said}
    if len(classes) == 1 and all(": " in name for name in said):
        said = [name.partition(": ")[2] for name in said]
    shown = [f"{name} {count}" for name, (_, count) in zip(said, ranked, strict=True)]
    if len(shown) > _KINDS_SHOWN:
        shown[_KINDS_SHOWN - 1 :] = [f"{len(shown) - _KINDS_SHOWN + 1} more"]
    return ", ".join(shown)


def _sample(hit: Hit) -> dict[str, str]:
    """A finding as a detection lists it: where, what matched, the rule, and why (if said)."""
    out = {"location": hit.location, "snippet": hit.snippet, "rule": hit.rule_id}
    if hit.explanation:
        out["explanation"] = hit.explanation
    return out
