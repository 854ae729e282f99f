"""What people change through the API, published as live updates once it is stored.

A route calls :func:`announce` after its store write returned, so a change
that failed is never announced. Each update carries the object as the read
endpoints return it to every reader role (the stream's roles), never more:
an alert in brief (:class:`~citywatch.api.alertschemas.AlertOut`, no CAP
document), a suppression, a playbook run, or the incident as the pipeline
publishes it; and a :class:`~citywatch.live.Change`: the verb and the user's name.
"""

from __future__ import annotations

from pydantic import BaseModel

from citywatch.api.context import ApiContext
from citywatch.live import Change, LiveUpdate, UpdateKind, incident_update
from citywatch.model import Incident


def announce(ctx: ApiContext, kind: UpdateKind, ident: str, out: BaseModel, change: Change) -> None:
    """Publish ``out`` (a read endpoint's answer for the object ``ident``) as changed."""
    data = out.model_dump(mode="json", by_alias=True)
    ctx.broadcaster.publish(LiveUpdate(kind=kind, id=ident, data=data, change=change))


def announce_incident(ctx: ApiContext, incident: Incident, change: Change) -> None:
    """Publish ``incident`` as it is now, moved, commented on or assigned."""
    ctx.broadcaster.publish(incident_update(incident, change))
