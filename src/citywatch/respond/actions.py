"""What a playbook step does: each action takes an incident and writes what it produced.

Every action gets the incident, its detections and the step's parameters,
and returns an :class:`Outcome` saying what it did (or, in a dry run, what it
would do) and which files it wrote. Actions write into the data dir, where
the city's integrations pick them up:

- ``notify``: a line in ``outbox/notifications.jsonl`` (channel, incident, text);
- ``block``: ``blocks/<incident>.nft`` (an nftables ruleset with timeout sets) for the
  attacker addresses and the outside addresses the incident's devices reached,
  ``blocks/<incident>.nginx.conf`` (deny rules) for the attackers, and
  ``blocks/<incident>.rpz`` (a DNS response policy zone) for the names the devices looked up;
- ``quarantine``: an HMAC-signed command to each of the incident's devices'
  gateway over MQTT (:mod:`citywatch.respond.quarantine`), acknowledged by the broker;
- ``draft-alert``: a CAP 1.2 ``Draft`` in ``alerts/drafts/<identifier>.xml``,
  validated against the official XSD; one officer approves it, another publishes it (API);
- ``share-intel``: a STIX 2.1 bundle and a MISP event in ``intel/``;
- ``webhook``: a JSON POST of the incident to ``url``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from citywatch.correlate.build import by_reason
from citywatch.detect.portal.crawlers import CrawlerRanges
from citywatch.errors import CitywatchError
from citywatch.model import Alert, Detection, Incident
from citywatch.respond.blocks import block_entries, blocked_names, nft_ruleset, nginx_deny, rpz_zone
from citywatch.respond.cap import draft_from_incident
from citywatch.respond.capxml import to_xml, validate
from citywatch.respond.evidence import allowed, spared
from citywatch.respond.misp import misp_event
from citywatch.respond.quarantine import QuarantineAction, QuarantineConfig, command
from citywatch.respond.stix import export_bundle


class ActionError(CitywatchError):
    """An action could not do what its step asks."""


class Context(NamedTuple):
    """What an action works with."""

    incident: Incident
    detections: Sequence[Detection]
    params: dict[str, Any]
    now: datetime
    data_dir: Path
    actor: str
    dry_run: bool
    quarantine: QuarantineConfig
    cap_sender: str
    """The city's CAP sender (``respond.cap_sender``); a step's ``sender`` param overrides it."""
    tz: tzinfo = UTC
    """The city's time zone, which public alerts write their times in."""
    crawlers: CrawlerRanges | None = None
    """The search crawlers' ranges in use (the data dir's refresh), whose addresses no block
    or intel takes; None: the installed lists."""
    own_networks: tuple[str, ...] = ()
    """The city's own ranges (``respond.own_networks``), which no block or intel names."""
    shared_networks: tuple[tuple[str, str], ...] = ()
    """Ranges many people share, each with whose (``respond.shared_networks``): spared."""


def _allowed(ctx: Context) -> list[str]:
    """What a block or an intel step leaves out: the city's own ranges and its ``allow``."""
    return [*ctx.own_networks, *(str(a) for a in ctx.params.get("allow", []))]


class Outcome(NamedTuple):
    """What an action did (or would do, in a dry run), and the files it wrote."""

    summary: str
    files: list[str]
    alert: Alert | None = None
    """A public alert it drafted, for the store (where officers approve and publish it)."""


def _write(ctx: Context, relative: str, data: bytes, *, append: bool = False) -> str:
    path = ctx.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab" if append else "wb") as f:
        f.write(data)
    return str(path)


def notify(ctx: Context) -> Outcome:
    """Queue a notification to a channel (the SOC, the duty officer, ...)."""
    channel = str(ctx.params.get("channel", "soc"))
    text = str(ctx.params.get("text") or f"[{ctx.incident.severity}] {ctx.incident.title}")
    if ctx.dry_run:
        return Outcome(f"would notify {channel}: {text}", [])
    line = {
        "at": ctx.now.isoformat(),
        "channel": channel,
        "incident": ctx.incident.id,
        "severity": ctx.incident.severity,
        "text": text,
    }
    path = _write(ctx, "outbox/notifications.jsonl", json.dumps(line).encode() + b"\n", append=True)
    return Outcome(f"notified {channel}: {text}", [path])


def block(ctx: Context) -> Outcome:
    """Block the incident's attacker addresses, and the outside hosts its devices reached (a
    C2 server, a download host), for ``ttl_min`` minutes (default 60); never a spared address
    (:func:`~citywatch.respond.evidence.spared`: the outcome names those left out, and why)."""
    ttl = timedelta(minutes=float(ctx.params.get("ttl_min", 60)))
    allow = _allowed(ctx)
    # a spared address is never blocked (evidence.attackers): the outcome says which and why
    kept = spared(ctx.incident, ctx.detections, ctx.crawlers, ctx.shared_networks)
    entries = block_entries(
        ctx.incident, ctx.detections, now=ctx.now, ttl=ttl, allow=allow, spare=kept
    )
    names = blocked_names(ctx.incident, ctx.detections, now=ctx.now, ttl=ttl)
    reasons = by_reason({str(address): why for address, why in kept.items()})
    named = "; ".join(f"{addresses}: {why}" for addresses, why in reasons)
    left_out = f"; left out {len(kept)} no one should block ({named})" if kept else ""
    for own in _listed("address", "addresses", allowed(ctx.incident, ctx.detections, allow)):
        left_out += f"; left out {own} in the city's own networks or this step's allow list"
    if not entries and not names:
        return Outcome(f"no attacker address nor outside host to block{left_out}", [])
    said = _listed("address", "addresses", [e.address for e in entries if e.direction == "from"])
    said += _listed(
        "outside host the devices reached",
        "outside hosts the devices reached",
        [e.address for e in entries if e.direction == "to"] + [n.name for n in names],
    )
    what = " and ".join(said)
    if ctx.dry_run:
        return Outcome(f"would block {what} for {ttl}{left_out}", [])
    stem = f"blocks/{ctx.incident.id}"
    files = [
        _write(ctx, f"{stem}.nft", nft_ruleset(entries, now=ctx.now).encode()),
        _write(ctx, f"{stem}.nginx.conf", nginx_deny(entries, now=ctx.now).encode()),
    ]
    if names:
        files.append(_write(ctx, f"{stem}.rpz", rpz_zone(names, now=ctx.now).encode()))
    return Outcome(f"blocked {what} for {ttl}{left_out}", files)


