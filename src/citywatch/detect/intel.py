"""Known indicators seen: STIX 2.1 indicators shared by partners (a CERT, neighbours) hit by events.

The detector loads the bundles named in its config once (``bundles``: STIX
2.1 files, e.g. what the national CERT shares) and checks every event's
source and destination address, DNS query name and full request URL against
them. A hit opens a detection per indicator and observed value (the same
value seen again adds evidence; it closes after ``gap_s`` of quiet), so an
imported indicator turns into a detection the moment it is seen, and the
detection carries the indicator's STIX id for the sighting sent back.

With no bundle configured it checks nothing and costs nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Final

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.enrich.intel import Indicator, IndicatorMatcher, IntelError, import_indicators
from citywatch.errors import ConfigError
from citywatch.model import Detection, DnsQuery, Event, HttpRequest

_WHERE = {"source": "source.ip", "destination": "destination.ip"}


class ThreatIntelConfig(BaseModel):
    """Which STIX bundles to load, and how long a quiet indicator stays open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundles: tuple[Path, ...] = Field((), description="STIX 2.1 bundle files with indicators")
    gap_s: float = Field(3600.0, gt=0, description="quiet time that closes a detection, seconds")
    severity: int = Field(70, ge=1, le=100, description="severity of a known-indicator hit")


_CLIENTS: Final = 8
"""Addresses a URL detection names at most."""


class IntelState(msgspec.Struct, kw_only=True):
    """One indicator and the value that hit it: the open episode, if any."""

    episode: Episode | None = None
    where: str = ""
    clients: list[str] = msgspec.field(default_factory=list)
    """For a URL: the addresses that asked for it (the first few)."""


class ThreatIntel(Detector[IntelState]):
    """Events that hit an indicator imported from a STIX bundle."""

    name: ClassVar[str] = "threat-intel"
    description: ClassVar[str] = (
        "Addresses, domains and URLs named by imported STIX 2.1 indicators (CERT, partners)"
    )
    config_model: ClassVar[type[BaseModel]] = ThreatIntelConfig
    state_type: ClassVar[type[msgspec.Struct]] = IntelState

    def __init__(self, config: BaseModel | None = None) -> None:
        super().__init__(config)
        assert isinstance(self.config, ThreatIntelConfig)
        self.cfg: ThreatIntelConfig = self.config
        indicators: list[Indicator] = []
        for path in self.cfg.bundles:
            try:
                indicators += import_indicators(path.read_bytes())
            except OSError as exc:
                raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from None
            except IntelError as exc:
                raise ConfigError(str(exc), where=str(path)) from None
        self.indicators = {i.id: i for i in indicators}
        self._matcher = IndicatorMatcher(indicators) if indicators else None
        self._last: tuple[Event | None, dict[str, str]] = (None, {})

    def _hits(self, event: Event) -> dict[str, str]:
        """State key (``indicator id|value``) → where the value was seen, for this event."""
        if self._last[0] is event:
            return self._last[1]
        matcher = self._matcher
        hits: dict[str, str] = {}
        if matcher is not None:
            at = datetime.fromtimestamp(event.timestamp, tz=UTC)
            for side, ip in (("source", event.source_ip), ("destination", event.destination_ip)):
                if ip:
                    hits.update((f"{i.id}|{ip}", _WHERE[side]) for i in matcher.match_ip(ip, at))
            payload = event.payload
            if isinstance(payload, DnsQuery) and payload.query:
                domain = payload.query.lower().rstrip(".")
                hits.update(
                    (f"{i.id}|{domain}", "dns.question.name")
                    for i in matcher.match_domain(domain, at)
                )
            elif isinstance(payload, HttpRequest) and (host := payload.header("host")):
                url = f"https://{host.lower()}{payload.uri}"
                hits.update((f"{i.id}|{url}", "url.full") for i in matcher.match_url(url, at))
        self._last = (event, hits)
        return hits

    def reads(self, dataset: str) -> bool:
        """Nothing to check without indicators: no event is routed here."""
        return self._matcher is not None

    def keys(self, event: Event) -> tuple[str, ...]:
        if self._matcher is None:
            return ()
        return tuple(self._hits(event))

    def new_state(self, key: str) -> IntelState:
        return IntelState()

    def update(self, key: str, state: IntelState, event: Event, out: list[Detection]) -> None:
        ts = event.timestamp
        episode = state.episode
        if episode is not None and ts - episode.last > self.cfg.gap_s:
            out.append(self._detection(key, state, episode))
            episode = state.episode = None
        if episode is None:
            state.where = self._hits(event).get(key, "")
            state.clients = []
        ip, clients = event.source_ip, state.clients
        if state.where == "url.full" and ip and ip not in clients and len(clients) < _CLIENTS:
            clients.append(ip)
        if episode is None:
            state.episode = Episode(
                id=detection_id(self.name, "indicator", key, ts),
                fired=ts,
                first=ts,
                last=ts,
                evidence=[event.id],
            )
            out.append(self._detection(key, state, state.episode))
        elif episode.add(event.id, ts):
            out.append(self._detection(key, state, episode))

    def expire(self, key: str, state: IntelState, watermark: float, out: list[Detection]) -> bool:
        episode = state.episode
        if episode is None:
            return True
        if watermark - episode.last > self.cfg.gap_s:
            if episode.unsent:
                out.append(self._detection(key, state, episode))
            state.episode = None
            return True
        return False

    def _detection(self, key: str, state: IntelState, episode: Episode) -> Detection:
        indicator_id, _, value = key.partition("|")
        indicator = self.indicators.get(indicator_id)
        label = indicator.name if indicator and indicator.name else value
        entity = {"indicator.id": indicator_id}
        if state.where in ("source.ip", "destination.ip"):
            entity[state.where] = value
        clients = ""
        if state.where == "url.full" and state.clients:  # who asked for it
            if len(state.clients) == 1:
                entity["source.ip"] = state.clients[0]
            clients = f" from {', '.join(state.clients)}"
        n = len(episode.evidence)
        return self.detection(
            episode,
            rule_id=indicator_id,
            rule_name=f"Known indicator seen: {label}",
            severity=self.cfg.severity,
            confidence=0.9,
            category="cyber",
            summary=(
                f"{value} ({state.where or 'observed'}) matches shared indicator {indicator_id}"
                f"{f' ({indicator.name})' if indicator and indicator.name else ''}: "
                f"{n} {'record' if n == 1 else 'records'}{clients}"
            ),
            entity=entity,
            tags=["intel.stix"],
            attributes={
                "intel": {
                    "indicator": indicator_id,
                    "type": indicator.type if indicator else "",
                    "value": value,
                    "where": state.where,
                }
            },
        )
