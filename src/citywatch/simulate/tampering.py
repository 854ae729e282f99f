"""The ``portal-tampering`` scenario: requests no signature flags, which the portal never sees.

One actor (``tamperer``), a resident logged in from home in a browser, edits
what the forms and links send: an amount and a tax year no return has, a
field the form never had (``is_admin=1``), a district that does not exist,
one parameter sent twice (parameter pollution), a record number of another
shape and a session cookie written by hand. Each request is well formed and
free of attack syntax; only a model of the portal's own traffic (learned the
day before, ``portal-learn.http.jsonl``) says that it is not what the portal's
pages send (parameter tampering, T1190).
"""

from __future__ import annotations

from random import Random
from typing import Final

from citywatch.simulate.campaign import Campaign
from citywatch.simulate.city import City
from citywatch.simulate.errands import incidents_uri, tax_form
from citywatch.simulate.net import Allocator
from citywatch.simulate.rand import pick
from citywatch.simulate.records import Label
from citywatch.simulate.site import SIZE
from citywatch.simulate.visit import Visit

SCENARIO: Final = "portal-tampering"
TITLE: Final = (
    "Parameter tampering on the citizen portal: values, fields and a session cookie "
    "its pages never send"
)
TAMPER: Final = Label("malicious", SCENARIO, "parameter-tampering", "tamperer")


def build_tampering(city: City, rng: Random, start_ms: int, span_ms: int) -> Campaign:
    """The scenario placed inside ``[start_ms, start_ms + span_ms)``."""
    me = pick(rng, [r for r in city.residents if r.agent.profile == "browser"])
    v = Visit(
        rng,
        start_ms + int(span_ms * rng.uniform(0.60, 0.64)),
        Allocator(rng).home(),
        me.agent,
        TAMPER,
    )
    v.page("/login", SIZE["/login"])
    v.think(10.0)
    v.post("/login", [("username", me.username), ("password", me.password)], 302, SIZE["redirect"])
    v.relogin()
    v.page("/tax/file", SIZE["/tax/file"])
    form = tax_form(rng, me, "1250.00")
    for name, value in (("amount", "99999999999999"), ("year", "1899")):
        v.think(40.0)
        edited = [(key, value if key == name else old) for key, old in form]
        v.post("/tax/file", edited, 422, SIZE["/tax/file"])
    v.think(40.0)
    v.post("/tax/file", [*form, ("is_admin", "1")], 303, SIZE["redirect"])
    v.think(30.0)
    v.page("/traffic/incidents?district=0&page=1", SIZE["/traffic/incidents"])
    v.think(20.0)
    polluted = incidents_uri(rng, [d.id for d in city.districts]) + "&district=1"
    v.page(polluted, SIZE["/traffic/incidents"])
    v.think(20.0)
    v.send("GET", f"/tax/returns/{me.id:06d}-2025", 404, 153)
    v.think(30.0)
    v.cookie = "consent=necessary; aldsid=1"  # a session id of its own making
    v.page("/tax", 3_145, 302)
    return Campaign(v.hits, SCENARIO, TITLE, [], [TAMPER.technique or ""])
