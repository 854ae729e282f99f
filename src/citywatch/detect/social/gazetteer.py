"""Geoparsing against a city gazetteer: place names in a post's text, or its coordinates.

The gazetteer is a JSON file (the detector's ``gazetteer`` setting; the
package ships Aldmere's, written by ``citywatch.simulate.social.gazetteer``)::

    {"city": "Aldmere",
     "districts": [{"name", "lat", "lon", "aliases": [...], "polygon": [[lon, lat], ...]}],
     "places": [{"name", "kind": "street|venue|landmark", "district", "lat", "lon",
                 "aliases": [...], "id"?}]}

Every name and alias is folded (:func:`~citywatch.detect.social.text.fold`)
and also indexed with one word misspelled (a letter dropped or two neighbours
swapped, in words of seven letters or more), so common misspellings still
match. A place's own name is never taken by another place's alias. Matching
looks up runs of one to four words, longest first; a street, venue or
landmark is preferred to a district, and a named place to the post's
coordinates.
"""

from __future__ import annotations

from pathlib import Path

import h3
import msgspec

from citywatch.city import inside
from citywatch.detect.social.text import tokens
from citywatch.errors import ConfigError

MAX_WORDS = 4
_MIN_TYPO_LEN = 7


class DistrictEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    lat: float
    lon: float
    polygon: list[tuple[float, float]]
    aliases: list[str] = []


class PlaceEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str
    district: str
    lat: float
    lon: float
    aliases: list[str] = []
    id: str | None = None
    """A venue's id in the other silos (``arena``), so their detections can meet."""


class GazetteerFile(msgspec.Struct, frozen=True, kw_only=True):
    city: str
    districts: list[DistrictEntry]
    places: list[PlaceEntry] = []


class Place(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A place a post was put at: its name, kind, district, point and H3 cell (and venue id)."""

    name: str
    kind: str
    district: str
    lat: float
    lon: float
    h3: str
    id: str | None = None


def _typos(word: str) -> set[str]:
    """``word`` with one letter dropped or two neighbours swapped (from seven letters up)."""
    if len(word) < _MIN_TYPO_LEN:
        return set()
    drops = {word[:i] + word[i + 1 :] for i in range(len(word))}
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return (drops | swaps) - {word}


def _misspellings(key: str) -> set[str]:
    """A folded name with one of its words misspelled (:func:`_typos`), the others as written.

    Per word, so a long name of short words (``the arena``) has none: ``the area``
    is not the arena.

    >>> sorted(_misspellings("the arena"))
    []
    >>> typos = _misspellings("aldmere arena")
    >>> "aldmre arena" in typos, "aldmere aren" in typos
    (True, False)
    """
    words = key.split()
    return {
        " ".join([*words[:i], typo, *words[i + 1 :]])
        for i, word in enumerate(words)
        for typo in _typos(word)
    }


class Gazetteer:
    """Place names and district outlines of one city, for :meth:`find` and :meth:`locate`."""

    def __init__(self, data: GazetteerFile, h3_resolution: int = 9) -> None:
        self.city = data.city
        self._districts = data.districts
        self._by_district: dict[str, Place] = {}
        entries = [
            PlaceEntry(name=d.name, kind="district", district=d.name, lat=d.lat, lon=d.lon,
                       aliases=d.aliases)
            for d in data.districts
        ] + data.places  # fmt: skip
        names: list[tuple[bool, bool, str, Place]] = []  # (own name?, not a district?, key, place)
        for entry in entries:
            place = Place(
                name=entry.name,
                kind=entry.kind,
                district=entry.district,
                lat=entry.lat,
                lon=entry.lon,
                h3=h3.latlng_to_cell(entry.lat, entry.lon, h3_resolution),
                id=entry.id,
            )
            if entry.kind == "district":
                self._by_district[entry.name] = place
            for n, alias in enumerate((entry.name, *entry.aliases)):
                key = " ".join(tokens(alias))
                if key and len(key.split()) <= MAX_WORDS:
                    names.append((n == 0, entry.kind != "district", key, place))
        exact: dict[str, Place] = {}
        fuzzy: dict[str, Place] = {}
        # on a clash, a place's own name beats another's alias (a street "Riverside Walk" called
        # "Riverside" is not the district Riverside), then a specific place beats a district
        for _, _, key, place in sorted(names, key=lambda n: n[:2]):
            exact[key] = place
            for typo in _misspellings(key):
                fuzzy[typo] = place
        for key in exact:
            fuzzy.pop(key, None)  # a real name is never read as another's misspelling
        self._index = fuzzy | exact
        self.words = frozenset(w for key in exact for w in key.split()) | set(tokens(data.city))
        """Every word of a place name: what says where, not what happened."""
        lat = sum(d.lat for d in data.districts) / max(1, len(data.districts))
        lon = sum(d.lon for d in data.districts) / max(1, len(data.districts))
        self.centre = Place(
            name=data.city,
            kind="city",
            district="",
            lat=lat,
            lon=lon,
            h3=h3.latlng_to_cell(lat, lon, h3_resolution),
        )
        """The city as a whole, at the middle of its districts (a city-wide event's place)."""

    @classmethod
    def load(cls, path: Path, h3_resolution: int = 9) -> Gazetteer:
        """The gazetteer in the JSON file at ``path``; a :class:`ConfigError` if it is not one."""
        try:
            data = msgspec.json.decode(path.read_bytes(), type=GazetteerFile)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(f"not a gazetteer: {exc}", where=str(path)) from exc
        return cls(data, h3_resolution)

    def __len__(self) -> int:
        return len(self._index)

    def find(self, words: list[str]) -> Place | None:
        """The most specific place named in ``words`` (folded tokens), the first if several."""
        index = self._index
        best: Place | None = None
        n = len(words)
        i = 0
        while i < n:
            for size in range(min(MAX_WORDS, n - i), 0, -1):
                place = index.get(" ".join(words[i : i + size]) if size > 1 else words[i])
                if place is not None:
                    if place.kind != "district":
                        return place
                    if best is None:
                        best = place
                    i += size - 1
                    break
            i += 1
        return best

    def locate(self, lat: float, lon: float) -> Place | None:
        """The district that contains a point, as a place at that point; None outside the city."""
        for district in self._districts:
            if inside(lon, lat, district.polygon):
                known = self._by_district[district.name]
                cell = h3.latlng_to_cell(lat, lon, h3.get_resolution(known.h3))
                return Place(
                    name=district.name,
                    kind="point",
                    district=district.name,
                    lat=lat,
                    lon=lon,
                    h3=cell,
                )
        return None

    def district(self, name: str) -> Place | None:
        """The district called ``name`` (its centre), if the gazetteer has it."""
        return self._by_district.get(name)
