"""What the dashboard's pages show beyond the API's resources: map layers, the portal's view.

The silo pages show the API's silo resources (:mod:`citywatch.api.siloviews`),
read from ``Detection.attributes.<silo>`` as FORMATS.md specifies, so a silo's
page fills in as its detectors land. Map layers are GeoJSON
FeatureCollections the page's script draws over the city's districts.

"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from citywatch.api.auth import Principal
from citywatch.api.places import incident_point
from citywatch.api.rbac import ADMIN
from citywatch.api.routes.respond import ACTORS as APPROVERS
from citywatch.api.schemas import GeoOut
from citywatch.api.siloviews import Rows, ZoneOut
from citywatch.detect import DETECTORS
from citywatch.detect.crowd.config import CrowdConfig
from citywatch.detect.portal.profile import PortalProfile
from citywatch.errors import ConfigError
from citywatch.ingest.venue import Venue, load_venue
from citywatch.model import Detection, Incident, IncidentStatus, PlaybookRun, StepStatus
from citywatch.store import Store

OPEN = (IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.CONTAINED)
EXPOSURE = ("people", "facilities", "services")
"""The order the incident page lists what an incident touches in (others follow by name)."""

Feature = dict[str, Any]


def feature(lat: float, lon: float, **props: object) -> Feature:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def collection(features: Sequence[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def incident_features(
    store: Store, incidents: Iterable[Incident], centre: tuple[float, float] | None
) -> list[Feature]:
    """One point per incident with a place, with what the map colours it by, the most severe
    last (drawn on top).

    The incidents with no place (attacks on online services) are one point at
    the city ``centre``, marked ``placed: false`` and saying how many: ten of
    them piled there hid a real incident at the centre under the least severe.
    """
    placed: list[tuple[int, Feature]] = []
    unplaced: list[Incident] = []
    for i in incidents:
        where = incident_point(store, i)
        if where is None:
            unplaced.append(i)
            continue
        point = feature(
            *where,
            id=i.id,
            title=i.title,
            severity=i.severity,
            category=i.category,
            status=i.status.value,
            placed=True,
            href=f"/incidents/{i.id}",
        )
        placed.append((i.severity, point))
    out: list[Feature] = []
    if unplaced and centre is not None:
        worst = max(unplaced, key=lambda i: i.severity)
        title = (
            worst.title
            if len(unplaced) == 1
            else f"{len(unplaced)} incidents with no place, the worst: {worst.title}"
        )
        categories = {i.category for i in unplaced}
        out.append(
            feature(
                *centre,
                id=worst.id,
                title=title,
                severity=worst.severity,
                category=categories.pop() if len(categories) == 1 else "hybrid",
                status=worst.status.value,
                placed=False,
                count=len(unplaced),
                href=f"/incidents/{worst.id}" if len(unplaced) == 1 else "#inc-h",
            )
        )
    out += [point for _, point in sorted(placed, key=lambda sp: sp[0])]
    return out


def open_incidents(store: Store, limit: int = 500) -> list[Incident]:
    return [i for i in store.incidents(limit=limit) if i.status in OPEN]


def evidence(store: Store, incident: Incident) -> list[Detection]:
    """The incident's detections in event-time order (its timeline across silos)."""
    found = [store.detection(d) for d in incident.detections]
    return sorted((d for d in found if d is not None), key=lambda d: (d.timestamp, d.id))


def detector_says(name: str) -> str:
    """What the detector registered as ``name`` is, in its own words (how the detection was
    found: signatures, a learned model, behaviour...); empty for one not registered here."""
    cls = DETECTORS.get(name)
    return cls.description if cls is not None else ""


def approvable(who: Principal, runs: Iterable[PlaybookRun]) -> set[tuple[str, str]]:
    """The (run, step) pairs awaiting approval that ``who`` may approve or reject.

    As the API decides: a role allowed to decide at all, and the step's own
    role (or admin).
    """
    if not who.roles & set(APPROVERS):
        return set()
    return {
        (run.id, step.id)
        for run in runs
        for step in run.steps
        if step.status is StepStatus.AWAITING_APPROVAL
        and (step.approval in who.roles or ADMIN in who.roles)
    }


