"""What residents do on the portal once logged in: taxes, moving house, documents, complaints.

Each errand is a function ``(visit, resident, city)`` that a logged-in
:class:`~citywatch.simulate.visit.Visit` runs through. Forms carry what people
really type: names with diacritics, streets with apostrophes, the odd decimal
comma, complaints that mention ``select`` or ``drop`` in all innocence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random
from typing import Final

from citywatch.simulate.city import City, Resident
from citywatch.simulate.names import DATED_STREETS, STREETS
from citywatch.simulate.rand import Weighted, between, pick
from citywatch.simulate.site import COMPLAINT_CATEGORIES, COMPLAINTS, SIZE, TAX_NOTES
from citywatch.simulate.visit import Visit, new_uuid

_HOUSE_SUFFIXES: Final = ("", "", "", "", "", "", "a", "b", "/1", "/2", "/3", "/a", "/II")
"""House numbers as people write them: 12, 12a, 12/3 (a flat), 56/a, 1/II (a floor)."""

_ALL_DISTRICTS: Final = 0.06
"""Searches for incidents in every district (the district field left empty)."""
_DATED: Final = 0.1
"""Moves to a street named for a date (Ulica 1. svibnja): digits in a street's name."""
_APPEAL: Final = 0.04
"""Complaints that are a long formal appeal (paragraphs, 1–3 thousand characters)."""

Errand = Callable[[Visit, Resident, City], None]


def incidents_uri(rng: Random, districts: Sequence[int]) -> str:
    """A page of the traffic-incident search for one district, or for all (the form's empty
    choice: a browser sends the field empty)."""
    page = 1 if rng.random() < 0.7 else between(rng, 2, 5)
    district = "" if rng.random() < _ALL_DISTRICTS else pick(rng, districts)
    return f"/traffic/incidents?district={district}&page={page}"


def traffic(v: Visit, r: Resident, city: City) -> None:
    """Traffic pages, while logged in."""
    districts = [d.id for d in city.districts]
    for _ in range(between(v.rng, 1, 3)):
        v.page(incidents_uri(v.rng, districts), SIZE["/traffic/incidents"])
        v.think(15.0)


def tax_form(rng: Random, r: Resident, amount: str) -> list[tuple[str, str]]:
    """The tax-filing form as a resident fills it in."""
    return [
        ("year", "2025"),
        ("amount", amount),
        ("iban", r.iban),
        ("full_name", r.name),
        ("note", pick(rng, TAX_NOTES)),
    ]


def tax(v: Visit, r: Resident, city: City) -> None:
    """Look at past returns; half the time, file this year's."""
    rng = v.rng
    v.page("/tax", SIZE["/tax"])
    for year in rng.sample((2023, 2024), between(rng, 0, 3)):
        v.think(20.0)
        v.page(f"/tax/returns/{year}-{r.id:06d}", SIZE["/tax/return"])
    if rng.random() < 0.5:
        return
    v.think(8.0)
    v.page("/tax/file", SIZE["/tax/file"])
    amount = rng.uniform(40.0, 4200.0)
    if rng.random() < 0.08:  # a decimal comma, as written locally: rejected, then fixed
        v.think(90.0)
        comma = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        v.post("/tax/file", tax_form(rng, r, comma), 422, SIZE["/tax/file"])
    v.think(90.0)
    v.post("/tax/file", tax_form(rng, r, f"{amount:.2f}"), 303, SIZE["redirect"])
    v.page(f"/tax/returns/2025-{r.id:06d}", SIZE["/tax/return"])


def address(v: Visit, r: Resident, city: City) -> None:
    """Report a move to a new address."""
    rng = v.rng
    v.page("/address", SIZE["/address"])
    v.think(60.0)
    district = pick(rng, city.districts)
    month = between(rng, 4, 16)  # registered within a year of the move, some late
    fields = [
        ("street", pick(rng, DATED_STREETS if rng.random() < _DATED else STREETS)),
        ("number", f"{between(rng, 1, 200)}{pick(rng, _HOUSE_SUFFIXES)}"),
        ("postcode", district.postcode),
        ("city", city.name),
        ("district", str(district.id)),
        ("moved_on", f"{2025 + month // 13}-{(month - 1) % 12 + 1:02d}-{between(rng, 1, 29):02d}"),
    ]
    v.post("/address/change", fields, 303, SIZE["redirect"])
    v.page("/address/confirmation", SIZE["/address/confirmation"])


def documents(v: Visit, r: Resident, city: City) -> None:
    """Download a certificate or two."""
    rng = v.rng
    v.page("/documents", SIZE["/documents"])
    for _ in range(between(rng, 1, 3)):
        v.think(10.0)
        size = between(rng, 60_000, 900_000)
        v.send("GET", f"/documents/{new_uuid(rng)}/download", 200, size, "pdf")


def complaint(v: Visit, r: Resident, city: City) -> None:
    """Tell the city what is broken."""
    rng = v.rng
    v.page("/complaints/new", SIZE["/complaints/new"])
    v.think(120.0)
    if rng.random() < _APPEAL:  # paragraphs of grievances, as a formal appeal runs
        text = " ".join(pick(rng, COMPLAINTS) for _ in range(between(rng, 10, 30)))
    else:
        text = pick(rng, COMPLAINTS)
    fields = [
        ("category", pick(rng, COMPLAINT_CATEGORIES)),
        ("district", str(r.district)),
        ("text", text),
    ]
    roll = rng.random()
    if roll < 0.5:
        fields.append(("contact", r.email))
    elif roll < 0.6:  # the optional field sent empty
        fields.append(("contact", ""))
    v.post("/complaints", fields, 303, SIZE["redirect"])
    v.page("/complaints/thanks", SIZE["/complaints/thanks"])


ERRANDS: Final = Weighted[Errand](
    (tax, address, documents, complaint, traffic), (30, 12, 25, 13, 20)
)
