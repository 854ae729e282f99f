"""Suppressions: known-benign detections kept out of incidents, with an owner, a reason, an expiry.

A suppression matches detections by detector, rule id (glob patterns) and
exact entity values; every field given must match. It holds until
``expires``; a suppressed detection is still stored and counted, so nothing
disappears silently. Marking an incident a false positive proposes one
(:func:`propose`): the analyst reviews it before it is saved.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from citywatch.model import Detection, Incident, Suppression
from citywatch.model.response import MAX_DAYS


def propose(
    incident: Incident,
    detections: Sequence[Detection],
    *,
    owner: str,
    reason: str,
    now: datetime,
    days: int = 30,
) -> list[Suppression]:
    """What would have kept a false-positive ``incident`` out: a suppression per detector and rule.

    Each keeps the entity values its detections share (the same source, the
    same device), so only that benign activity is suppressed, not the rule.
    """
    groups: dict[tuple[str, str], list[Detection]] = {}
    for d in detections:
        if d.id in incident.detections:
            groups.setdefault((d.detector, d.rule_id), []).append(d)
    out = []
    for (detector, rule), members in sorted(groups.items()):
        shared = dict(members[0].entity)
        for d in members[1:]:
            shared = {k: v for k, v in shared.items() if d.entity.get(k) == v}
        out.append(
            Suppression(
                id=f"sup-{secrets.token_hex(6)}",
                owner=owner,
                reason=reason,
                created=now,
                expires=now + timedelta(days=min(days, MAX_DAYS)),
                detector=[detector],
                rule=[rule],
                entity=shared,
                source_incident=incident.id,
            )
        )
    return out