def exposure(incident: Incident) -> list[tuple[str, int]]:
    """What the incident touches, people first, then facilities, then services (then others).

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 3, 14, tzinfo=UTC)
    >>> i = Incident(id="i", title="Quake", status=IncidentStatus.NEW, severity=90,
    ...              category="public_safety", first_seen=t, last_seen=t, detections=[],
    ...              exposure={"services": 2, "bridges": 1, "people": 900})
    >>> exposure(i)
    [('people', 900), ('services', 2), ('bridges', 1)]
    """
    rank = {k: n for n, k in enumerate(EXPOSURE)}
    return sorted(incident.exposure.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def false_positive_note(incident: Incident) -> str | None:
    """Why the incident was marked a false positive (its note, maybe empty); None if it is not."""
    if incident.status is not IncidentStatus.FALSE_POSITIVE:
        return None
    marks = [h for h in incident.history if h.status is IncidentStatus.FALSE_POSITIVE]
    return marks[-1].note if marks else ""


def hour(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:00")


def portal_view(rows: Rows) -> dict[str, Any]:
    """Attacks by class, by source and by hour; the top sources with their classes."""
    by_class: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    classes_of: dict[str, set[str]] = defaultdict(set)
    by_hour: dict[str, Counter[str]] = defaultdict(Counter)
    for d, attrs in rows:
        cls = str(attrs.get("class", "unknown"))
        src = d.entity.get("source.ip") or d.entity.get("source.pseudonym") or "unknown"
        by_class[cls] += 1
        by_source[src] += 1
        classes_of[src].add(cls)
        by_hour[hour(d.timestamp)][cls] += 1
    return {
        "by_class": by_class.most_common(),
        "top_sources": [(s, n, sorted(classes_of[s])) for s, n in by_source.most_common(20)],
        "by_hour": sorted((h, sum(c.values()), c.most_common(3)) for h, c in by_hour.items()),
        "max_class": max(by_class.values(), default=1),
    }


def portal_model(store: Store) -> dict[str, Any] | None:
    """The portal profile's learned endpoint model, as the detector summarises it (or None)."""
    blob = store.load_state(f"model/{PortalProfile.name}")
    if blob is None:
        return None
    profile = PortalProfile(gate=lambda event: ())  # only the model is read: no signatures
    profile.restore_model(blob)
    return profile.describe()


def point(geo: GeoOut | None, **props: object) -> list[Feature]:
    """A map point for something with a place, or nothing."""
    return [] if geo is None else [feature(geo.lat, geo.lon, **props)]


def venue_layouts(crowd_config: Mapping[str, Any]) -> list[Venue]:
    """The venues the crowd detector is configured with (their zones' polygons), readable ones."""
    try:
        paths = CrowdConfig.model_validate(crowd_config).venues
    except ValidationError:
        return []
    layouts = []
    for path in paths:
        try:
            layouts.append(_venue(path, path.stat().st_mtime_ns))
        except (ConfigError, OSError):
            continue  # the detector reports a bad venue file; the map just lacks its shapes
    return layouts


@functools.lru_cache(maxsize=16)
def _venue(path: Path, mtime_ns: int) -> Venue:
    """A venue file, read again only when it changes (the venue page asks on every view)."""
    del mtime_ns
    return load_venue(path)


def zone_areas(layouts: Sequence[Venue], zones: Sequence[ZoneOut]) -> list[Feature]:
    """Every zone of every venue as a polygon, with its latest level of service and density.

    Zones without a crowd detection yet are drawn too (no level of service), so
    the venue's layout is on the map before anything happens in it.
    """
    latest = {(z.venue, z.place): z for z in zones if z.kind == "zone"}
    out: list[Feature] = []
    for v in layouts:
        for zone in v.zones:
            if len(zone.polygon) < 3:
                continue
            ring = [[lon, lat] for lon, lat in zone.polygon]
            if ring[0] != ring[-1]:
                ring.append(ring[0])
            state = latest.get((v.id, zone.id))
            out.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {
                        "place": f"{v.name}: {zone.name}",
                        "los": state.los if state else None,
                        "density": state.density_ppm2 if state else None,
                        "venue": v.id,
                        "zone": zone.id,
                    },
                }
            )
    return out
