"""Detectors: keyed, stateful plug-ins, one folder per silo."""

from citywatch.detect.base import Detector, Episode, detection_id
from citywatch.detect.crowd import CrowdSafety
from citywatch.detect.intel import ThreatIntel
from citywatch.detect.iot import IotFleet
from citywatch.detect.portal import LoginAbuse
from citywatch.detect.portal.behaviour import PortalBehaviour
from citywatch.detect.portal.profile import PortalProfile
from citywatch.detect.portal.sigma import SigmaRules
from citywatch.detect.portal.signatures import WebAttackSignatures
from citywatch.detect.quake import QuakeDetector
from citywatch.detect.runner import DetectorRunner, ErrorHandler
from citywatch.detect.social import SocialEvents

DETECTORS: dict[str, type[Detector]] = {  # type: ignore[type-arg]
    LoginAbuse.name: LoginAbuse,
    WebAttackSignatures.name: WebAttackSignatures,
    PortalProfile.name: PortalProfile,
    PortalBehaviour.name: PortalBehaviour,
    SigmaRules.name: SigmaRules,
    ThreatIntel.name: ThreatIntel,
    CrowdSafety.name: CrowdSafety,
    QuakeDetector.name: QuakeDetector,
    IotFleet.name: IotFleet,
    SocialEvents.name: SocialEvents,
}
"""The built-in detectors by name (entry points add more)."""

__all__ = ["DETECTORS", "Detector", "DetectorRunner", "Episode", "ErrorHandler", "detection_id"]
