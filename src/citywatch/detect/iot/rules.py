"""The IoT detector's rules: ids, names, severities, ATT&CK tags and measures, in one table.

Tags follow ATT&CK: ``attack.ics.T0846`` for ATT&CK for ICS, ``attack.T1046``
for Enterprise. Rules under ``iot.posture.`` report weaknesses, not attacks.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Rule(NamedTuple):
    id: str
    name: str
    severity: int
    tags: tuple[str, ...]
    measures: tuple[str, ...]


_ISOLATE = "Quarantine the device at its gateway (quarantine action)"
_REFLASH = "Re-flash the firmware from a trusted image and change every credential on it"

RULES: Final = {
    r.id: r
    for r in (
        Rule("iot.bruteforce", "Remote login brute force on a device", 55,
             ("attack.ics.T0812", "attack.ics.T0859", "attack.T1110"),
             ("Block the source address at the fleet firewall",
              "Disable telnet and set a unique password on the device")),
        Rule("iot.intrusion", "Remote login to a device from a new source", 75,
             ("attack.ics.T0866", "attack.ics.T0886", "attack.ics.T0812", "attack.T1021"),
             (_ISOLATE, _REFLASH)),
        Rule("iot.scan", "Device scanning for other hosts", 70,
             ("attack.ics.T0846", "attack.T1046", "attack.T1595"), (_ISOLATE,)),
        Rule("iot.lateral", "Device connecting to a class of devices it never talks to", 70,
             ("attack.ics.T0866", "attack.ics.T0886", "attack.T1021"), (_ISOLATE,)),
        Rule("iot.c2", "Periodic beaconing to a new destination (C2)", 80,
             ("attack.ics.T0869", "attack.ics.T0885", "attack.T1071", "attack.T1571"),
             (_ISOLATE, "Block the C2 address and domain for the whole fleet")),
        Rule("iot.download", "Large download from a new destination", 65,
             ("attack.ics.T0867", "attack.T1105"), (_ISOLATE, _REFLASH)),
        Rule("iot.ddos", "Device flooding a destination (DDoS participation)", 80,
             ("attack.ics.T0814", "attack.T1498", "attack.T1499"),
             (_ISOLATE, "Tell whoever runs the flooded destination (the city's own team, "
              "for a city service) which of the city's devices flood it")),
        Rule("iot.dns", "Lookup of a never-seen, machine-generated domain", 60,
             ("attack.T1568.002", "attack.ics.T0869"),
             ("Sinkhole the domain at the fleet resolver", _ISOLATE)),
        Rule("iot.change", "Firmware or configuration change outside the maintenance window", 65,
             ("attack.ics.T0839", "attack.ics.T0836", "attack.ics.T0857"),
             ("Confirm the change with the device's owner", _REFLASH)),
        Rule("iot.silent", "Many devices of a class went silent together", 70,
             ("attack.ics.T0813", "attack.ics.T0826", "attack.ics.T0881"),
             ("Check power and network to the area; check the devices for tampering",)),
        Rule("iot.outage", "Devices in one area went offline together", 35, (),
             ("Ask the power and network operators about the area; send a patrol if the "
              "cameras there are out",)),
        Rule("iot.feed", "Telemetry feed interrupted", 15, (),
             ("Check the MQTT broker and the telemetry collector (citywatch ingest mqtt)",)),
        Rule("iot.unknown", "Device on the fleet network that is not in the inventory", 45,
             ("attack.ics.T0848", "attack.T1200"),
             ("Find the device and add it to the inventory, or remove it from the network",)),
        Rule("iot.posture.telnet", "Telnet open on a device", 30, ("attack.ics.T0812",),
             ("Disable telnet; use SSH with keys if remote access is needed",)),
        Rule("iot.posture.default-credentials", "Factory or blank credentials accepted", 40,
             ("attack.ics.T0812",), ("Set a unique password on the device",)),
        Rule("iot.posture.mqtt-plaintext", "Unencrypted MQTT", 25, ("attack.ics.T0830",),
             ("Move the device to MQTT over TLS (port 8883)",)),
        Rule("iot.posture.vulnerable-firmware", "Firmware with known vulnerabilities", 40,
             ("attack.ics.T0866",), ("Update the firmware to a fixed version",)),
        Rule("iot.posture.unseen", "Device not seen for too long", 20, (),
             ("Check whether the device is still in service; update the inventory",)),
    )
}  # fmt: skip
"""Every rule of the IoT detector, by id."""

POSTURE: Final = frozenset(r for r in RULES if r.startswith("iot.posture."))
COMPROMISE: Final = (
    frozenset(RULES) - POSTURE - {"iot.silent", "iot.outage", "iot.feed", "iot.unknown"}
)
"""The rules that say a device is compromised (what device precision and recall count)."""
