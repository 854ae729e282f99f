"""Which silo a detector or detection belongs to (portal, iot, crowd, quake, social).

A built-in detector lives in ``citywatch.detect.<silo>``, so its module names
its silo; a detection also says it by the ``attributes.<silo>`` it carries
(FORMATS.md). A detector from elsewhere counts under its name up to the first
dot (``iot.telnet`` is an ``iot`` detector).

>>> silo_of_detector("web-attacks")
'portal'
>>> silo_of_detector("iot.telnet")
'iot'
"""

from __future__ import annotations

from citywatch.detect import DETECTORS
from citywatch.model import Detection

SILOS = ("portal", "iot", "crowd", "quake", "social")
_PACKAGE = "citywatch.detect."


def silo_of_detector(name: str) -> str:
    """The silo of the detector registered as ``name``."""
    cls = DETECTORS.get(name)
    if cls is not None and cls.__module__.startswith(_PACKAGE):
        return cls.__module__[len(_PACKAGE) :].split(".", 1)[0]
    return name.split(".", 1)[0]


def silo_of(detection: Detection) -> str:
    """The silo of a detection: the silo attribute it carries, else its detector's silo."""
    for key in detection.attributes:
        if key in SILOS:
            return key
    return silo_of_detector(detection.detector)