def _listed(one: str, many: str, values: list[str]) -> list[str]:
    """``["3 addresses (a, b, c)"]`` (``one`` for a single value: ``"1 address (a)"``), at
    most five named; nothing for no values."""
    if not values:
        return []
    shown = ", ".join(values[:5]) + (" …" if len(values) > 5 else "")
    return [f"{len(values)} {one if len(values) == 1 else many} ({shown})"]


def quarantine(ctx: Context) -> Outcome:
    """Cut the incident's devices off at their gateways for ``ttl_min`` minutes (default 60).

    ``allow`` keeps the devices' management hosts reachable; at most ``max_devices``
    (default 50) devices, so a mis-correlated incident cannot take down a fleet.
    """
    devices = ctx.incident.entities.get("device.id", [])
    limit = int(ctx.params.get("max_devices", 50))
    if not devices:
        return Outcome("no device to quarantine", [])
    if len(devices) > limit:
        raise ActionError(f"{len(devices)} devices is more than max_devices={limit}")
    ttl_s = 60 * float(ctx.params.get("ttl_min", 60))
    allow = [str(a) for a in ctx.params.get("allow", [])]
    names = ", ".join(devices[:5]) + (" …" if len(devices) > 5 else "")
    if ctx.dry_run:
        return Outcome(f"would quarantine {len(devices)} devices ({names}) for {ttl_s:.0f} s", [])
    sender = QuarantineAction(ctx.quarantine, ctx.quarantine.key_bytes())
    now = ctx.now.timestamp()
    for device in devices:
        cmd = command(
            device,
            reason=ctx.incident.title,
            now=now,
            ttl_s=ttl_s,
            incident=ctx.incident.id,
            allow=allow,
        )
        sender.send(cmd)
    return Outcome(f"quarantined {len(devices)} devices ({names}) for {ttl_s:.0f} s", [])


def draft_alert(ctx: Context) -> Outcome:
    """Draft a CAP 1.2 public alert from the incident, validated against the XSD."""
    alert = draft_from_incident(
        ctx.incident,
        sender=str(ctx.params.get("sender", ctx.cap_sender)),
        drafted_by=ctx.actor,
        languages=tuple(ctx.params.get("languages", ("en-GB", "de-DE"))),
        sent=ctx.now,
        tz=ctx.tz,
        detections=ctx.detections,
    )
    xml = to_xml(alert)
    if problems := validate(xml):
        raise ActionError(f"the CAP draft does not validate: {problems[0]}")
    if ctx.dry_run:
        return Outcome(f"would draft CAP alert {alert.identifier}", [])
    path = _write(ctx, f"alerts/drafts/{alert.identifier}.xml", xml)
    return Outcome(
        f"drafted CAP alert {alert.identifier}; one officer approves it, another publishes it",
        [path],
        alert,
    )


def share_intel(ctx: Context) -> Outcome:
    """Write the incident as a STIX 2.1 bundle and a MISP event for the CERT and neighbours."""
    allow = _allowed(ctx)
    tlp = str(ctx.params.get("tlp", "amber"))
    if tlp not in ("white", "green", "amber", "red"):
        raise ActionError(f"unknown TLP {tlp!r}")
    # judged once, for the bundle and the event
    kept = spared(ctx.incident, ctx.detections, ctx.crawlers, ctx.shared_networks)
    bundle = export_bundle(
        ctx.incident,
        ctx.detections,
        allow=allow,
        tlp=tlp,  # type: ignore[arg-type]
        spare=kept,
    )
    event = misp_event(ctx.incident, ctx.detections, allow=allow, spare=kept)
    if ctx.dry_run:
        return Outcome(f"would share intel (TLP:{tlp.upper()})", [])
    files = [
        _write(ctx, f"intel/{ctx.incident.id}.stix.json", bundle.encode()),
        _write(ctx, f"intel/{ctx.incident.id}.misp.json", msgspec.json.encode(event)),
    ]
    return Outcome(f"shared intel (TLP:{tlp.upper()}): STIX bundle and MISP event", files)


def webhook(ctx: Context) -> Outcome:
    """POST the incident as JSON to ``url`` (http or https), with a timeout."""
    url = str(ctx.params.get("url", ""))
    if not url.startswith(("http://", "https://")):
        raise ActionError(f"webhook url must be http(s), got {url!r}")
    if ctx.dry_run:
        return Outcome(f"would POST the incident to {url}", [])
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=msgspec.json.encode(ctx.incident),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=float(ctx.params.get("timeout_s", 5))) as r:  # noqa: S310
            status = r.status
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ActionError(f"webhook {url} failed: {exc}") from None
    return Outcome(f"POSTed the incident to {url}: HTTP {status}", [])


ACTIONS: dict[str, Callable[[Context], Outcome]] = {
    "notify": notify,
    "block": block,
    "quarantine": quarantine,
    "draft-alert": draft_alert,
    "share-intel": share_intel,
    "webhook": webhook,
}
"""The actions by the name a playbook step gives."""
