"""The city: its district polygons (GeoJSON, the map's base layer), its name and its time zone.

``citywatch demo`` writes ``city.geojson`` beside its simulated inputs in
``DATA_DIR/city/seed-N/``; ``serve`` takes the newest one there unless given a
file. Without one the map shows only the incidents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from citywatch.errors import ConfigError

CITY_FILE = "city.geojson"


def _offset(text: str, path: Path) -> tzinfo:
    """A fixed offset such as ``+01:00`` as a time zone.

    >>> _offset("-05:30", Path("city.geojson"))
    datetime.timezone(datetime.timedelta(days=-1, seconds=66600))
    """
    found = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if found is None:
        raise ConfigError(f"utc_offset {text!r} is not like +01:00", where=str(path))
    delta = timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
    return timezone(-delta if found.group(1) == "-" else delta)


def _empty() -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": []}


@dataclass(frozen=True)
class CityMap:
    """The districts as a FeatureCollection, and the city's name."""

    geojson: dict[str, Any] = field(default_factory=_empty)
    name: str = "the city"
    centre: tuple[float, float] | None = None
    tz: tzinfo = UTC

    @classmethod
    def load(cls, path: Path) -> CityMap:
        """Read a ``city.geojson``; a file that is not a FeatureCollection is a ConfigError."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the city map: {exc}", where=str(path)) from exc
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise ConfigError("the city map must be a GeoJSON FeatureCollection", where=str(path))
        props = doc.get("properties") or {}
        centre = props.get("centre") or {}
        lat, lon = centre.get("lat"), centre.get("lon")
        return cls(
            geojson=doc,
            name=str(props.get("city") or "the city"),
            centre=(float(lat), float(lon)) if lat is not None and lon is not None else None,
            tz=_offset(str(props.get("utc_offset") or "+00:00"), path),
        )

    @classmethod
    def find(cls, data_dir: Path) -> CityMap:
        """The newest ``city.geojson`` under ``data_dir/city/``, or an empty map."""
        found = sorted((data_dir / "city").glob(f"*/{CITY_FILE}"), key=lambda p: p.stat().st_mtime)
        return cls.load(found[-1]) if found else cls()
