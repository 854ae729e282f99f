"""Playbooks (YAML): which incidents they answer, and the steps, automatic or awaiting approval.

A playbook file holds one playbook or a list. A playbook's ``trigger``
matches an incident by category, story (the correlation rule it completes),
lowest severity and place (within ``radius_km`` of a point); every field
given must match. Each step names an ``action`` (see
:data:`citywatch.respond.actions.ACTIONS`), its parameters (``with``), and
``approval``: the role that must approve it first, or none for an automatic
step. Steps run in order; a step waiting for approval holds the ones after it.

>>> (pb,) = parse_playbooks('''
... id: contain-botnet
... name: Contain a city IoT botnet
... trigger: {category: [cyber], min_severity: 70}
... steps:
...   - {id: tell-soc, action: notify, with: {channel: soc}}
...   - {id: block, action: block, approval: responder}
... ''', "x.yaml")
>>> [s.approval for s in pb.steps]
[None, 'responder']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    TypeAdapter,
    field_validator,
    model_validator,
)

from citywatch.model import Incident
from citywatch.respond.area import distance_km
from citywatch.respond.capsign import SigningConfig
from citywatch.respond.quarantine import QuarantineConfig
from citywatch.yamlspecs import SpecKind

ACTION_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "notify": ("channel", "text"),
    "block": ("ttl_min", "allow"),
    "quarantine": ("ttl_min", "max_devices", "allow"),
    "draft-alert": ("sender", "languages"),
    "share-intel": ("tlp", "allow"),
    "webhook": ("url", "timeout_s"),
}
"""The actions a step may name, and the parameters (``with:``) each reads: another one is a
mistake, refused when the playbook loads (a ``ttl_mins`` would be ignored for the default)."""
ACTION_NAMES = tuple(ACTION_PARAMS)

APPROVER_ROLES = ("admin", "analyst", "responder", "alert-officer")
"""The roles that may approve a step (the API's roles that act)."""


CAP_SENDER = "alerts@aldmere.example"
"""The sender of public alerts where the city has not set its own (the demo city's)."""


class RespondConfig(BaseModel):
    """Which playbooks answer incidents (``[respond]`` in ``citywatch.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    builtin_playbooks: bool = Field(True, description="use the playbooks shipped with citywatch")
    playbooks: tuple[Path, ...] = Field((), description="YAML files with the city's own playbooks")
    dry_run: bool = Field(False, description="steps only say what they would do")
    cap_sender: str = Field(
        CAP_SENDER,
        pattern=r"^[^\s,<&]+$",
        description="the sender of the city's CAP alerts, e.g. alerts@city.example"
        " (CAP forbids spaces, commas, < and &)",
    )
    quarantine: QuarantineConfig = Field(
        default_factory=QuarantineConfig, description="where quarantine commands go, signed how"
    )
    cap_signing: SigningConfig = Field(
        default_factory=SigningConfig,
        description="key and certificate that sign published CAP alerts (XML signature)",
    )
    own_networks: tuple[IPvAnyNetwork, ...] = Field(
        (),
        description="the city's own address ranges (CIDR): no block list, and no intel shared"
        " with partners, ever names an address in them, whatever a playbook's step allows",
    )
    shared_networks: dict[IPvAnyNetwork, str] = Field(
        default_factory=dict,
        description="ranges many people share (CIDR → whose and why: a carrier's NAT, a"
        " university's), which no block list takes nor intel gives partners as an attacker's:"
        " one person's attack from them would cut all off; the block step says so",
    )

    @field_validator("shared_networks")
    @classmethod
    def _narrow_and_named(cls, value: dict[IPvAnyNetwork, str]) -> dict[IPvAnyNetwork, str]:
        """A shared range is a carrier's or a campus's, named: ``0.0.0.0/0`` (or a /4) would
        spare every attacker from every block, silently."""
        for net, whose in value.items():
            if net.prefixlen < _WIDEST_SHARED[net.version]:
                raise ValueError(
                    f"{net} is wider than any carrier's or campus's range (at most "
                    f"/{_WIDEST_SHARED[net.version]}): it would spare attackers from every block"
                )
            if not whose.strip():
                raise ValueError(f"{net}: say whose range it is (it is the block step's reason)")
        return value


_WIDEST_SHARED: Final = {4: 8, 6: 16}
"""The widest prefix a shared range may have, by IP version (a carrier's whole block)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Place(_Strict):
    """A circle on the map."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=500)


class Trigger(_Strict):
    """Which incidents a playbook answers: every field given must match."""

    category: tuple[str, ...] = ()
    story: tuple[str, ...] = Field((), description="ids of correlation rules whose story it tells")
    not_story: tuple[str, ...] = Field(
        (), description="stories another playbook answers: incidents telling them do not match"
    )
    min_severity: int = Field(1, ge=1, le=100)
    max_severity: int = Field(
        100,
        ge=1,
        le=100,
        description="the highest severity answered: a lesser incident's playbook leaves the"
        " graver ones to another",
    )
    has: tuple[str, ...] = Field(
        (),
        description="entity keys (ECS names) of which the incident must name at least one:"
        " source.ip for an attack from addresses the city can block, device.id for city devices",
    )
    place: Place | None = None
    target: tuple[str, ...] = Field(
        (),
        description="attacked services (values of the entity key target, as `portal`) of which"
        " the incident must name one",
    )

    @model_validator(mode="after")
    def _band(self) -> Trigger:
        # said when the playbook is loaded: a band that holds no severity never runs it
        if self.max_severity < self.min_severity:
            raise ValueError(
                f"max_severity {self.max_severity} is below min_severity {self.min_severity}"
            )
        return self

    def matches(self, incident: Incident) -> bool:
        """True when ``incident`` passes every field given."""
        if self.category and incident.category not in self.category:
            return False
        if self.has and not any(incident.entities.get(key) for key in self.has):
            return False
        if self.target and not set(self.target) & set(incident.entities.get("target", ())):
            return False
        if self.story and incident.story not in self.story:
            return False
        if incident.story is not None and incident.story in self.not_story:
            return False
        if not self.min_severity <= incident.severity <= self.max_severity:
            return False
        if self.place is not None:
            centre = (self.place.lat, self.place.lon)
            coords = (incident.area or {}).get("coordinates") or []
            return any(
                distance_km(centre, (float(c[1]), float(c[0]))) <= self.place.radius_km
                for c in coords
                if isinstance(c, list | tuple) and len(c) == 2
            )
        return True


class Step(_Strict):
    """One step: an action with its parameters, automatic or awaiting a role's approval."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    action: str
    params: dict[str, Any] = Field(default_factory=dict, alias="with")
    approval: str | None = Field(None, description="role that must approve; none: automatic")

    @model_validator(mode="after")
    def _known(self) -> Step:
        if self.action not in ACTION_NAMES:
            raise ValueError(f"unknown action {self.action!r} (known: {', '.join(ACTION_NAMES)})")
        if self.approval is not None and self.approval not in APPROVER_ROLES:
            raise ValueError(f"approval must be one of {', '.join(APPROVER_ROLES)}")
        known = ACTION_PARAMS[self.action]
        if unknown := sorted(set(self.params) - set(known)):
            raise ValueError(
                f"{self.action} takes no {', '.join(unknown)} (it takes {', '.join(known)})"
            )
        url = self.params.get("url")
        if self.action == "webhook" and not str(url or "").startswith(("http://", "https://")):
            # said when the playbook is loaded, not when an incident first runs it
            raise ValueError(f"a webhook's url must be http(s), got {url!r}")
        return self


class Playbook(_Strict):
    """A named response: a trigger and its steps."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    description: str = ""
    trigger: Trigger
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_steps(self) -> Playbook:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        return self


PLAYBOOK_FILES = SpecKind("playbook", "playbooks", TypeAdapter(list[Playbook]))
"""Playbook files: how they are read, and their schema (``PLAYBOOK_FILES.adapter``)."""


def parse_playbooks(text: str, where: str) -> list[Playbook]:
    """The playbooks in one YAML document; :class:`ConfigError` naming file and playbook."""
    return PLAYBOOK_FILES.parse(text, where)


def load_playbooks(paths: list[Path], *, builtin: bool = True) -> list[Playbook]:
    """The shipped playbooks (unless ``builtin`` is False) and those in ``paths``; unique ids."""
    return PLAYBOOK_FILES.load("citywatch.respond", "playbooks", paths, builtin=builtin)
