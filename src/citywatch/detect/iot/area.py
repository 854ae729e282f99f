"""Devices of one area going offline together: a power cut or a cut cable, not the devices.

A device is offline when neither its telemetry nor its own conn or dns
records have been heard for ``silent_s``. Class silence cannot see an area:
a district holds a few devices of every class, never half of one. So listed
devices are placed in H3 cells (``outage_h3``, from the inventory's lat/lon);
a cell is *dark* when at least ``outage_fraction`` of its devices are
offline, and dark cells that touch are one area. An area with at least
``outage_min`` offline devices is one ``iot.outage`` finding, which also
takes the offline devices of the cells around it (an area's edge cuts cells
in two); its devices' per-device ``unseen`` findings are folded into it.

>>> cells = {"a": "x", "b": "x", "c": "y"}
>>> sorted(dark_cells(cells, {"a", "b"}, 0.6))
['x']
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import h3
import msgspec

from citywatch.detect.base import Episode


class AreaOutage(msgspec.Struct, kw_only=True):
    """One open outage: its episode, the offline devices and the dark cells."""

    episode: Episode
    devices: list[str]
    cells: list[str]


def dark_cells(cells: Mapping[str, str], offline: Set[str], fraction: float) -> set[str]:
    """The cells where at least ``fraction`` of the devices (``cells``: device → cell) are
    ``offline``."""
    total: dict[str, int] = {}
    down: dict[str, int] = {}
    for dev, cell in cells.items():
        total[cell] = total.get(cell, 0) + 1
        if dev in offline:
            down[cell] = down.get(cell, 0) + 1
    return {c for c, n in down.items() if n >= fraction * total[c]}


def areas(
    cells: Mapping[str, str], offline: Set[str], fraction: float, least: int
) -> list[tuple[list[str], list[str]]]:
    """The areas of touching dark cells with at least ``least`` offline devices in them, each
    as (offline devices there or in the cells around, dark cells), largest first."""
    dark = dark_cells(cells, offline, fraction)
    by_cell: dict[str, list[str]] = {}
    for dev in sorted(offline):
        cell = cells.get(dev)
        if cell is not None:
            by_cell.setdefault(cell, []).append(dev)
    found: list[tuple[list[str], list[str]]] = []
    seen: set[str] = set()
    for start in sorted(dark):
        if start in seen:
            continue
        comp, stack = [], [start]
        seen.add(start)
        while stack:
            cell = stack.pop()
            comp.append(cell)
            for near in h3.grid_disk(cell, 1):
                if near in dark and near not in seen:
                    seen.add(near)
                    stack.append(near)
        if sum(len(by_cell[c]) for c in comp) < least:
            continue
        around = {n for c in comp for n in h3.grid_disk(c, 1)}
        devices = sorted(d for c in around for d in by_cell.get(c, ()))
        found.append((devices, sorted(comp)))
    found.sort(key=lambda a: -len(a[0]))
    return found


__all__ = ["AreaOutage", "areas", "dark_cells"]
