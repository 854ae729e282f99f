"""Response: public alerts (CAP 1.2, Atom, FIWARE), threat intel (STIX 2.1, MISP), block lists.

Each module turns incidents into one kind of artefact for the outside world:

- :mod:`~citywatch.respond.cap` drafts CAP alerts from incidents, maps them to
  EU-Alert levels, and writes, validates and reads CAP XML
  (:mod:`~citywatch.respond.capxml`, signed by :mod:`~citywatch.respond.capsign`);
- :mod:`~citywatch.respond.capfeed` publishes current alerts as an Atom feed;
- :mod:`~citywatch.respond.fiware` exports FIWARE ``Alert`` entities (NGSI-LD);
- :mod:`~citywatch.respond.stix` and :mod:`~citywatch.respond.misp` share
  cyber incidents as STIX 2.1 bundles and MISP events, and import indicators;
- :mod:`~citywatch.respond.blocks` renders attacker addresses as nftables,
  nginx and ModSecurity block lists with expiry, and the outside hosts compromised
  devices reached as nftables egress sets and a DNS response policy zone.
"""

from citywatch.respond.blocks import (
    BlockedName,
    BlockEntry,
    block_entries,
    blocked_names,
    modsecurity_rules,
    nft_elements,
    nft_ruleset,
    nginx_deny,
    rpz_zone,
)
from citywatch.respond.cap import cancel, draft_from_incident, eu_alert_message_id
from citywatch.respond.capfeed import atom_feed, current_alerts
from citywatch.respond.capsign import CapSigner, SigningConfig, verify_signature
from citywatch.respond.capxml import parse, to_xml, validate
from citywatch.respond.errors import CapError, RespondError
from citywatch.respond.fiware import fiware_alert
from citywatch.respond.hazards import HAZARDS, Hazard, infer_hazard
from citywatch.respond.misp import misp_event
from citywatch.respond.phrasebook import Instruction, instruction_for
from citywatch.respond.stix import export_bundle, export_sightings

__all__ = [
    "HAZARDS",
    "BlockEntry",
    "BlockedName",
    "CapError",
    "CapSigner",
    "Hazard",
    "Instruction",
    "RespondError",
    "SigningConfig",
    "atom_feed",
    "block_entries",
    "blocked_names",
    "cancel",
    "current_alerts",
    "draft_from_incident",
    "eu_alert_message_id",
    "export_bundle",
    "export_sightings",
    "fiware_alert",
    "infer_hazard",
    "instruction_for",
    "misp_event",
    "modsecurity_rules",
    "nft_elements",
    "nft_ruleset",
    "nginx_deny",
    "parse",
    "rpz_zone",
    "to_xml",
    "validate",
    "verify_signature",
]
