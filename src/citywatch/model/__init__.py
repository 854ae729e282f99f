"""The core types every stage speaks: events, detections, incidents, alerts, dead letters.

Hot-path types are frozen, keyword-only ``msgspec.Struct`` s. Field names in
Python are snake_case; on the wire they use Elastic Common Schema names
(``@timestamp``, ``source.ip``, ``rule.id``...) where ECS has one.
"""

from citywatch.model.alert import (
    Alert,
    AlertArea,
    AlertCircle,
    AlertInfo,
    AlertReference,
    AlertResource,
)
from citywatch.model.deadletter import DeadLetter
from citywatch.model.detection import SPARED, Detection
from citywatch.model.event import Event, GeoPoint, Payload
from citywatch.model.incident import Incident, IncidentStatus, StatusChange
from citywatch.model.payloads import (
    Connection,
    DnsQuery,
    Exposure,
    FeltReport,
    HttpRequest,
    SensorTrigger,
    Telemetry,
    TextPost,
)
from citywatch.model.response import PlaybookRun, StepRun, StepStatus, Suppression
from citywatch.model.timeutil import from_epoch, to_epoch

__all__ = [
    "SPARED",
    "Alert",
    "AlertArea",
    "AlertCircle",
    "AlertInfo",
    "AlertReference",
    "AlertResource",
    "Connection",
    "DeadLetter",
    "Detection",
    "DnsQuery",
    "Event",
    "Exposure",
    "FeltReport",
    "GeoPoint",
    "HttpRequest",
    "Incident",
    "IncidentStatus",
    "Payload",
    "PlaybookRun",
    "SensorTrigger",
    "StatusChange",
    "StepRun",
    "StepStatus",
    "Suppression",
    "Telemetry",
    "TextPost",
    "from_epoch",
    "to_epoch",
]
