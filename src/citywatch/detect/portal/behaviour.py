"""Abuse of the portal that no single request shows: scanning, floods, enumeration, spraying.

Keyed over event-time windows: per client (``src:<pseudonym>``), per session
cookie (``sid:<hash>``) and per account (``acct:<pseudonym>``) where a
request names them, and one key for the whole portal. Rules:

- scanning (T1595.003): a burst of 403/404s on many distinct paths, most of
  what the client asked in the window; a search engine's crawler re-fetching
  pages that are gone is no scan, so its misses count only where the path is
  a probe (a secret file, an admin console...), which a scanner faking the
  crawler's user agent still sends;
- request flood (T1499.002): one client's rate per minute far above its own
  recent peak and above a floor, from one or two programs; and portal-wide
  (T1498), the rate far above the learned rate of that hour of the day or
  the rolling peak, so a normal daily peak never fires (the rolling peak
  rises a bounded factor an hour and, where a rate was learned, counts for
  a bounded multiple of it: hours of traffic under the flood factor do not
  raise the bar, :func:`usual_rate`); many clients each
  sending a few requests on the usual paths, answered, are said to be a
  crowd (an alert push, a deadline) at a low severity, unless they claim to
  be browsers and lack a browser's habits (cookies kept, Referers, languages,
  page assets): a botnet imitating browsing; addresses that each send many,
  in sessions of a human size, are shared (people behind a carrier's NAT, or
  a tool making up sessions: look before blocking) (:mod:`.behaviour_crowd`);
- enumeration of citizen records (IDOR, T1190): many distinct ids under
  ``/tax/returns/``, ``/documents/``... mostly one step after the other,
  mostly denied, or far more per session than a person reads (an accountant
  opening 40 clients' returns is no enumeration);
- password spraying (T1110.003): few attempts on each of many accounts
  that never succeed, with few passwords, low and slow over hours; with a
  different password per account it is slow credential stuffing
  (T1110.004). Kept apart from :mod:`.logins` (which sees fast attacks in
  its ten minutes): a client whose failures were ever fast enough for that
  detector within the window is left to it;
- mass business actions: many address changes, tax filings or complaints
  in an hour from one session or account, or from one client when they are
  several per session, all from one program (one user agent acting for many
  accounts), more from one client than the people behind a NAT do (whatever its
  sessions and agents), or simply too many.

Session and account keys report only what rotates addresses (used from two
clients or more): otherwise the client key has it already. One growing
detection per key and rule (merge per episode); evidence is capped for floods.
"""

from __future__ import annotations

import math
import zlib
from datetime import UTC, datetime
from typing import ClassVar, Final
from urllib.parse import unquote

import msgspec
from pydantic import BaseModel

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.portal import behaviour_crowd as crowd
from citywatch.detect.portal import behaviour_habits as browsers
from citywatch.detect.portal import behaviour_heavy as heavy
from citywatch.detect.portal.behaviour_baseline import HourlyBaseline
from citywatch.detect.portal.behaviour_config import BehaviourConfig
from citywatch.detect.portal.behaviour_emit import (
    BOTNET_MEASURES,
    CROWD_CONFIDENCE,
    CROWD_MEASURES,
    CROWD_SEVERITY,
    LIMIT_HEAVIEST,
    RULES,
    SHARED_CONFIDENCE,
    SHARED_MEASURES,
    SHARED_SEVERITY,
    describe,
    limit_heaviest,
)
from citywatch.detect.portal.behaviour_request import Facts, RequestFacts
from citywatch.detect.portal.behaviour_state import (
    Actions,
    BehaviourState,
    Logins,
    Objects,
    Rate,
    RuleEpisode,
    Scan,
)
from citywatch.detect.portal.behaviour_windows import (
    FAILED,
    SUCCEEDED,
    UNKNOWN,
    add_action,
    add_login,
    add_long_miss,
    add_miss,
    add_object,
)
from citywatch.detect.portal.crawlers import CrawlerRanges, search_crawler
from citywatch.detect.portal.hits import DATASETS
from citywatch.detect.portal.probes import probe_path
from citywatch.model import Detection, Event, HttpRequest

