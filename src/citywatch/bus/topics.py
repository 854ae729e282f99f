"""The topics stages publish on."""

from citywatch.bus.local import Topic
from citywatch.model import DeadLetter, Detection, Incident

DETECTIONS: Topic[Detection] = Topic("detections")
INCIDENTS: Topic[Incident] = Topic("incidents")
DEAD_LETTERS: Topic[DeadLetter] = Topic("dead-letters")
