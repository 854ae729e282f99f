"""What the IoT detector knows about the fleet: the inventory by address, and the advisories.

The inventory (:mod:`citywatch.ingest.inventory`) reaches the detector as a
path in its config (``detectors.iot-fleet.inventory``); the advisory list is
a JSON file the city keeps up to date (an example ships with citywatch).

>>> adv = Advisory(id="X", vendor="Acme", model="Cam*", below="2.0")
>>> adv.affects("acme", "Cam-1", "1.9.9"), adv.affects("Acme", "Cam-1", "2.0")
(True, False)
"""

from __future__ import annotations

import ipaddress
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import NamedTuple

import msgspec

from citywatch.errors import ConfigError
from citywatch.ingest.inventory import Inventory, load_inventory

SHIPPED_ADVISORIES = Path(__file__).with_name("advisories.json")
_NUMBERS = re.compile(r"\d+")


def version_key(version: str) -> tuple[int, ...]:
    """A firmware version as numbers for ordering: ``5.4.0 build 160530`` → (5, 4, 0, 160530)."""
    return tuple(int(n) for n in _NUMBERS.findall(version)[:8])


class Advisory(msgspec.Struct, frozen=True, kw_only=True):
    """One known vulnerability: which vendor, models and firmware versions it affects."""

    id: str
    vendor: str
    model: str = "*"
    below: str | None = None
    versions: list[str] = []
    summary: str = ""

    def affects(self, vendor: str | None, model: str | None, firmware: str) -> bool:
        """Whether a device of ``vendor``/``model`` running ``firmware`` is affected."""
        if vendor is None or vendor.lower() != self.vendor.lower():
            return False
        if not fnmatchcase((model or "").lower(), self.model.lower()):
            return False
        if firmware in self.versions:
            return True
        return self.below is not None and version_key(firmware) < version_key(self.below)


class _AdvisoryFile(msgspec.Struct):
    advisories: list[Advisory]


def load_advisories(path: Path) -> list[Advisory]:
    """The advisories in ``path`` (``{"advisories": [...]}``); ConfigError if unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=_AdvisoryFile).advisories
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"cannot read the advisory list: {exc}", where=str(path)) from exc


class Member(NamedTuple):
    """A device as the detector's hot path needs it."""

    key: str
    id: str
    device_class: str
    ip: str


class Fleet:
    """The inventory indexed for the hot path, the fleet networks and the advisories."""

    def __init__(
        self,
        inventory: Inventory | None,
        networks: tuple[str, ...],
        advisories: list[Advisory],
    ) -> None:
        self.inventory = inventory
        self.advisories = advisories
        self.by_ip: dict[str, Member] = {}
        self.by_id: dict[str, Member] = {}
        for device in inventory or ():
            member = Member(f"dev:{device.id}", device.id, device.device_class, device.ip or "")
            self.by_id[device.id] = member
            if device.ip:
                self.by_ip[device.ip] = member
        self.class_sizes: dict[str, int] = {}
        for member in self.by_id.values():
            self.class_sizes[member.device_class] = self.class_sizes.get(member.device_class, 0) + 1
        self._networks = [ipaddress.ip_network(n, strict=False) for n in networks]
        self._in_fleet: dict[str, bool] = {}

    @classmethod
    def load(
        cls, inventory: Path | None, tz: str, networks: tuple[str, ...], advisories: Path | None
    ) -> Fleet:
        """The fleet from the configured files (fails fast with ConfigError)."""
        inv = load_inventory(inventory, tz=tz) if inventory is not None else None
        return cls(inv, networks, load_advisories(advisories or SHIPPED_ADVISORIES))

    def on_fleet_network(self, ip: str) -> bool:
        """Whether ``ip`` lies in the fleet's networks (cached: the hot path asks often)."""
        known = self._in_fleet.get(ip)
        if known is None:
            if len(self._in_fleet) > 65_536:
                self._in_fleet.clear()
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                known = False
            else:
                known = any(addr in net for net in self._networks)
            self._in_fleet[ip] = known
        return known

    def in_maintenance(self, device_id: str, ts: float) -> bool:
        return self.inventory is not None and self.inventory.in_maintenance(device_id, ts)

    def vulnerable(self, device_id: str, firmware: str | None) -> list[Advisory]:
        """The advisories that affect the device running ``firmware`` (else the inventory's)."""
        device = self.inventory.get(device_id) if self.inventory is not None else None
        if device is None:
            return []
        version = firmware or device.firmware
        if not version:
            return []
        return [a for a in self.advisories if a.affects(device.vendor, device.model, version)]