PORTAL: Final = "portal"
SCAN, FLOOD, PORTAL_FLOOD = "scan", "flood", "portal-flood"
IDOR, SPRAY, SLOW_STUFFING, MASS = "enumeration", "spraying", "slow-stuffing", "mass-action"
_DENIED: Final = frozenset({401, 403, 404})
_EVIDENCE_CAP: Final = 2000
_OUTCOMES: Final = {"success": SUCCEEDED, "failure": FAILED}
_RATE_IDLE_S: Final = 180.0
"""A client's rate (and its baseline) may be forgotten after this long without a request.

The portal's own rate is kept for two half-lives of its baseline (two days by default).
"""


class PortalBehaviour(Detector[BehaviourState]):
    """Scanning, floods, record enumeration, password spraying and mass actions on the portal."""

    name: ClassVar[str] = "portal-behaviour"
    description: ClassVar[str] = (
        "portal scanning, request floods, record enumeration, password spraying, mass actions"
    )
    config_model: ClassVar[type[BaseModel]] = BehaviourConfig
    state_type: ClassVar[type[msgspec.Struct]] = BehaviourState
    datasets: ClassVar[frozenset[str]] = DATASETS

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, BehaviourConfig)
        self.cfg: BehaviourConfig = self.config
        self.baseline = HourlyBaseline()
        self._facts = RequestFacts(self.cfg)
        self.crawlers = CrawlerRanges.load(self.cfg.crawler_ranges)
        """The search crawlers' published ranges: the newer of the package's and the refreshed."""
        self._info = Facts()
        """The facts of the request :meth:`keys` saw last (the runner updates its keys next)."""
        self._flooder = False
        """Whether the client of that request is flooding by its own rule (its key comes
        before the portal's, so the portal's rate learns nothing from a client's flood)."""
        self._flood_began = False
        """Whether that client's flood began with that request (the portal's minutes just
        before held its ramp)."""

    def keys(self, event: Event) -> tuple[str, ...]:
        request = event.payload
        if not isinstance(request, HttpRequest):
            return ()
        info = self._info = self._facts.of(event, request)
        self._flooder = self._flood_began = False
        src = event.source_pseudonym
        if info.object is None and info.action is None:
            return (PORTAL,) if src is None else ("src:" + src, PORTAL)
        keys = [PORTAL] if src is None else ["src:" + src, PORTAL]
        if info.session:
            keys.append("sid:" + info.session)
        if event.user_id is not None:
            keys.append("acct:" + event.user_id)
        return tuple(keys)

    def new_state(self, key: str) -> BehaviourState:
        return BehaviourState()

    def notices(self) -> list[str]:
        """The search crawlers' ranges, when they are older than ``crawler_ranges_days`` (or
        their refreshed file cannot be used): the command that refreshes them."""
        return self.crawlers.notices(datetime.now(tz=UTC), self.cfg.crawler_ranges_days)

    # learning -----------------------------------------------------------------

    def learn(self, event: Event) -> None:
        """Learn the portal's requests per minute by hour of the day, and its browsers' habits."""
        request = event.payload
        if type(request) is HttpRequest:
            self.baseline.learn(event.timestamp, request)

    def snapshot_model(self) -> bytes:
        """The learned rates and habits as MessagePack (save it beside the detector's
        checkpoint)."""
        return self.baseline.snapshot()

    def restore_model(self, blob: bytes) -> None:
        """Replace the learned rates and habits with those of :meth:`snapshot_model`."""
        self.baseline.restore(blob)

    # scoring ------------------------------------------------------------------

    def update(self, key: str, state: BehaviourState, event: Event, out: list[Detection]) -> None:
        ts = event.timestamp
        if state.open:
            self._close_idle(key, state, ts, out)
        if key == PORTAL:
            self._portal(state, event, ts, out)
            return
        info = self._info
        client = key.startswith("src:")
        if not client:
            src = event.source_pseudonym
            if src is not None and src not in state.sources and len(state.sources) < 4:
                state.sources.append(src)
        else:
            flooding = FLOOD in state.open
            self._rate(key, state, event, ts, out)
            if FLOOD in state.open:
                self._flooder, self._flood_began = True, not flooding
            if info.miss or state.scan is not None:
                self._scan(key, state, event, info, ts, out)
            if event.action == "login":
                self._login(key, state, event, info, ts, out)
        rotating = client or len(state.sources) >= 2
        if info.object is not None:
            self._enumeration(key, state, event, info, ts, rotating, out)
        if info.action is not None:
            self._mass(key, state, event, info, ts, rotating, out)

    def _rate(
        self,
        key: str,
        state: BehaviourState,
        event: Event,
        ts: float,
        out: list[Detection],
    ) -> None:
        cfg = self.cfg
        rate = state.rate
        if rate is None:
            rate = state.rate = Rate()
        flooding = FLOOD in state.open
        per_minute = rate.add(ts, cfg.flood_half_life_s, flooding)
        if flooding:
            flood = state.open[FLOOD]  # its busiest minute, beyond the evidence cap too
            flood.peak = max(flood.peak, float(rate.count), float(rate.prev))
            self._more(key, state, FLOOD, event.id, ts, out)
            return
        floor = cfg.flood_client_rate
        if per_minute < floor * 0.5:
            return
        agents = rate.agents
        if len(agents) <= cfg.flood_agents:
            request = event.payload
            assert isinstance(request, HttpRequest)
            agent = zlib.crc32((request.user_agent or "").encode())
            if agent not in agents:
                agents.append(agent)
        if (
            per_minute >= floor
            and per_minute >= cfg.flood_factor * rate.peak
            and (_agents(rate) <= cfg.flood_agents or per_minute >= cfg.flood_hard_rate)
        ):
            rate.recent.clear()  # the minutes just before are its ramp: they teach nothing
            self._fire(
                key, state, FLOOD, event, ts, [event.id], int(per_minute), out, baseline=rate.peak
            )

    def _portal(self, state: BehaviourState, event: Event, ts: float, out: list[Detection]) -> None:
        cfg = self.cfg
        rate = state.rate
        if rate is None:
            rate = state.rate = Rate()
        flood = state.open.get(PORTAL_FLOOD)
        minute = rate.minute
        # a client's flood is its own rule's: the portal's usual rate learns nothing from it,
        # nor from the minutes of its ramp (a program's 1,500 requests a minute made a bot
        # swarm's 2,400 usual, hours later); past the warm-up, busier minutes lift the
        # rolling peak by ``portal_rise`` an hour at most (:func:`usual_rate` says why)
        rise = cfg.portal_rise if rate.history * 60 >= cfg.warmup_s else 0.0
        per_minute = rate.add(
            ts, cfg.portal_half_life_s, flood is not None, not self._flooder, rise
        )
        if self._flood_began:  # the minutes just before, and this one so far, held its ramp
            rate.recent.clear()
            rate.held = rate.count
        source, info = event.source_pseudonym or "?", self._info
        request = event.payload
        assert isinstance(request, HttpRequest)
        if flood is not None:
            # at flood level still (a flood of an older checkpoint has no floor): the portal's
            # own traffic after it is no evidence of it
            if per_minute >= (flood.floor or 0.5 * cfg.portal_rate):
                self._flood_peak(flood, rate, per_minute)
                self._flooding(state, flood, event, source)
                # a resident's request meanwhile counts in the flood, but is no evidence of it
                tally = flood.tally
                cited = tally is None or crowd.evidence(tally, source, info.path)
                self._more(PORTAL, state, PORTAL_FLOOD, event.id, ts, out, cited)
            return
        if rate.minute != minute:  # a new minute: the one before is the last one, if it was
            state.tally_before = state.tally if rate.minute == minute + 1 else None
            state.tally = None
        lowest = min(cfg.portal_rate, cfg.portal_dos_rate)
        if per_minute < 0.5 * lowest:
            # the usual traffic: what its browsers carry
            if browsers.sampled(rate.count, rate.minute):
                habits, flags = self._habits(state), browsers.habits_of(request)
                state.habits = browsers.learn(habits, flags, int(ts // 86400))
            return
        self._near_flood(state, event, rate, per_minute, out)

    def _near_flood(
        self,
        state: BehaviourState,
        event: Event,
        rate: Rate,
        per_minute: float,
        out: list[Detection],
    ) -> None:
        """A request of the portal at near flood rates: who sends it, so that a flood firing
        now can tell a crowd; the portal-wide flood, if it is one."""
        cfg, ts, source, info = self.cfg, event.timestamp, event.source_pseudonym or "?", self._info
        request = event.payload
        assert isinstance(request, HttpRequest)
        lowest = min(cfg.portal_rate, cfg.portal_dos_rate)
        if state.tally is None:
            usual = self._habits(state)
            state.tally = crowd.Tally(
                usual=None if usual is None else msgspec.structs.replace(usual)
            )
        crowd.add_request(state.tally, source, info.path, info.status, request)
        if per_minute < lowest:
            return
        learned = self.baseline.peak(ts)
        if learned is None and rate.history * 60 < cfg.warmup_s:
            return
        baseline = usual_rate(rate.peak, learned, cfg.portal_learned_bound)
        if per_minute < cfg.portal_factor * baseline:
            return
        # below the crowd's floor only a flood that shows a DoS's (or a botnet's) signs this
        # minute, and not one client's (the per-client rule's, whose evidence is that client's
        # requests alone: here it would be every citizen's request of those minutes)
        floor = cfg.portal_rate
        if per_minute < floor:
            likely = crowd.verdict(state.tally)[0]
            if likely not in ("dos", "botnet") or crowd.one_client(state.tally):
                return
            floor = cfg.portal_dos_rate
        state.top, state.top_addresses = {}, {}
        rate.recent.clear()  # the minutes just before are its ramp: they teach nothing
        tally = state.tally
        if state.tally_before is not None:
            tally = crowd.merge(state.tally_before, tally)
        state.tally = state.tally_before = None
        self._fire(
            PORTAL, state, PORTAL_FLOOD, event, ts, [event.id], int(per_minute), out,
            baseline=baseline, tally=tally,
        )  # fmt: skip
        flood = state.open[PORTAL_FLOOD]
        flood.floor = 0.5 * max(floor, cfg.portal_factor * baseline)
        self._flood_peak(flood, rate, per_minute)

    def _flood_peak(self, flood: RuleEpisode, rate: Rate, per_minute: float) -> None:
        """Count ``per_minute`` in a portal-wide flood's peak; the rate below which it ends.

        Below half its threshold, and below half of what it would take to be a
        flood over the portal's recent minutes unbounded (:attr:`.Rate.unbounded`):
        the rise bound holds the baseline below a steep morning's rate, and a
        flood judged by it alone went on through hours of the day's traffic
        after it. Never above half its own peak, so that traffic which lifted
        the portal's minutes does not end the flood it comes before.
        """
        if per_minute > flood.peak:
            flood.peak = per_minute
            # (an older checkpoint's rate has no unbounded peak yet: its peak then)
            unbounded = max(rate.unbounded, rate.peak)
            lately = min(per_minute, self.cfg.portal_factor * unbounded)
            flood.floor = max(flood.floor, 0.5 * lately)

    def _flooding(
        self, state: BehaviourState, flood: RuleEpisode, event: Event, source: str
    ) -> None:
        """Count a request of a portal-wide flood: its source among the heaviest (and their
        addresses), and who sent it in the flood's tally."""
        counted = heavy.count(state.top, source, crowd.SOURCE_COUNTERS)
        # an address is kept to be named, and only one past a person's share is (heaviest()):
        # of thousands counted, people's raw addresses would sit in memory and checkpoints
        if event.source_ip is not None and counted >= crowd.PER_SOURCE:
            _keep_address(state, source, event.source_ip)
        if flood.tally is not None:
            info, request = self._info, event.payload
            assert isinstance(request, HttpRequest)
            crowd.add_request(flood.tally, source, info.path, info.status, request)

    def _habits(self, state: BehaviourState) -> browsers.Habits | None:
        """The portal's usual habits (:class:`.behaviour_habits.Habits`), started from those
        learned from trusted records if there are any."""
        if state.habits is None:
            state.habits = browsers.trusted(self.baseline.model.habits)
        return state.habits

    def _scan(
        self,
        key: str,
        state: BehaviourState,
        event: Event,
        info: Facts,
        ts: float,
        out: list[Detection],
    ) -> None:
        cfg = self.cfg
        scan = state.scan
        if scan is None:
            scan = state.scan = Scan()
        scan.count(ts, cfg.scan_window_s, cfg.scan_long_s)
        if not info.miss or _crawler_refetch(event, info.path, self.crawlers):
            return
        add_miss(scan, ts, info.path, event.id, cfg.scan_window_s, cfg.window_cap)
        add_long_miss(scan, ts, info.path, event.id, cfg.scan_long_s, cfg.window_cap)
        if SCAN in state.open:
            self._more(key, state, SCAN, event.id, ts, out)
        elif len(scan.paths) >= cfg.scan_paths:
            misses = len(scan.misses)
            if misses >= cfg.scan_share * scan.requests(ts, cfg.scan_window_s):
                q = scan.misses
                self._fire(key, state, SCAN, event, ts, q.ids(), misses, out, q.oldest())
        if SCAN not in state.open and len(scan.long_paths) >= cfg.scan_long_paths:
            misses = len(scan.long_misses)  # slow, or interleaved with normal pages
            if misses >= cfg.scan_long_share * scan.long_requests(ts, cfg.scan_long_s):
                q = scan.long_misses
                self._fire(key, state, SCAN, event, ts, q.ids(), misses, out, q.oldest())

    def _enumeration(
        self,
        key: str,
        state: BehaviourState,
        event: Event,
        info: Facts,
        ts: float,
        rotating: bool,
        out: list[Detection],
    ) -> None:
        cfg = self.cfg
        objects = state.objects
        if objects is None:
            objects = state.objects = Objects()
        assert info.object is not None
        denied = info.status in _DENIED
        window, cap = cfg.idor_window_s, cfg.window_cap
        add_object(objects, ts, info.object, denied, info.identity, event.id, window, cap)
        if IDOR in state.open:
            self._more(key, state, IDOR, event.id, ts, out)
            return
        ids = len(objects.ids)
        if not rotating or ids < cfg.idor_ids:
            return
        n = len(objects.q)
        if (
            objects.steps >= cfg.idor_sequential * (n - 1)
            or objects.denied >= cfg.idor_denied * n
            or ids >= cfg.idor_per_identity * len(objects.identities)
        ):
            q = objects.q
            self._fire(key, state, IDOR, event, ts, q.ids(), n, out, q.oldest())

    def _login(
        self,
        key: str,
        state: BehaviourState,
        event: Event,
        info: Facts,
        ts: float,
        out: list[Detection],
    ) -> None:
        cfg = self.cfg
        outcome = _OUTCOMES.get(event.outcome or "", UNKNOWN)
        logins = state.logins
        if logins is None:
            if outcome == SUCCEEDED:  # most logins: nothing to spray here, keep no window
                return
            logins = state.logins = Logins()
        add_login(
            logins,
            ts,
            event.user_id or "?",
            outcome,
            info.password,
            event.id,
            cfg.spray_window_s,
            cfg.stuffing_window_s,
            cfg.spray_cap,
        )
        if logins.short_suspect >= cfg.stuffing_failures:
            logins.fast_until = ts  # fast enough for login-abuse: its business, not ours
        for rule in (SPRAY, SLOW_STUFFING):
            if rule in state.open:
                self._more(key, state, rule, event.id, ts, out)
                return
        if logins.unresolved < cfg.spray_accounts or ts - logins.fast_until < cfg.spray_window_s:
            return
        n = len(logins.q)
        if n > cfg.spray_per_account * len(logins.accounts):
            return
        known = logins.known_outcomes >= 0.8 * n
        if logins.with_password >= 0.8 * n:
            few = len(logins.passwords) <= cfg.spray_passwords
            rule = SPRAY if few else SLOW_STUFFING if known else ""
        else:  # no passwords to compare: the failures must at least be known failures
            rule = SPRAY if known else ""
        if rule:
            q = logins.q
            self._fire(key, state, rule, event, ts, q.ids(), n, out, q.oldest())

    def _mass(
        self,
        key: str,
        state: BehaviourState,
        event: Event,
        info: Facts,
        ts: float,
        rotating: bool,
        out: list[Detection],
    ) -> None:
        cfg = self.cfg
        actions = state.actions
        if actions is None:
            actions = state.actions = Actions()
        kind = info.action
        assert kind is not None
        window, cap = cfg.action_window_s, cfg.window_cap
        add_action(actions, ts, kind, info.identity, info.agent, event.id, window, cap)
        if MASS in state.open:
            self._more(key, state, MASS, event.id, ts, out)
            return
        count = actions.kinds[kind]
        if not rotating or count < cfg.action_count:
            return
        if (
            not key.startswith("src:")  # one session or account is one identity
            or count >= cfg.action_per_identity * actions.identities[kind]
            or actions.agents[kind] <= cfg.action_agents  # one program, many sessions
            or count >= cfg.action_hard
            or count >= cfg.action_per_address
        ):
            q = actions.q
            ids = [item[3] for item in q.items[q.head :] if item[1] == kind]
            self._fire(key, state, MASS, event, ts, ids, count, out, q.oldest())

    # episodes -------------------------------------------------------------------

    def _fire(
        self,
        key: str,
        state: BehaviourState,
        rule: str,
        event: Event,
        ts: float,
        evidence: list[str],
        total: int,
        out: list[Detection],
        first: float | None = None,
        *,
        baseline: float = -1.0,
        tally: crowd.Tally | None = None,
    ) -> None:
        episode = Episode(
            id=detection_id(self.name, rule, key, ts),
            fired=ts,
            first=ts if first is None else min(first, ts),
            last=ts,
            evidence=evidence[-_EVIDENCE_CAP:],
        )
        state.open[rule] = RuleEpisode(
            episode=episode, total=max(total, len(evidence)), baseline=baseline, tally=tally
        )
        state.due = min(state.due, ts + self._gap(rule))
        if key.startswith("src:") and event.source_ip is not None:
            state.address = event.source_ip
        out.append(self._emit(key, state, rule))

    def _more(
        self,
        key: str,
        state: BehaviourState,
        rule: str,
        event_id: str,
        ts: float,
        out: list[Detection],
        cited: bool = True,
    ) -> None:
        """Count one more event of an open episode of ``rule``; its evidence too, if it is
        ``cited`` and the evidence is not at its cap."""
        open_ = state.open[rule]
        open_.total += 1
        episode = open_.episode
        if cited and len(episode.evidence) < _EVIDENCE_CAP:
            if episode.add(event_id, ts):
                out.append(self._emit(key, state, rule))
        else:
            episode.last = max(episode.last, ts)

    def _close_idle(
        self, key: str, state: BehaviourState, now: float, out: list[Detection]
    ) -> None:
        for rule, open_ in list(state.open.items()):
            if now - open_.episode.last > self._gap(rule):
                out.append(self._emit(key, state, rule))
                del state.open[rule]
        if not state.open:
            state.address = None
            state.top_addresses = {}

    def _gap(self, rule: str) -> float:
        """The idle time that closes an episode of ``rule``: longer for slow spraying."""
        return self.cfg.spray_gap_s if rule in (SPRAY, SLOW_STUFFING) else self.cfg.gap_s

    def _emit(self, key: str, state: BehaviourState, rule: str) -> Detection:
        open_ = state.open[rule]
        spec = RULES[rule]
        summary, entity, stats = describe(key, state, rule, self.cfg, open_.stats)
        open_.stats = stats
        severity, confidence, measures = spec.severity, spec.confidence, spec.measures
        likely = stats.get("likely")
        if likely == "crowd":  # a surge of people: capacity, not an attack
            severity, confidence, measures = CROWD_SEVERITY, CROWD_CONFIDENCE, CROWD_MEASURES
        elif likely == "botnet":  # bots each under any per-client limit: challenge them
            measures = BOTNET_MEASURES
        elif likely == "shared":  # a carrier's NAT or made-up sessions: look before blocking
            severity, confidence, measures = SHARED_SEVERITY, SHARED_CONFIDENCE, SHARED_MEASURES
        if LIMIT_HEAVIEST in measures:  # said with the addresses it names, or not at all
            top = stats.get("top_addresses")
            named = limit_heaviest([str(a) for a in top]) if isinstance(top, list) and top else ""
            measures = tuple(
                named if m == LIMIT_HEAVIEST else m
                for m in measures
                if m != LIMIT_HEAVIEST or named
            )
        return self.detection(
            open_.episode,
            rule_id=spec.rule_id,
            rule_name=spec.name,
            severity=severity + min(15, open_.total // 100),
            confidence=confidence,
            category="cyber",
            summary=summary,
            entity=entity,
            tags=[f"attack.{t}" for t in spec.techniques],
            attributes={
                "portal": {
                    "class": spec.attack_class,
                    "attack_technique": spec.techniques[0],
                    "location": "client" if key.startswith("src:") else key.partition(":")[0],
                    "requests": open_.total,
                    **open_.stats,
                    "measures": list(measures),
                }
            },
        )

    def _due(self, key: str, state: BehaviourState) -> float:
        """When the sweep next has work on ``state``: an episode to close, or all of it to drop.

        Windows are also trimmed as events arrive, so the sweep need not trim
        them earlier: it comes back when the newest entry of every window has
        aged out (or an episode's gap has passed).
        """
        cfg = self.cfg
        due = -math.inf
        if state.scan is not None:
            due = max(
                state.scan.misses.newest() + cfg.scan_window_s,
                state.scan.long_misses.newest() + cfg.scan_long_s,
            )
        if state.objects is not None:
            due = max(due, state.objects.q.newest() + cfg.idor_window_s)
        if state.logins is not None:
            due = max(due, state.logins.q.newest() + cfg.spray_window_s)
        if state.actions is not None:
            due = max(due, state.actions.q.newest() + cfg.action_window_s)
        if state.rate is not None:
            idle = 2 * cfg.portal_half_life_s if key == PORTAL else _RATE_IDLE_S
            due = max(due, state.rate.minute * 60 + 60 + idle)
        for rule, open_ in state.open.items():
            due = min(due, open_.episode.last + self._gap(rule))
        return due

    def expire(
        self, key: str, state: BehaviourState, watermark: float, out: list[Detection]
    ) -> bool:
        """Close idle episodes; drop the key once every window has aged out.

        Windows are trimmed as events arrive (and are capped), so a sweep
        never trims them: it skips a key until :meth:`_due`, then either
        closes an episode or drops the whole key.
        """
        if watermark < state.due:
            return False
        if state.open:
            self._close_idle(key, state, watermark, out)
        due = state.due = self._due(key, state)
        return watermark >= due and not state.open


def usual_rate(peak: float, learned: float | None, bound: float) -> float:
    """The portal's usual rate per minute, that a portal-wide flood is a multiple of: the
    rolling ``peak`` of its live minutes, or the ``learned`` rate of the hour (``--learn``)
    if higher, the peak counting for ``bound`` times the learned rate at most.

    The usual rate must follow the portal's own ramps (a morning rush from 20
    to 100 a minute, the evening of the tax deadline) and not an attacker's:
    traffic from many clients kept under the flood factor for hours (each
    client a person's few requests) made the rolling peak of the minutes
    260 a minute where the portal's own was 100, so a flood had to be three
    times that; repeated, the bar ratcheted up. By its rate alone an
    attacker's slow ramp is a deadline's, so two bounds of different
    strength:

    - the rolling peak rises ``portal_rise`` (1.25) an hour at most after the
      warm-up (:meth:`.Rate._teach`): a ramp steeper than that for long
      enough to reach the flood factor (x3 in 5 h at that rise) fires, as
      the crowd it most likely is; an attacker's two hours lift the bar 1.56
      times, not 2.6, and only at the cost of sending the traffic for them.
      A peak, a max, rather than a high quantile of minutes: the 95th
      percentile of a day's minutes is the attacker's once they send for more
      than an hour and a quarter of it, and the rise bound already makes a
      few busy minutes (an alert's crowd) teach the peak little;
    - with a learned rate of the hour, the rolling peak counts for ``bound``
      (2) times it at most: however long or slow the attacker's ramp, a flood
      fires at 2 x 3 times the learned rate. The learned rate comes from
      trusted records, which the attacker cannot feed.

    Left open: without a learned rate a patient attacker still lifts the bar
    ``portal_rise`` an hour, as long as they keep sending (the rolling peak
    then forgets it with its half-life, a day); traffic during the warm-up
    teaches the peak freely. With one, a portal whose traffic has grown
    past ``bound`` times what was learned fires on its busy hours until it
    is learned again.

    >>> usual_rate(260.0, None, 2.0), usual_rate(260.0, 100.0, 2.0), usual_rate(80.0, 100.0, 2.0)
    (260.0, 200.0, 100.0)
    """
    if learned is None:
        return peak
    return max(learned, min(peak, bound * learned))


def _crawler_refetch(event: Event, path: str, crawlers: CrawlerRanges) -> bool:
    """A crawler's miss on a path that is no probe: a page that is gone, not reconnaissance.
    A client naming a crawler from outside the addresses its operator publishes (in
    ``crawlers``) is no crawler.

    >>> from citywatch.model import HttpRequest
    >>> bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    >>> req = HttpRequest(method="GET", uri="/", user_agent=bot)
    >>> event = Event(id="1", timestamp=0.0, dataset="portal.http", payload=req,
    ...     source_ip="66.249.66.1")
    >>> ranges = CrawlerRanges()
    >>> _crawler_refetch(event, "/news/2019/04/old-story", ranges)
    True
    >>> _crawler_refetch(event, "/%2eenv", ranges)
    False
    >>> _crawler_refetch(msgspec.structs.replace(event, source_ip="203.0.113.9"), "/old", ranges)
    False
    """
    request = event.payload
    agent = request.user_agent if isinstance(request, HttpRequest) else None
    if search_crawler(agent) is None or crawlers.forged(agent, event.source_ip):
        return False
    return probe_path(unquote(unquote(path)), wordpress=False) is None


def _agents(rate: Rate) -> int:
    """Distinct user agents of this minute and the one before (the sliding minute's)."""
    return len(set(rate.agents).union(rate.agents_before))


def _keep_address(state: BehaviourState, source: str, address: str) -> None:
    """Remember the address of ``source``, one of a portal-wide flood's heavy hitters (those
    it no longer counts are forgotten once as many again have been kept)."""
    kept = state.top_addresses
    kept[source] = address
    if len(kept) > 2 * len(state.top):
        state.top_addresses = {k: v for k, v in kept.items() if k in state.top}
